"""Record-batch sources -> a fitted Preprocessor and streamed tf.data splits (deterministic hash splits)."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import tensorflow as tf

from zoo.data.columns import as_string
from zoo.data.errors import DataError
from zoo.data.preprocessing import Parsed, Preprocessor
from zoo.data.readers import Chunk
from zoo.data.sources import DataBundle

#: A source of record batches: called with an ``on_skip(reason)`` callback, yields Chunks.
RowSource = Callable[[Callable[[str], None]], Iterator[Chunk]]
#: split name -> [(source name, lo, hi)]: the rows of that source whose hash falls in [lo, hi).
SplitPlan = dict[str, list[tuple[str, float, float]]]

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _M
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M
        return x ^ (x >> np.uint64(31))


def row_hash(chunk: Chunk, seed: int, key: str | None = None) -> np.ndarray:
    """Uniform [0, 1) per row, a pure function of (seed, key value) or (seed, file, row index)."""
    n = chunk.batch.num_rows
    if key is not None:
        values = as_string(chunk.batch.column(key)).fill_null("").to_numpy(zero_copy_only=False)
        h = pd.util.hash_array(values.astype(object), hash_key=f"{seed:016d}"[-16:], categorize=False)
        h = _splitmix(h.astype(np.uint64))
    else:
        rows = np.arange(chunk.first_row, chunk.first_row + n, dtype=np.uint64)
        h = _splitmix(rows ^ _splitmix(np.full(n, (chunk.file_index << 20) ^ seed, np.uint64)))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def fraction_plan(splits: dict, source: str = "main") -> SplitPlan:
    """``{train: 0.8, validation: 0.1, test: 0.1}`` -> consecutive hash ranges of one source."""
    total = sum(float(v) for v in splits.values())
    if abs(total - 1.0) > 1e-6 or any(float(v) < 0 for v in splits.values()):
        raise ValueError(f"splits: fractions must be >= 0 and sum to 1, got {splits}")
    plan, lo = {}, 0.0
    for name in ("train", "validation", "test"):
        hi = lo + float(splits.get(name, 0.0))
        if hi > lo:
            plan[name] = [(source, lo, 1.0 if name == "test" or hi > 1 - 1e-9 else hi)]
        lo = hi
    return plan


class Pipeline:
    """Parses, validates, splits and encodes chunks of several row sources; keeps bad-row statistics."""

    def __init__(self, sources: dict[str, RowSource], plan: SplitPlan, pre: Preprocessor, seed: int = 0,
                 skip_bad_rows: bool = False, key: str | None = None):
        if "train" not in plan:
            raise ValueError("splits: a 'train' split is required")
        self.sources, self.plan, self.pre = sources, plan, pre
        self.seed, self.skip, self.key = seed, skip_bad_rows, key
        self.stats: dict = {"rows": {}, "skipped_rows": 0, "skipped": {}}
        self._counted: set[str] = set()

    def _chunks(self, source: str, counting: bool) -> Iterator[tuple[Chunk, Parsed]]:
        reasons: collections.Counter = collections.Counter()

        def on_skip(reason: str) -> None:
            reasons[reason] += 1

        for chunk in self.sources[source](on_skip):
            try:
                parsed = self.pre.parse(chunk.batch)
            except DataError as e:
                raise DataError(e.reason, file=chunk.file, row=e.row, column=e.column) from None
            problem = parsed.first_problem()
            if problem is not None:
                if not self.skip:
                    row, column, why = problem
                    value = chunk.batch.column(column)[row].as_py()
                    raise DataError(f"value {value!r} {why}", file=chunk.file, row=chunk.where(row), column=column)
                for mask, column, why in parsed.reasons:
                    reasons[f"column {column!r}: {why}"] += int(mask.sum())
            yield chunk, parsed
        if counting and source not in self._counted:
            self._counted.add(source)
            total = sum(reasons.values())
            self.stats["skipped_rows"] += total
            for reason, n in reasons.items():
                self.stats["skipped"][reason] = self.stats["skipped"].get(reason, 0) + n

    def _masks(self, chunk: Chunk, parsed: Parsed, source: str) -> dict[str, np.ndarray]:
        u = row_hash(chunk, self.seed, self.key)
        out = {}
        for split, rules in self.plan.items():
            mask = np.zeros(len(u), bool)
            for name, lo, hi in rules:
                if name == source:
                    mask |= (u >= lo) & (u < hi)
            out[split] = mask & ~parsed.bad
        return out

    def fit(self, scan_all: bool = True) -> Preprocessor:
        """One pass over the training sources: fit the preprocessor, count rows and skipped rows.

        With ``scan_all`` the other sources (e.g. a separate test file) are read once too, so bad
        rows anywhere fail (or are counted) before training starts rather than mid-epoch.
        """
        train_sources = dict.fromkeys(name for name, _, _ in self.plan["train"])
        others = dict.fromkeys(n for rules in self.plan.values() for n, _, _ in rules if n not in train_sources)
        rows: collections.Counter = collections.Counter()
        for source in list(train_sources) + (list(others) if scan_all else []):
            for chunk, parsed in self._chunks(source, counting=True):
                masks = self._masks(chunk, parsed, source)
                for split, mask in masks.items():
                    rows[split] += int(mask.sum())
                if source in train_sources and masks["train"].any():
                    self.pre.partial_fit(parsed.take(masks["train"]))
            if source in train_sources and source == list(train_sources)[-1]:
                if rows["train"] == 0:
                    raise DataError("the training split has no rows")
                self.pre.finalize()
        seen = set(train_sources) | (set(others) if scan_all else set())
        self.stats["rows"] = {k: rows[k] for k in self.plan if all(s in seen for s, _, _ in self.plan[k])}
        return self.pre

    def batches(self, split: str) -> Iterator[tuple[dict, dict]]:
        """Encoded (features, labels) numpy batches of one split, streamed."""
        for source in dict.fromkeys(name for name, _, _ in self.plan[split]):
            for chunk, parsed in self._chunks(source, counting=True):
                mask = self._masks(chunk, parsed, source)[split]
                if mask.any():
                    yield self.pre.encode(parsed.take(mask))

    def signature(self) -> tuple[dict, dict]:
        """Batched tf.TensorSpecs of features and labels."""
        feats = {f.name: tf.TensorSpec((None, *f.input_shape), f.dtype) for f in self.pre.feature_specs}
        labels = {
            t.name: tf.TensorSpec((None, 1), tf.int64 if t.is_class_task else tf.float32) for t in self.pre.task_specs
        }
        return feats, labels

    def dataset(self, split: str, shuffle_buffer: int = 0) -> tf.data.Dataset:
        """The split as an unbatched tf.data.Dataset of single examples."""
        ds = tf.data.Dataset.from_generator(lambda: self.batches(split), output_signature=self.signature()).unbatch()
        if shuffle_buffer:
            ds = ds.shuffle(shuffle_buffer, seed=self.seed, reshuffle_each_iteration=True)
        return ds


def build_bundle(sources: dict[str, RowSource], plan: SplitPlan, pre: Preprocessor, seed: int = 0,
                 skip_bad_rows: bool = False, key: str | None = None, shuffle_buffer: int = 10000,
                 description: str = "", extras: dict | None = None, scan_all: bool = True) -> DataBundle:
    """Fit ``pre`` on the training rows, then a DataBundle whose splits stream through it."""
    pipe = Pipeline(sources, plan, pre, seed, skip_bad_rows, key)
    pipe.fit(scan_all)
    empty = tf.data.Dataset.from_generator(lambda: iter(()), output_signature=pipe.signature()).unbatch()
    return DataBundle(
        features=pre.feature_specs,
        tasks=pre.task_specs,
        train=pipe.dataset("train", shuffle_buffer),
        validation=pipe.dataset("validation") if "validation" in plan else None,
        test=pipe.dataset("test") if "test" in plan else empty,
        extras={"preprocessor": pre, "pipeline": pipe, **(extras or {})},
        stats=pipe.stats,
        description=description,
    )
