"""``aliexpress`` source: the AliExpress per-country search-log CSVs (click + conversion).

Get the data from Tianchi (https://tianchi.aliyun.com/dataset/74690): one folder per country
(``AliExpress_NL``, ``_ES``, ``_FR``, ``_US``; ~0.6-1.3 GB each, 10-30 M rows), each with
``train.csv`` and ``test.csv`` whose header is ``search_id, categorical_1..16, numerical_1..63,
click, conversion``. The 16 categoricals become id features, the 63 numericals one dense
feature; validation is a hash-fraction of ``train.csv``.
"""

from __future__ import annotations

import os

from zoo.data.preprocessing import Preprocessor
from zoo.data.sources import DataBundle
from zoo.data.streaming import build_bundle
from zoo.data.tabular import file_source


def aliexpress_features(num_categorical: int = 16, num_numerical: int = 63, embedding_dim: int = 8) -> list[dict]:
    """Feature configs: ``categorical_i`` id features and one ``numerical`` dense vector."""
    cats = [{"name": f"categorical_{i}", "kind": "categorical", "embedding_dim": embedding_dim}
            for i in range(1, num_categorical + 1)]
    dense = {"name": "numerical", "kind": "dense", "columns": [f"numerical_{i}" for i in range(1, num_numerical + 1)]}
    return cats + ([dense] if num_numerical else [])


def aliexpress_source(
    path: str,
    seed: int = 0,
    min_count: int = 1,
    embedding_dim: int = 8,
    num_categorical: int = 16,
    num_numerical: int = 63,
    validation_fraction: float = 0.1,
    tasks: list[dict] | None = None,
    skip_bad_rows: bool = False,
    batch_rows: int = 65536,
    shuffle_buffer: int = 10000,
) -> DataBundle:
    """AliExpress: ``path`` is a country folder holding ``train.csv`` and ``test.csv``."""
    tasks = tasks or [{"name": "click", "column": "click"}, {"name": "conversion", "column": "conversion"}]
    pre = Preprocessor(aliexpress_features(num_categorical, num_numerical, embedding_dim), tasks, min_count=min_count)
    opts = dict(columns=pre.columns, batch_rows=batch_rows, skip_bad_rows=skip_bad_rows, format="csv")
    sources = {
        "train": file_source(os.path.join(path, "train.csv"), **opts),
        "test": file_source(os.path.join(path, "test.csv"), **opts),
    }
    cut = 1.0 - validation_fraction
    plan = {"train": [("train", 0.0, cut)], "test": [("test", 0.0, 1.0)]}
    if validation_fraction > 0:
        plan["validation"] = [("train", cut, 1.0)]
    return build_bundle(sources, plan, pre, seed=seed, skip_bad_rows=skip_bad_rows, shuffle_buffer=shuffle_buffer,
                        description=f"AliExpress {os.path.basename(os.path.normpath(path))}")
