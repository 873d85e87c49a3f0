"""``movielens`` source: MovieLens ratings through ``tensorflow_datasets`` (default ``movielens/100k-ratings``).

TFDS downloads the GroupLens archive itself (https://grouplens.org/datasets/movielens/):
``100k-ratings`` is 100,000 ratings (~5 MB download), ``1m-ratings`` 1 M (~6 MB), ``20m-ratings``
20 M (~190 MB, no user demographics). Offline, prepare the data with ``tfds build`` elsewhere and
point ``data_dir`` at it. Tasks: ``rating`` (regression), ``liked`` (rating >= 4) and, for
integer-star configs, ``stars`` (5-class). Features: user and movie ids, genres (multi-hot), and
the user's gender, age bucket, occupation, zip prefix and raw age when the config has them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from zoo.data.preprocessing import Preprocessor
from zoo.data.readers import Chunk
from zoo.data.sources import DataBundle
from zoo.data.streaming import build_bundle, fraction_plan

_STRINGS = ("user_id", "movie_id", "user_occupation_text", "user_zip_code")


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values], pa.string())


def _record_batch(batch: dict) -> pa.RecordBatch:
    cols = {}
    for key in _STRINGS:
        if key in batch:
            cols[key] = _strings(batch[key])
    if "user_zip_code" in cols:
        cols["zip_prefix"] = pa.array([s[:2] for s in cols.pop("user_zip_code").to_pylist()], pa.string())
    if "user_gender" in batch:
        cols["user_gender"] = pa.array(np.asarray(batch["user_gender"]).astype(bool)).cast(pa.string())
    if "bucketized_user_age" in batch:
        cols["age_bucket"] = pa.array(np.asarray(batch["bucketized_user_age"]).astype(np.int64)).cast(pa.string())
    if "raw_user_age" in batch:
        cols["raw_user_age"] = pa.array(np.asarray(batch["raw_user_age"], np.float64))
    cols["genres"] = _strings(batch["genres"])
    cols["user_rating"] = pa.array(np.asarray(batch["user_rating"], np.float64))
    return pa.RecordBatch.from_pydict(cols)


def tfds_source(name: str, data_dir: str | None, batch_rows: int, download: bool):
    """A RowSource over a TFDS MovieLens ratings config (genres joined with ``|``)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def chunks(on_skip) -> Iterator[Chunk]:
        ds = tfds.load(name, split="train", data_dir=data_dir, download=download, shuffle_files=False)

        def flatten(x):
            x = dict(x)
            x["genres"] = tf.strings.reduce_join(tf.strings.as_string(x.pop("movie_genres")), separator="|")
            x.pop("movie_title", None)
            return x

        rows = 0
        for batch in ds.map(flatten).batch(batch_rows).as_numpy_iterator():
            rb = _record_batch(batch)
            yield Chunk(rb, name, 0, rows, 0, "row")
            rows += rb.num_rows

    return chunks


def movielens_features(name: str, embedding_dim: int = 8) -> list[dict]:
    """Feature configs for a config (demographics only where the config has them)."""
    cat = {"kind": "categorical", "embedding_dim": embedding_dim}
    out = [{"name": "user_id", **cat}, {"name": "movie_id", **cat},
           {"name": "genres", "kind": "sequence", "max_len": 6, "embedding_dim": embedding_dim}]
    if "20m" not in name and "25m" not in name:
        out += [{"name": n, **cat} for n in ("user_gender", "age_bucket", "user_occupation_text", "zip_prefix")]
        out.append({"name": "raw_user_age", "kind": "dense"})
    return out


def movielens_tasks(name: str) -> list[dict]:
    """rating (regression), liked (rating >= 4) and, for whole-star configs, stars (5 classes)."""
    tasks = [{"name": "rating", "kind": "regression", "column": "user_rating"},
             {"name": "liked", "kind": "binary", "column": "user_rating", "threshold": 4}]
    if "100k" in name or "1m" in name:
        tasks.append({"name": "stars", "kind": "multiclass", "column": "user_rating", "classes": [1, 2, 3, 4, 5]})
    return tasks


def movielens_source(
    name: str = "movielens/100k-ratings",
    data_dir: str | None = None,
    seed: int = 0,
    splits: dict | None = None,
    min_count: int = 1,
    embedding_dim: int = 8,
    batch_rows: int = 65536,
    download: bool = True,
    tasks: list[dict] | None = None,
    shuffle_buffer: int = 10000,
) -> DataBundle:
    """MovieLens ratings split by hash of the row index (default 80/10/10)."""
    pre = Preprocessor(movielens_features(name, embedding_dim), tasks or movielens_tasks(name), min_count=min_count)
    sources = {"main": tfds_source(name, data_dir, batch_rows, download)}
    plan = fraction_plan(splits or {"train": 0.8, "validation": 0.1, "test": 0.1})
    return build_bundle(sources, plan, pre, seed=seed, shuffle_buffer=shuffle_buffer, description=f"tfds {name}")
