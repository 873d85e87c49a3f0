"""Helpers for in-memory data: deterministic splits of numpy dicts and tf.data conversion."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def split_fractions(splits) -> tuple[float, float, float]:
    """(train, validation, test) fractions from a dict or a 3-sequence; they must sum to 1."""
    if isinstance(splits, dict):
        unknown = set(splits) - {"train", "validation", "test"}
        if unknown:
            raise ValueError(f"splits: unknown split(s) {', '.join(sorted(unknown))} (valid: train, validation, test)")
        fr = (splits.get("train", 0.0), splits.get("validation", 0.0), splits.get("test", 0.0))
    else:
        fr = tuple(splits)
    if len(fr) != 3 or any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6 or fr[0] <= 0 or fr[2] <= 0:
        raise ValueError(f"splits: need train > 0, validation >= 0, test > 0 summing to 1, got {fr}")
    return tuple(float(f) for f in fr)


def split_arrays(arrays: dict, splits, seed: int = 0) -> list[dict]:
    """Shuffle rows once with ``seed`` and cut every array of ``arrays`` into train/validation/test."""
    n = len(next(iter(arrays.values())))
    train, val, _ = split_fractions(splits)
    order = np.random.default_rng(seed).permutation(n)
    cuts = [0, int(round(train * n)), int(round((train + val) * n)), n]
    return [{k: v[order[a:b]] for k, v in arrays.items()} for a, b in zip(cuts[:-1], cuts[1:])]


def to_dataset(features: dict, labels: dict) -> tf.data.Dataset | None:
    """An unbatched ``(features, labels)`` dataset from numpy dicts (None when empty)."""
    if len(next(iter(labels.values()))) == 0:
        return None
    return tf.data.Dataset.from_tensor_slices((features, labels))


def to_numpy(dataset: tf.data.Dataset, batch_size: int = 4096) -> tuple[dict, dict]:
    """Collect an unbatched (features, labels) dataset into numpy dicts (for small eval splits)."""
    feats: dict[str, list] = {}
    labels: dict[str, list] = {}
    for x, y in dataset.batch(batch_size).as_numpy_iterator():
        for k, v in x.items():
            feats.setdefault(k, []).append(v)
        for k, v in y.items():
            labels.setdefault(k, []).append(v)
    return ({k: np.concatenate(v) for k, v in feats.items()}, {k: np.concatenate(v) for k, v in labels.items()})
