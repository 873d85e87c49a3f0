"""Streaming CSV/Parquet readers: record batches of the needed columns, with file/line context for errors."""

from __future__ import annotations

import dataclasses
import glob
import io
import os
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from zoo.data.errors import DataError

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv", ".txt", ".data", ".test")
PARQUET_SUFFIXES = (".parquet", ".pq")
NULL_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")


@dataclasses.dataclass
class Chunk:
    """A record batch of one file with where its rows came from."""

    batch: pa.RecordBatch
    file: str
    file_index: int
    first_row: int
    header_lines: int = 1
    unit: str = "line"

    def where(self, i: int) -> str:
        """Human location of row ``i`` of this batch: ``line N`` (CSV) or ``row N`` (Parquet)."""
        return f"{self.unit} {self.first_row + i + 1 + (self.header_lines if self.unit == 'line' else 0)}"


def resolve_files(path) -> list[str]:
    """One file, a glob, a folder (its CSV/Parquet files) or a list of those -> sorted file paths."""
    if isinstance(path, (list, tuple)):
        return [f for p in path for f in resolve_files(p)]
    path = os.path.expanduser(str(path))
    if os.path.isdir(path):
        files = sorted(
            os.path.join(path, f) for f in os.listdir(path)
            if f.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES) and not f.startswith(".")
        )
    elif any(ch in path for ch in "*?["):
        files = sorted(glob.glob(path))
    else:
        files = [path] if os.path.exists(path) else []
    if not files:
        raise DataError("no such file, or no CSV/Parquet files match", file=path)
    return files


def detect_format(files: list[str], fmt: str | None) -> str:
    """``csv`` or ``parquet`` from the argument or the file suffixes."""
    if fmt is not None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
        return fmt
    return "parquet" if all(f.endswith(PARQUET_SUFFIXES) for f in files) else "csv"


def _line_of(file: str, text: str, header_lines: int) -> int | None:
    with pa.input_stream(file, compression="detect") as stream:
        for number, raw in enumerate(io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""), 1):
            if number > header_lines and raw.rstrip("\r\n") == text:
                return number
    return None


def _header(file: str, read, delimiter: str) -> list[str]:
    try:
        first = pcsv.ReadOptions(block_size=read.block_size, column_names=read.column_names)
        return pcsv.open_csv(file, read_options=first, parse_options=pcsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=lambda row: "skip")).schema.names
    except (pa.ArrowInvalid, OSError):
        return []


def iter_csv(
    file: str,
    file_index: int,
    columns: list[str],
    column_names: list[str] | None = None,
    delimiter: str = ",",
    null_values=NULL_VALUES,
    block_size: int = 1 << 22,
    skip_bad_rows: bool = False,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[Chunk]:
    """Stream a CSV (all needed columns as strings); ``column_names`` for header-less files."""

    skipped, malformed = [0], []

    def handler(row):
        if skip_bad_rows:
            skipped[0] += 1
            if on_skip is not None:
                on_skip("malformed row")
            return "skip"
        malformed.append(row)
        return "error"

    header = 0 if column_names else 1
    read = pcsv.ReadOptions(block_size=block_size, column_names=column_names)
    parse = pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler)
    convert = pcsv.ConvertOptions(
        include_columns=columns, column_types={c: pa.string() for c in columns},
        strings_can_be_null=True, null_values=list(null_values), quoted_strings_can_be_null=True,
    )
    try:
        reader = pcsv.open_csv(file, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as e:
        if malformed:
            _raise_malformed(file, malformed[0], header, column_names or _header(file, read, delimiter))
        _raise_open(file, e, columns, read, delimiter)
    rows = 0
    try:
        for batch in reader:
            if batch.num_rows:
                yield Chunk(batch, file, file_index, rows, header, "line")
                rows += batch.num_rows
    except pa.ArrowInvalid as e:
        if malformed:
            _raise_malformed(file, malformed[0], header, column_names or _header(file, read, delimiter))
        raise DataError(f"unreadable CSV: {str(e).splitlines()[0]}", file=file) from None
    if rows == 0 and not skipped[0]:
        raise DataError("empty file (no data rows)", file=file)


def _raise_malformed(file, row, header, names):
    line = _line_of(file, row.text, header)
    names = list(names or [])
    if row.actual_columns < row.expected_columns and row.actual_columns < len(names):
        column = names[row.actual_columns]
        why = f"missing: the row has {row.actual_columns} fields, the header {row.expected_columns}"
    else:
        column = names[-1] if names else None
        why = f"malformed row: {row.actual_columns} fields where the header has {row.expected_columns}"
    raise DataError(why, file=file, row=line, column=column) from None


def _raise_open(file, error, columns, read, delimiter):
    message = str(error).splitlines()[0]
    if "Empty CSV file" in message:
        raise DataError("empty file", file=file) from None
    names = _header(file, read, delimiter)
    for col in columns:
        if names and col not in names:
            raise DataError(f"not found in the header (columns: {', '.join(names)})", file=file, row="header",
                            column=col) from None
    raise DataError(f"unreadable CSV: {message}", file=file) from None


def iter_parquet(file: str, file_index: int, columns: list[str], batch_rows: int = 65536) -> Iterator[Chunk]:
    """Stream a Parquet file's needed columns in batches of ``batch_rows``."""
    try:
        pf = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as e:
        message = str(e).splitlines()[0]
        why = "empty file" if "size is 0" in message else f"unreadable Parquet: {message}"
        raise DataError(why, file=file) from None
    names = pf.schema_arrow.names
    for col in columns:
        if col not in names:
            raise DataError(f"not found (columns: {', '.join(names)})", file=file, column=col)
    rows = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
        if batch.num_rows:
            yield Chunk(batch, file, file_index, rows, 0, "row")
            rows += batch.num_rows
    if rows == 0:
        raise DataError("empty file (no data rows)", file=file)
