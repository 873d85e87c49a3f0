"""DataError: the one-line error for bad input data, naming file, row and column."""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data (malformed row, missing column, wrong type, empty file, unknown label)."""

    def __init__(self, message: str, file: str | None = None, row: int | str | None = None, column: str | None = None):
        self.file, self.row, self.column, self.reason = file, row, column, message
        super().__init__(location(file, row, column) + message)


def location(file: str | None, row: int | str | None = None, column: str | None = None) -> str:
    """``"data.csv: line 7: column 'age': "`` with whatever parts are known (a str row is used as is)."""
    parts = []
    if file:
        parts.append(str(file))
    if row is not None:
        parts.append(f"line {row}" if isinstance(row, int) else row)
    if column is not None:
        parts.append(f"column {column!r}")
    return "".join(f"{p}: " for p in parts)
