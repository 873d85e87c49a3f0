"""Preprocessor: table columns -> model features and labels, fitted on the training split by streaming.

Feature configs (one per model input)::

    {name, kind: dense, column | columns: [...], normalize: standard|minmax|none,
     fill: mean|<number>, missing_indicator: bool}
    {name, kind: categorical, column, min_count, max_tokens, num_oov, embedding_dim, vocabulary}
    {name, kind: sequence, column, separator: "|", max_len, pooling, min_count, ...}

Task configs: ``{name, kind, column, positive | negative | threshold | classes, weight, ...}``
(see ``zoo.data.label_rules``). Categorical values are matched verbatim as strings (integers as
their decimal text); missing or empty values go to the OOV id. ``fit`` takes record batches so a
table of any size is fitted in passes over batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from zoo.data.columns import as_float
from zoo.data.encoders import DenseEncoder, VocabEncoder, make_encoder
from zoo.data.errors import DataError
from zoo.data.label_rules import LabelRule
from zoo.specs import FeatureSpec, SpecError, TaskSpec, parse_features, parse_tasks

FORMAT = "mtlzoo.preprocessing/1"


@dataclasses.dataclass
class Parsed:
    """A record batch parsed once: raw dense floats, string columns, labels and the bad-row verdict."""

    floats: dict[str, np.ndarray]
    strings: dict[str, pa.Array]
    labels: dict[str, np.ndarray]
    bad: np.ndarray
    reasons: list[tuple[np.ndarray, str, str]]

    def __len__(self) -> int:
        return len(self.bad)

    def first_problem(self) -> tuple[int, str, str] | None:
        """(row in batch, column, message) of the earliest bad row, or None."""
        best = None
        for mask, column, why in self.reasons:
            rows = np.flatnonzero(mask)
            if len(rows) and (best is None or rows[0] < best[0]):
                best = (int(rows[0]), column, why)
        return best

    def take(self, keep: np.ndarray) -> Parsed:
        """Only the rows where ``keep`` is true."""
        mask = pa.array(keep)
        return Parsed(
            {k: v[keep] for k, v in self.floats.items()},
            {k: v.filter(mask) for k, v in self.strings.items()},
            {k: v[keep] for k, v in self.labels.items()},
            self.bad[keep],
            [],
        )


class Preprocessor:
    """Fits vocabularies and normalisation on training batches; turns batches into model arrays."""

    def __init__(self, features: list[dict], tasks: list[dict], min_count: int = 1):
        if not features:
            raise SpecError("features: at least one feature is required")
        if not tasks:
            raise SpecError("tasks: at least one task is required")
        self.encoders = [make_encoder(dict(f), min_count) for f in features]
        self.rules = [LabelRule(dict(t)) for t in tasks]
        self.min_count = min_count
        self.fitted = all(isinstance(e, VocabEncoder) and e.fixed for e in self.encoders)
        names = []
        for e in self.encoders:
            names.append(e.name)
            if isinstance(e, DenseEncoder) and e.missing_indicator:
                names.append(e.indicator_name)
        parse_features([FeatureSpec(n, "dense") for n in names])  # unique, valid names
        parse_tasks([r.spec for r in self.rules])

    # ------------------------------------------------------------- columns
    @property
    def dense_columns(self) -> list[str]:
        """Columns read as numbers."""
        return list(dict.fromkeys(c for e in self.encoders if isinstance(e, DenseEncoder) for c in e.columns))

    @property
    def string_columns(self) -> list[str]:
        """Columns read as strings (categorical and multi-hot)."""
        return list(dict.fromkeys(e.column for e in self.encoders if isinstance(e, VocabEncoder)))

    @property
    def label_columns(self) -> list[str]:
        """Columns holding labels."""
        return list(dict.fromkeys(r.column for r in self.rules))

    @property
    def columns(self) -> list[str]:
        """Every column the preprocessor reads; others in a table are ignored."""
        return list(dict.fromkeys(self.dense_columns + self.string_columns + self.label_columns))

    # --------------------------------------------------------------- parse
    def parse(self, batch: pa.RecordBatch | pa.Table, labels: bool = True) -> Parsed:
        """Read the needed columns once (``labels=False``: inputs only); a missing column raises DataError."""
        present = set(batch.schema.names)
        for col in self.columns if labels else self.dense_columns + self.string_columns:
            if col not in present:
                raise DataError(f"not found (columns: {', '.join(batch.schema.names)})", column=col)

        def column(name):
            arr = batch.column(name)
            return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

        n = batch.num_rows
        bad = np.zeros(n, bool)
        reasons = []
        floats = {}
        for col in self.dense_columns:
            floats[col], wrong = as_float(column(col))
            if wrong.any():
                reasons.append((wrong, col, "is not a number"))
                bad |= wrong
        strings = {col: column(col) for col in self.string_columns}
        parsed_labels = {}
        for rule in self.rules if labels else ():
            parsed_labels[rule.name], wrong, why = rule.parse(column(rule.column))
            if wrong.any():
                reasons.append((wrong, rule.column, f"is not a valid label of task {rule.name!r} ({why})"))
                bad |= wrong
        return Parsed(floats, strings, parsed_labels, bad, reasons)

    # ----------------------------------------------------------------- fit
    def partial_fit(self, parsed: Parsed) -> None:
        """Accumulate statistics from training rows (bad rows must already be removed)."""
        for e in self.encoders:
            if isinstance(e, DenseEncoder):
                e.partial_fit(parsed.floats)
            else:
                e.partial_fit(parsed.strings[e.column])

    def finalize(self) -> Preprocessor:
        """Freeze vocabularies and normalisation constants."""
        for e in self.encoders:
            e.finalize()
        self.fitted = True
        return self

    def fit(self, batches: Iterable[pa.RecordBatch]) -> Preprocessor:
        """Fit on training batches (one pass); a bad row raises DataError with its row in the batch."""
        for batch in batches:
            parsed = self.parse(batch)
            problem = parsed.first_problem()
            if problem is not None:
                row, column, why = problem
                raise DataError(f"value {_value(batch, row, column)!r} {why}", row=f"row {row + 1}", column=column)
            self.partial_fit(parsed)
        return self.finalize()

    # ----------------------------------------------------------- transform
    def encode(self, parsed: Parsed) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Model features and labels from parsed (good) rows."""
        if not self.fitted:
            raise RuntimeError("Preprocessor: call fit() before transform()")
        features: dict[str, np.ndarray] = {}
        for e in self.encoders:
            features.update(e.encode(parsed.floats) if isinstance(e, DenseEncoder) else e.encode(parsed.strings[e.column]))
        return features, dict(parsed.labels)

    def transform(self, batch: pa.RecordBatch | pa.Table) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(features, labels) numpy dicts for a batch; a bad row raises DataError naming row and column."""
        parsed = self.parse(batch)
        problem = parsed.first_problem()
        if problem is not None:
            row, column, why = problem
            raise DataError(f"value {_value(batch, row, column)!r} {why}", row=f"row {row + 1}", column=column)
        return self.encode(parsed)

    # --------------------------------------------------------------- specs
    @property
    def feature_specs(self) -> list[FeatureSpec]:
        """The model's input specs (after fitting: vocabulary sizes are known)."""
        if not self.fitted:
            raise RuntimeError("Preprocessor: feature specs are known only after fit()")
        return parse_features([s for e in self.encoders for s in e.specs()])

    @property
    def task_specs(self) -> list[TaskSpec]:
        """The model's output specs."""
        return [r.spec for r in self.rules]

    # ---------------------------------------------------------------- json
    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly config plus fitted state (vocabularies, means, scales)."""
        if not self.fitted:
            raise RuntimeError("Preprocessor: to_dict() needs a fitted preprocessor")
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "features": [e.to_dict() for e in self.encoders],
            "tasks": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        """Rebuild a fitted preprocessor from ``to_dict()`` output."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SpecError(f"preprocessing: expected a dict with format {FORMAT!r}")
        pre = cls(data["features"], data["tasks"], data.get("min_count", 1))
        pre.fitted = True
        return pre


def _value(batch, row: int, column: str):
    return batch.column(column)[row].as_py()
