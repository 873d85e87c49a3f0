"""Feature and task specifications: what goes into a zoo model and what comes out."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

FEATURE_KINDS = ("dense", "categorical", "sequence", "image")
TASK_KINDS = ("binary", "regression", "multiclass", "segmentation", "depth", "normals")
POOLINGS = ("mean", "sum")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

_DEFAULT_LOSS = {
    "binary": "binary_crossentropy",
    "regression": "mse",
    "multiclass": "categorical_crossentropy",
    "segmentation": "pixel_crossentropy",
    "depth": "l1",
    "normals": "cosine",
}
_LOSSES = {
    "binary": ("binary_crossentropy",),
    "regression": ("mse", "mae", "huber"),
    "multiclass": ("categorical_crossentropy",),
    "segmentation": ("pixel_crossentropy",),
    "depth": ("l1",),
    "normals": ("cosine",),
}
_DEFAULT_METRICS = {
    "binary": ("auc", "logloss"),
    "regression": ("mse", "mae"),
    "multiclass": ("accuracy", "logloss"),
    "segmentation": ("miou", "pixel_accuracy"),
    "depth": ("abs_err", "rel_err"),
    "normals": ("angle_mean", "angle_median", "within_11_25", "within_22_5", "within_30"),
}
_METRICS = {
    "binary": ("auc", "logloss", "accuracy"),
    "regression": ("mse", "mae", "rmse"),
    "multiclass": ("accuracy", "logloss"),
    "segmentation": ("miou", "pixel_accuracy"),
    "depth": ("abs_err", "rel_err"),
    "normals": ("angle_mean", "angle_median", "within_11_25", "within_22_5", "within_30"),
}


class SpecError(ValueError):
    """A feature or task specification is invalid; the message names the field."""


def _check_name(owner: str, name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(
            f"{owner}: name {name!r} must start with a letter or '_' and use only "
            "letters, digits, '_', '.', '-'"
        )
    if name.startswith("zoo__"):
        raise SpecError(f"{owner}: name {name!r} uses the reserved prefix 'zoo__'")
    return name


def _check_keys(owner: str, data: dict, cls: type) -> None:
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in valid:
            raise SpecError(f"{owner}: unknown key {key!r} (valid: {', '.join(valid)})")


def _from_dict(cls, word: str, data):
    """Shared body of ``FeatureSpec.from_dict`` and ``TaskSpec.from_dict``."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"{word} spec must be a mapping, got {type(data).__name__}")
    _check_keys(f"{word} {data.get('name')!r}", data, cls)
    if "name" not in data:
        raise SpecError(f"{word} spec: missing key 'name'")
    return cls(**data)


def _positive_int(owner: str, field: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"{owner}: {field} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One model input: a dense vector, a categorical id, a multi-hot id sequence or an image.

    Ids follow one rule everywhere (Keras, SavedModel, ONNX): for a categorical feature,
    ids ``0 .. vocab_size-1`` are in vocabulary; for a sequence, ``0`` is padding and
    ``1 .. vocab_size-1`` are in vocabulary. Any other id (negative or too large) goes to
    one of ``num_oov`` OOV buckets, which have their own embedding rows.
    """

    name: str
    kind: str = "dense"
    dim: int = 1
    vocab_size: int | None = None
    vocabulary: tuple | None = None
    num_oov: int = 1
    embedding_dim: int = 8
    max_len: int = 0
    pooling: str = "mean"
    shared_embedding: str | None = None
    shape: tuple | None = None

    def __post_init__(self) -> None:
        owner = f"feature {self.name!r}"
        _check_name("feature", self.name)
        if self.kind not in FEATURE_KINDS:
            raise SpecError(f"{owner}: kind must be one of {', '.join(FEATURE_KINDS)}, got {self.kind!r}")
        if self.kind == "dense":
            _positive_int(owner, "dim", self.dim)
        if self.kind in ("categorical", "sequence"):
            if self.vocabulary is not None:
                if not isinstance(self.vocabulary, (list, tuple)) or not self.vocabulary:
                    raise SpecError(f"{owner}: vocabulary must be a non-empty list")
                object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
                size = len(self.vocabulary) + (1 if self.kind == "sequence" else 0)
                if self.vocab_size is not None and self.vocab_size != size:
                    raise SpecError(f"{owner}: vocab_size {self.vocab_size} disagrees with the vocabulary ({size})")
                object.__setattr__(self, "vocab_size", size)
            if self.vocab_size is None:
                raise SpecError(f"{owner}: a {self.kind} feature needs vocab_size or vocabulary")
            _positive_int(owner, "vocab_size", self.vocab_size, 2 if self.kind == "sequence" else 1)
            _positive_int(owner, "num_oov", self.num_oov)
            _positive_int(owner, "embedding_dim", self.embedding_dim)
        if self.kind == "sequence":
            _positive_int(owner, "max_len", self.max_len)
            if self.pooling not in POOLINGS:
                raise SpecError(f"{owner}: pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if self.shared_embedding is not None and self.kind not in ("categorical", "sequence"):
            raise SpecError(f"{owner}: shared_embedding only applies to categorical or sequence features")
        if self.kind == "image":
            if self.shape is None or len(self.shape) != 3 or not all(
                isinstance(s, int) and s > 0 for s in self.shape
            ):
                raise SpecError(f"{owner}: an image feature needs shape [height, width, channels]")
            object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def table_size(self) -> int:
        """Rows of the embedding table: the vocabulary plus the OOV buckets."""
        return int(self.vocab_size) + int(self.num_oov)

    @property
    def input_shape(self) -> tuple:
        """Shape of one example of this input (without the batch axis)."""
        if self.kind == "dense":
            return (self.dim,)
        if self.kind == "categorical":
            return (1,)
        if self.kind == "sequence":
            return (self.max_len,)
        return tuple(self.shape)

    @property
    def dtype(self) -> str:
        """Input dtype: float32 for dense values and images, int64 for ids."""
        return "float32" if self.kind in ("dense", "image") else "int64"

    def to_dict(self) -> dict:
        """A plain dict (YAML/JSON friendly) holding only the non-default fields."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in out or value == f.default:
                continue
            if f.name == "vocab_size" and self.vocabulary is not None:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        """Build a spec from a plain dict; an unknown key raises SpecError naming it."""
        return _from_dict(cls, "feature", data)


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One model output: its kind, loss, metrics and loss weight."""

    name: str
    kind: str = "binary"
    num_classes: int | None = None
    loss: str | None = None
    metrics: tuple | None = None
    weight: float = 1.0
    ignore_label: int = -1

    def __post_init__(self) -> None:
        owner = f"task {self.name!r}"
        _check_name("task", self.name)
        if self.kind not in TASK_KINDS:
            raise SpecError(f"{owner}: kind must be one of {', '.join(TASK_KINDS)}, got {self.kind!r}")
        if self.kind in ("multiclass", "segmentation"):
            _positive_int(owner, "num_classes", self.num_classes, 2)
        elif self.num_classes is not None:
            raise SpecError(f"{owner}: num_classes only applies to multiclass or segmentation tasks")
        loss = self.loss or _DEFAULT_LOSS[self.kind]
        if loss not in _LOSSES[self.kind]:
            raise SpecError(f"{owner}: loss must be one of {', '.join(_LOSSES[self.kind])}, got {loss!r}")
        object.__setattr__(self, "loss", loss)
        metrics = tuple(self.metrics) if self.metrics is not None else _DEFAULT_METRICS[self.kind]
        for m in metrics:
            if m not in _METRICS[self.kind]:
                raise SpecError(f"{owner}: metric {m!r} is not one of {', '.join(_METRICS[self.kind])}")
        object.__setattr__(self, "metrics", metrics)
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)) or self.weight < 0:
            raise SpecError(f"{owner}: weight must be a number >= 0, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))

    @property
    def output_width(self) -> int:
        """Channels of the output: 1, the class count, or 3 for normals."""
        if self.kind in ("multiclass", "segmentation"):
            return int(self.num_classes)
        return 3 if self.kind == "normals" else 1

    @property
    def is_class_task(self) -> bool:
        """True when labels are integer classes (missing = -1); False for float labels (missing = NaN)."""
        return self.kind in ("multiclass", "segmentation")

    def to_dict(self) -> dict:
        """A plain dict (YAML/JSON friendly) holding only the non-default fields."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        defaults = TaskSpec(name=self.name, kind=self.kind, num_classes=self.num_classes)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in out or value == getattr(defaults, f.name):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        if self.num_classes is not None:
            out["num_classes"] = self.num_classes
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TaskSpec:
        """Build a spec from a plain dict; an unknown key raises SpecError naming it."""
        return _from_dict(cls, "task", data)


def parse_features(items) -> list[FeatureSpec]:
    """Feature specs from a list of dicts/specs; names must be unique and shared tables must exist."""
    specs = _unique([FeatureSpec.from_dict(i) for i in items], "feature")
    by_name = {s.name: s for s in specs}
    for s in specs:
        if s.shared_embedding is None:
            continue
        other = by_name.get(s.shared_embedding)
        if other is None or other.kind not in ("categorical", "sequence"):
            raise SpecError(f"feature {s.name!r}: shared_embedding {s.shared_embedding!r} is not a categorical feature")
        if other.shared_embedding is not None:
            raise SpecError(f"feature {s.name!r}: shared_embedding must name a feature that owns its table")
        if (other.table_size, other.embedding_dim) != (s.table_size, s.embedding_dim):
            raise SpecError(
                f"feature {s.name!r}: shared_embedding {other.name!r} has another table size or embedding_dim"
            )
    return specs


def parse_tasks(items) -> list[TaskSpec]:
    """Task specs from a list of dicts/specs; names must be unique."""
    return _unique([TaskSpec.from_dict(i) for i in items], "task")


def _unique(specs: list, word: str) -> list:
    """``specs`` unchanged when non-empty with unique names; else a SpecError naming the problem."""
    if not specs:
        raise SpecError(f"{word}s: at least one {word} is required")
    names = [s.name for s in specs]
    for n in names:
        if names.count(n) > 1:
            raise SpecError(f"{word} {n!r}: name used twice")
    return specs
