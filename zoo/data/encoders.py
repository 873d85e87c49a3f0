"""Fitted per-feature encoders: dense normalisation with missing-value fill, and vocabularies."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zoo.data.columns import as_string, pad_rows, split_tokens
from zoo.specs import FeatureSpec, SpecError

NORMALIZE = ("standard", "minmax", "none")
_DENSE_KEYS = ("name", "kind", "column", "columns", "normalize", "fill", "missing_indicator")
_VOCAB_KEYS = (
    "name", "kind", "column", "min_count", "max_tokens", "vocabulary", "num_oov", "embedding_dim",
    "separator", "max_len", "pooling",
)


def _check_keys(cfg: dict, valid: tuple) -> None:
    for key in cfg:
        if key not in valid:
            raise SpecError(f"feature {cfg.get('name')!r}: unknown key {key!r} (valid: {', '.join(valid)})")


class DenseEncoder:
    """One or more numeric columns -> float32 ``[n, d]``: fill missing (NaN), then (x - shift) / scale."""

    def __init__(self, cfg: dict):
        _check_keys(cfg, _DENSE_KEYS + ("state",))
        self.name = cfg["name"]
        self.columns = list(cfg.get("columns") or [cfg.get("column", self.name)])
        self.normalize = cfg.get("normalize", "standard")
        self.fill = cfg.get("fill", "mean")
        self.missing_indicator = bool(cfg.get("missing_indicator", False))
        if self.normalize not in NORMALIZE:
            raise SpecError(f"feature {self.name!r}: normalize must be one of {', '.join(NORMALIZE)}")
        if self.fill != "mean" and not isinstance(self.fill, (int, float)):
            raise SpecError(f"feature {self.name!r}: fill must be 'mean' or a number, got {self.fill!r}")
        d = len(self.columns)
        self._n, self._sum, self._sq = np.zeros(d), np.zeros(d), np.zeros(d)
        self._min, self._max = np.full(d, np.inf), np.full(d, -np.inf)
        self.state: dict[str, list] | None = cfg.get("state")

    @property
    def indicator_name(self) -> str:
        """Name of the 0/1 missing-indicator feature (when enabled)."""
        return f"{self.name}_missing"

    def partial_fit(self, values: dict[str, np.ndarray]) -> None:
        """Accumulate count, sum, sum of squares, min and max of the finite training values."""
        for j, col in enumerate(self.columns):
            x = values[col]
            x = x[np.isfinite(x)]
            if len(x):
                self._n[j] += len(x)
                self._sum[j] += x.sum()
                self._sq[j] += np.square(x).sum()
                self._min[j] = min(self._min[j], x.min())
                self._max[j] = max(self._max[j], x.max())

    def finalize(self) -> None:
        """Turn the accumulated moments into fill values, shifts and scales."""
        n = np.maximum(self._n, 1)
        mean = np.where(self._n > 0, self._sum / n, 0.0)
        std = np.sqrt(np.maximum(self._sq / n - mean**2, 0.0))
        fill = mean if self.fill == "mean" else np.full(len(self.columns), float(self.fill))
        if self.normalize == "standard":
            shift, scale = mean, np.where(std > 1e-12, std, 1.0)
        elif self.normalize == "minmax":
            lo = np.where(self._n > 0, self._min, 0.0)
            span = np.where(self._n > 0, self._max - self._min, 1.0)
            shift, scale = lo, np.where(span > 1e-12, span, 1.0)
        else:
            shift, scale = np.zeros(len(self.columns)), np.ones(len(self.columns))
        self.state = {
            "count": self._n.tolist(), "mean": mean.tolist(), "std": std.tolist(),
            "fill": fill.tolist(), "shift": shift.tolist(), "scale": scale.tolist(),
        }

    def constants(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fill, shift, scale) as float32 ``[d]`` arrays: the exact constants of the ONNX graph too."""
        s = self.state
        return (np.asarray(s["fill"], np.float32), np.asarray(s["shift"], np.float32),
                np.asarray(s["scale"], np.float32))

    def encode(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw float columns (NaN = missing) -> this feature (and its missing indicator)."""
        x = np.stack([values[c].astype(np.float32) for c in self.columns], axis=1)
        fill, shift, scale = self.constants()
        missing = np.isnan(x)
        out = {self.name: (np.where(missing, fill, x) - shift) / scale}
        if self.missing_indicator:
            out[self.indicator_name] = missing.astype(np.float32)
        return out

    def specs(self) -> list[FeatureSpec]:
        """The model inputs this encoder produces."""
        d = len(self.columns)
        out = [FeatureSpec(self.name, "dense", dim=d)]
        if self.missing_indicator:
            out.append(FeatureSpec(self.indicator_name, "dense", dim=d))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Config plus fitted state."""
        cfg = {"name": self.name, "kind": "dense", "columns": self.columns, "normalize": self.normalize,
               "fill": self.fill, "missing_indicator": self.missing_indicator}
        return {**cfg, "state": self.state}


class VocabEncoder:
    """A string/integer column -> vocabulary ids (categorical), or a separated multi-hot column -> id sequence.

    Categorical ids are the vocabulary index; sequence ids are index + 1 (0 = padding). Values seen
    fewer than ``min_count`` times in training, unseen values and missing values get the OOV id.
    """

    def __init__(self, cfg: dict, min_count: int = 1):
        _check_keys(cfg, _VOCAB_KEYS)
        self.name = cfg["name"]
        self.kind = cfg.get("kind", "categorical")
        self.column = cfg.get("column", self.name)
        self.min_count = int(cfg.get("min_count", min_count))
        self.max_tokens = cfg.get("max_tokens")
        self.num_oov = int(cfg.get("num_oov", 1))
        self.embedding_dim = int(cfg.get("embedding_dim", 8))
        self.separator = cfg.get("separator", "|")
        self.max_len = int(cfg.get("max_len", 8))
        self.pooling = cfg.get("pooling", "mean")
        given = cfg.get("vocabulary")
        self.vocabulary: list[str] | None = [str(v) for v in given] if given is not None else None
        self.fixed = given is not None
        self._counts: collections.Counter = collections.Counter()
        self._lookup: pa.Array | None = None

    @property
    def sequence(self) -> bool:
        """True for a multi-hot (separated) column."""
        return self.kind == "sequence"

    def _tokens(self, arr: pa.Array) -> pa.Array:
        return split_tokens(arr, self.separator)[0] if self.sequence else as_string(arr)

    def partial_fit(self, arr: pa.Array) -> None:
        """Count the values (or tokens) of a training batch."""
        if self.fixed:
            return
        counts = pc.value_counts(self._tokens(arr).drop_null())
        for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
            if value != "":
                self._counts[value] += n

    def finalize(self) -> None:
        """Keep values seen at least ``min_count`` times, most frequent first (ties by value)."""
        if self.fixed:
            return
        items = sorted((kv for kv in self._counts.items() if kv[1] >= self.min_count), key=lambda kv: (-kv[1], kv[0]))
        if self.max_tokens is not None:
            items = items[: int(self.max_tokens)]
        self.vocabulary = [k for k, _ in items]
        self._counts.clear()

    @property
    def vocab_size(self) -> int:
        """The FeatureSpec vocab_size (sequences count the padding id)."""
        n = len(self.vocabulary or [])
        return n + 1 if self.sequence else max(n, 1)

    @property
    def oov_id(self) -> int:
        """The id given to unseen, rare and missing values: the first OOV bucket."""
        return self.vocab_size

    def _index(self, tokens: pa.Array) -> np.ndarray:
        if self._lookup is None:
            self._lookup = pa.array(self.vocabulary or [], pa.string())
        idx = pc.index_in(tokens, value_set=self._lookup).fill_null(-1)
        return idx.to_numpy(zero_copy_only=False).astype(np.int64)

    def encode(self, arr: pa.Array) -> dict[str, np.ndarray]:
        """Ids ``[n, 1]`` (categorical) or ``[n, max_len]`` (sequence) as int64."""
        if not self.sequence:
            ids = self._index(as_string(arr))
            return {self.name: np.where(ids < 0, self.oov_id, ids).reshape(-1, 1)}
        tokens, lengths = split_tokens(arr, self.separator)
        ids = self._index(tokens)
        ids = np.where(ids < 0, self.oov_id, ids + 1)
        empty = pc.equal(tokens, "").to_numpy(zero_copy_only=False) if len(tokens) else np.zeros(0, bool)
        ids = np.where(empty, 0, ids)
        return {self.name: pad_rows(ids, lengths, self.max_len)}

    def specs(self) -> list[FeatureSpec]:
        """The model input this encoder produces."""
        extra = {"max_len": self.max_len, "pooling": self.pooling} if self.sequence else {}
        return [FeatureSpec(self.name, self.kind, vocab_size=self.vocab_size, num_oov=self.num_oov,
                            embedding_dim=self.embedding_dim, **extra)]

    def to_dict(self) -> dict[str, Any]:
        """Config plus the fitted vocabulary."""
        out = {"name": self.name, "kind": self.kind, "column": self.column, "min_count": self.min_count,
               "num_oov": self.num_oov, "embedding_dim": self.embedding_dim, "vocabulary": self.vocabulary}
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.sequence:
            out.update(separator=self.separator, max_len=self.max_len, pooling=self.pooling)
        return out


def make_encoder(cfg: dict, min_count: int = 1) -> DenseEncoder | VocabEncoder:
    """The encoder for one feature config (``kind``: dense, categorical or sequence)."""
    if not isinstance(cfg, dict) or "name" not in cfg:
        raise SpecError(f"feature config must be a mapping with a 'name', got {cfg!r}")
    kind = cfg.get("kind", "dense")
    if kind == "dense":
        return DenseEncoder(cfg)
    if kind in ("categorical", "sequence"):
        return VocabEncoder(cfg, min_count)
    raise SpecError(f"feature {cfg['name']!r}: kind must be dense, categorical or sequence, got {kind!r}")
