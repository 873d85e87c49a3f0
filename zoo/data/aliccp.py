"""``ali_ccp`` source: Ali-CCP (Alibaba Click and Conversion Prediction, the ESMM dataset) as published.

Get the data from Tianchi (https://tianchi.aliyun.com/dataset/408): ``sample_skeleton_{train,test}.csv``
(~42 M train / ~43 M test impressions, ~20 GB each unpacked) with lines
``sample_id,click,buy,common_feature_id,feature_count,feature_list`` and
``common_features_{train,test}.csv`` (~730 k lines, ~10 GB each) with lines
``common_feature_id,feature_count,feature_list``. A feature list joins entries with byte 0x01; an
entry is ``field_id`` 0x02 ``feature_id`` 0x03 ``value``. Each sample is joined with its common
(user) features. The 23 usual fields become categorical ``f_<field>`` features (first entry of a
field), the values of 8 fields dense ``v_<field>`` features. The skeleton is streamed; the common
features are indexed once into Arrow/numpy arrays of only the needed fields (no per-row Python objects).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoo.data.preprocessing import Preprocessor
from zoo.data.readers import Chunk, iter_csv
from zoo.data.sources import DataBundle
from zoo.data.streaming import build_bundle

CATEGORICAL_FIELDS = (
    "101", "121", "122", "124", "125", "126", "127", "128", "129", "205", "206", "207", "210", "216",
    "508", "509", "702", "853", "301", "109_14", "110_14", "127_14", "150_14",
)
DENSE_FIELDS = ("109_14", "110_14", "127_14", "150_14", "508", "509", "702", "853")
SKELETON = ["sample_id", "click", "buy", "common_feature_id", "feature_count", "feature_list"]
COMMON = ["common_feature_id", "feature_count", "feature_list"]
_ENTRY = "^(?P<field>[^\x02]*)\x02(?P<fid>[^\x03]*)\x03(?P<value>.*)$"


def parse_feature_lists(lists: pa.Array, fields=CATEGORICAL_FIELDS) -> tuple[dict, dict]:
    """Per field: the first entry's feature id (string array, null when absent) and value (float64, NaN)."""
    n = len(lists)
    split = pc.split_pattern(lists.fill_null(""), "\x01")
    lengths = pc.list_value_length(split).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    parent = np.repeat(np.arange(n), lengths)
    entries = pc.extract_regex(pc.list_flatten(split), _ENTRY)
    field = entries.field("field")
    ids, values = {}, {}
    for f in fields:
        hit = pc.equal(field, f).fill_null(False).to_numpy(zero_copy_only=False)
        rows = parent[hit]
        first_rows, first = np.unique(rows, return_index=True)
        where = np.flatnonzero(hit)[first]
        position = np.full(n, -1, np.int64)
        position[first_rows] = np.arange(len(first_rows))
        fid = entries.field("fid").take(pa.array(where))
        val = pc.cast(entries.field("value").take(pa.array(where)), pa.float64(), safe=False) if len(where) else None
        take = pa.array(np.where(position < 0, 0, position), mask=position < 0)
        ids[f] = fid.take(take) if len(where) else pa.nulls(n, pa.string())
        v = val.to_numpy(zero_copy_only=False) if val is not None else np.zeros(0)
        values[f] = np.where(position < 0, np.nan, v[np.maximum(position, 0)] if len(v) else np.nan)
    return ids, values


def _hash(ids: pa.Array) -> np.ndarray:
    return pd.util.hash_array(ids.fill_null("").to_numpy(zero_copy_only=False).astype(object), categorize=False)


class CommonIndex:
    """common_feature_id -> the needed fields of its feature list, held in sorted numpy/Arrow arrays."""

    def __init__(self, path: str, block_size: int = 1 << 24):
        self.path = path
        hashes, ids, values = [], {f: [] for f in CATEGORICAL_FIELDS}, {f: [] for f in DENSE_FIELDS}
        for chunk in iter_csv(path, 0, COMMON, column_names=COMMON, null_values=("",), block_size=block_size):
            hashes.append(_hash(chunk.batch.column("common_feature_id")))
            got_ids, got_values = parse_feature_lists(chunk.batch.column("feature_list"))
            for f in CATEGORICAL_FIELDS:
                ids[f].append(got_ids[f])
            for f in DENSE_FIELDS:
                values[f].append(got_values[f])
        h = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        order = np.argsort(h, kind="stable")
        self.hashes = h[order]
        take = pa.array(order)
        self.ids = {f: pa.concat_arrays(v).take(take) for f, v in ids.items()}
        self.values = {f: np.concatenate(v)[order] for f, v in values.items()}

    def lookup(self, common_ids: pa.Array) -> tuple[dict, dict]:
        """The common fields of each sample (null / NaN when its id is not in the file)."""
        h = _hash(common_ids)
        pos = np.searchsorted(self.hashes, h)
        pos = np.minimum(pos, max(len(self.hashes) - 1, 0))
        found = (self.hashes[pos] == h) if len(self.hashes) else np.zeros(len(h), bool)
        take = pa.array(pos, mask=~found)
        ids = {f: a.take(take) if len(a) else pa.nulls(len(h), pa.string()) for f, a in self.ids.items()}
        values = {f: np.where(found, v[pos] if len(v) else np.nan, np.nan) for f, v in self.values.items()}
        return ids, values


def joined_batch(batch: pa.RecordBatch, index: CommonIndex) -> pa.RecordBatch:
    """Skeleton rows + their common features -> click, buy, f_<field> ids and v_<field> values."""
    own_ids, own_values = parse_feature_lists(batch.column("feature_list"))
    common_ids, common_values = index.lookup(batch.column("common_feature_id"))
    cols = {"sample_id": batch.column("sample_id"), "click": batch.column("click"), "buy": batch.column("buy")}
    for f in CATEGORICAL_FIELDS:
        cols[f"f_{f}"] = pc.coalesce(own_ids[f], common_ids[f])
    for f in DENSE_FIELDS:
        cols[f"v_{f}"] = pa.array(np.where(np.isnan(own_values[f]), common_values[f], own_values[f]))
    return pa.RecordBatch.from_pydict(cols)


def ali_ccp_features(embedding_dim: int = 8, dense: bool = True) -> list[dict]:
    """Feature configs: 23 categorical fields and (optionally) 8 dense values."""
    out = [{"name": f"f_{f}", "kind": "categorical", "embedding_dim": embedding_dim} for f in CATEGORICAL_FIELDS]
    if dense:
        out += [{"name": f"v_{f}", "kind": "dense"} for f in DENSE_FIELDS]
    return out


def skeleton_source(skeleton: str, common: str, skip_bad_rows: bool = False, block_size: int = 1 << 24):
    """A RowSource joining a skeleton file with its (lazily indexed) common-features file."""
    state: dict = {}

    def chunks(on_skip) -> Iterator[Chunk]:
        if "index" not in state:
            state["index"] = CommonIndex(common, block_size)
        for chunk in iter_csv(skeleton, 0, SKELETON, column_names=SKELETON, null_values=("",), block_size=block_size,
                              skip_bad_rows=skip_bad_rows, on_skip=on_skip):
            yield Chunk(joined_batch(chunk.batch, state["index"]), chunk.file, 0, chunk.first_row, 0, "line")

    return chunks


def ali_ccp_source(
    path: str,
    seed: int = 0,
    min_count: int = 1,
    embedding_dim: int = 8,
    dense: bool = True,
    validation_fraction: float = 0.1,
    tasks: list[dict] | None = None,
    skip_bad_rows: bool = False,
    block_size: int = 1 << 24,
    shuffle_buffer: int = 10000,
) -> DataBundle:
    """Ali-CCP: ``path`` holds ``sample_skeleton_{train,test}.csv`` and ``common_features_{train,test}.csv``.

    Default tasks: ``click`` (column click) and ``purchase`` (column buy); pass ``tasks`` (configs
    over the columns ``click`` and ``buy``) to rename them, e.g. for ESMM's ``ctr``/``ctcvr``.
    """
    tasks = tasks or [{"name": "click", "column": "click"}, {"name": "purchase", "column": "buy"}]
    pre = Preprocessor(ali_ccp_features(embedding_dim, dense), tasks, min_count=min_count)
    files = {s: (os.path.join(path, f"sample_skeleton_{s}.csv"), os.path.join(path, f"common_features_{s}.csv"))
             for s in ("train", "test")}
    sources = {s: skeleton_source(sk, co, skip_bad_rows, block_size) for s, (sk, co) in files.items()}
    cut = 1.0 - validation_fraction
    plan = {"train": [("train", 0.0, cut)], "test": [("test", 0.0, 1.0)]}
    if validation_fraction > 0:
        plan["validation"] = [("train", cut, 1.0)]
    return build_bundle(sources, plan, pre, seed=seed, skip_bad_rows=skip_bad_rows, key="sample_id",
                        shuffle_buffer=shuffle_buffer, description="Ali-CCP")
