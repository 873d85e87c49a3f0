"""Column parsing on Arrow arrays: canonical strings, floats with bad-value masks, split tokens."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def canon(value) -> str:
    """The string a config value (``positive: 1``, ``classes: [a, b]``) is matched as."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def as_string(arr: pa.Array) -> pa.Array:
    """The column as strings (integers as their decimal text, nulls kept)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type):
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    return pc.cast(arr, pa.string())


def _slow_floats(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(arr), np.nan)
    bad = np.zeros(len(arr), bool)
    for i, v in enumerate(arr.to_pylist()):
        if v is None or str(v).strip() == "":
            continue
        try:
            out[i] = float(str(v).strip())
        except ValueError:
            bad[i] = True
    return out, bad


def as_float(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN for missing, mask of values that are not numbers)."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan), np.zeros(len(arr), bool)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _slow_floats(arr)
    else:
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return np.full(len(arr), np.nan), np.ones(len(arr), bool)
    values = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return values, np.zeros(len(arr), bool)


def split_tokens(arr: pa.Array, separator: str) -> tuple[pa.Array, np.ndarray]:
    """(flat tokens of every row, tokens per row; a missing row has none)."""
    lists = pc.split_pattern(as_string(arr), separator)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return pc.list_flatten(lists), lengths


def pad_rows(values: np.ndarray, lengths: np.ndarray, max_len: int) -> np.ndarray:
    """Pack flat per-row values into ``[rows, max_len]`` int64, truncating and padding with 0."""
    rows = len(lengths)
    out = np.zeros((rows, max_len), np.int64)
    if len(values) == 0:
        return out
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(len(values)) - np.repeat(starts, lengths)
    row = np.repeat(np.arange(rows), lengths)
    keep = pos < max_len
    out[row[keep], pos[keep]] = values[keep]
    return out
