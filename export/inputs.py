"""Tables in and out of prediction: CSV, Parquet and JSONL files <-> columns of arrays.

Lists in CSV cells: a sequence (or multi-width dense) feature is one column whose cells are
either space-separated numbers (``3 7 9``) or a JSON list (``[3, 7, 9]``); ``[]`` is an
empty (all-padding) sequence. A cell that parses neither way leaves the column as text,
which the Predictor rejects with an error naming the feature. Parquet and JSONL carry
lists natively. Alternatively a width-d feature may be given as columns ``<name>_0 ..
<name>_<d-1>``. Outputs are written one column per task, or ``<task>_<i>`` columns for
outputs wider than one value.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np

from export.atomic import atomic_path

_NUMBERS = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)*\s*$")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def table_format(path: str | os.PathLike) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file extension; anything else is a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown table format {suffix or '(no extension)'!r} (use .csv, .parquet or .jsonl)")
    return FORMATS[suffix]


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _parse_cell(cell):
    """A list for list-like text, ``None`` when the cell is not list-like, the cell itself otherwise."""
    if isinstance(cell, float) and math.isnan(cell):
        return cell
    if not isinstance(cell, str):
        return None
    text = cell.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        ok = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        return value if ok else None
    if _NUMBERS.match(text):
        return [_number(t) for t in text.split()]
    return None


def _parse_list_column(values: list) -> list | None:
    parsed = [_parse_cell(v) for v in values]
    if any(p is None for p in parsed) or not any(isinstance(p, list) for p in parsed):
        return None
    return [p if isinstance(p, list) else [] for p in parsed]  # a missing cell is an empty list


def read_table(path: str | os.PathLike):
    """Read a CSV, Parquet or JSONL file into a pandas DataFrame (CSV list cells parsed to lists)."""
    import pandas as pd

    kind = table_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such input file")
    try:
        if kind == "csv":
            frame = pd.read_csv(path)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True)
    except Exception as e:  # noqa: BLE001 - pandas/pyarrow raise many types for unreadable files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path}: cannot read as {kind} ({first[:200]})") from None
    if kind == "csv":
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
                parsed = _parse_list_column(frame[column].tolist())
                if parsed is not None:
                    frame[column] = pd.Series(parsed, index=frame.index, dtype=object)
    return frame


def output_columns(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One column per task; an output with more than one value per row becomes ``<task>_<i>`` columns."""
    columns: dict[str, np.ndarray] = {}
    for name, value in outputs.items():
        flat = np.asarray(value).reshape(len(value), -1)
        if flat.shape[1] == 1:
            columns[name] = flat[:, 0]
        else:
            for i in range(flat.shape[1]):
                columns[f"{name}_{i}"] = flat[:, i]
    return columns


def write_table(columns: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write columns to a CSV, Parquet or JSONL file (by extension), atomically."""
    import pandas as pd

    kind = table_format(path)
    frame = pd.DataFrame(columns)
    with atomic_path(path, "file") as staged:
        if kind == "csv":
            frame.to_csv(staged, index=False)
        elif kind == "parquet":
            frame.to_parquet(staged, index=False)
        else:
            frame.to_json(staged, orient="records", lines=True)
