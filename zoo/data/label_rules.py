"""Label transforms: binarisation (``positive``/``threshold``), regression values, class maps.

A missing label stays missing (NaN for binary/regression, -1 for multiclass), never 0. A value
that fits no rule (not a number, outside the classes) is reported as a bad row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zoo.data.columns import as_float, as_string, canon
from zoo.specs import SpecError, TaskSpec

_KEYS = ("name", "kind", "column", "positive", "negative", "threshold", "classes", "num_classes",
         "loss", "metrics", "weight")


def _strings(values) -> list[str]:
    return [canon(v) for v in (values if isinstance(values, (list, tuple)) else [values])]


class LabelRule:
    """How one task's label column becomes float32 ``[n, 1]`` (NaN missing) or int64 ``[n, 1]`` (-1 missing)."""

    def __init__(self, cfg: dict):
        if not isinstance(cfg, dict) or "name" not in cfg:
            raise SpecError(f"task config must be a mapping with a 'name', got {cfg!r}")
        for key in cfg:
            if key not in _KEYS:
                raise SpecError(f"task {cfg['name']!r}: unknown key {key!r} (valid: {', '.join(_KEYS)})")
        self.cfg = dict(cfg)
        self.name = cfg["name"]
        self.kind = cfg.get("kind", "binary")
        self.column = cfg.get("column", self.name)
        self.positive = _strings(cfg["positive"]) if cfg.get("positive") is not None else None
        self.negative = _strings(cfg["negative"]) if cfg.get("negative") is not None else None
        self.threshold = cfg.get("threshold")
        classes = cfg.get("classes")
        if isinstance(classes, dict):
            self.classes = {canon(k): int(v) for k, v in classes.items()}
        elif classes is not None:
            self.classes = {canon(k): i for i, k in enumerate(classes)}
        else:
            self.classes = None
        self.num_classes = cfg.get("num_classes")
        if self.kind == "multiclass" and self.classes is not None:
            self.num_classes = self.num_classes or max(self.classes.values()) + 1
        if self.kind not in ("binary", "regression", "multiclass"):
            raise SpecError(f"task {self.name!r}: kind must be binary, regression or multiclass, got {self.kind!r}")
        if (self.positive or self.negative or self.threshold is not None) and self.kind != "binary":
            raise SpecError(f"task {self.name!r}: positive/negative/threshold only apply to binary tasks")
        if self.classes is not None and self.kind != "multiclass":
            raise SpecError(f"task {self.name!r}: classes only apply to multiclass tasks")
        self.spec = self._spec()

    def _spec(self) -> TaskSpec:
        keys = ("name", "kind", "num_classes", "loss", "metrics", "weight")
        data = {k: self.cfg[k] for k in keys if self.cfg.get(k) is not None}
        if self.kind == "multiclass":
            data["num_classes"] = self.num_classes
        return TaskSpec.from_dict(data)

    @property
    def missing(self):
        """The missing-label value of this task."""
        return -1 if self.kind == "multiclass" else np.nan

    def parse(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray, str]:
        """(labels ``[n, 1]``, bad-row mask, what a bad value violates)."""
        if self.kind == "multiclass":
            return self._multiclass(arr)
        if self.kind == "binary" and self.positive is not None:
            return self._binarise(arr)
        x, bad = as_float(arr)
        why = "not a number"
        if self.kind == "binary" and self.threshold is not None:
            y = np.where(np.isnan(x), np.nan, (x >= float(self.threshold)).astype(np.float64))
        elif self.kind == "binary":
            y = x
            bad = bad | ~(np.isnan(x) | (x == 0) | (x == 1))
            why = "not 0 or 1; set positive: or threshold: for other labels"
        else:
            y = x
        return y.astype(np.float32).reshape(-1, 1), bad, why

    def _binarise(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray, str]:
        s = pc.utf8_trim_whitespace(as_string(arr))
        missing = pc.is_null(s).to_numpy(zero_copy_only=False) | pc.equal(s, "").fill_null(True).to_numpy(
            zero_copy_only=False)
        pos = pc.is_in(s, value_set=pa.array(self.positive, pa.string())).fill_null(False).to_numpy(
            zero_copy_only=False)
        bad = np.zeros(len(arr), bool)
        if self.negative is not None:
            neg = pc.is_in(s, value_set=pa.array(self.negative, pa.string())).fill_null(False).to_numpy(
                zero_copy_only=False)
            bad = ~(pos | neg | missing)
        y = np.where(missing, np.nan, pos.astype(np.float64))
        why = f"not one of the classes {self.positive + (self.negative or [])}"
        return y.astype(np.float32).reshape(-1, 1), bad, why

    def _multiclass(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray, str]:
        if self.classes is not None:
            s = pc.utf8_trim_whitespace(as_string(arr))
            missing = pc.is_null(s).to_numpy(zero_copy_only=False) | pc.equal(s, "").fill_null(True).to_numpy(
                zero_copy_only=False)
            keys = list(self.classes)
            idx = pc.index_in(s, value_set=pa.array(keys, pa.string())).fill_null(-1).to_numpy(
                zero_copy_only=False).astype(np.int64)
            table = np.asarray([self.classes[k] for k in keys] + [-1], np.int64)
            y = table[idx]
            bad = (idx < 0) & ~missing
            return y.reshape(-1, 1), bad, f"not one of the classes {keys}"
        x, bad = as_float(arr)
        missing = np.isnan(x)
        ok = ~missing & (x == np.round(x)) & (x >= 0) & (x < self.num_classes)
        bad = bad | (~missing & ~ok)
        y = np.where(ok, x, -1).astype(np.int64)
        return y.reshape(-1, 1), bad, f"not a class id in 0..{self.num_classes - 1}"

    def to_dict(self) -> dict[str, Any]:
        """The task config (label rules need no fitting)."""
        return dict(self.cfg)
