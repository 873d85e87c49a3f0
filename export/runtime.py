"""ONNX Runtime predictor for exported zoo models: numpy and onnxruntime only (no TensorFlow, no Keras).

Input rules (every error is one line naming the feature):

- ``inputs`` is a dict of arrays, a pandas DataFrame, or a list of records (dicts).
  A dict or a record must hold exactly the model's features (missing or unknown keys are
  errors). A DataFrame may carry extra columns (ids, labels); they are ignored.
- Shapes are ``[batch, *feature_shape]``. A 1-D array is accepted for width-1 features.
  In a DataFrame or records, a feature is one column whose cells are scalars or lists
  (sequences shorter than ``max_len`` are right-padded with 0, the padding id), or the
  columns ``<name>_0 .. <name>_<d-1>``.
- Dtypes: float inputs (dense, image) accept any float or integer dtype and are cast to
  float32; NaN passes through unchanged (the model decides what NaN yields, usually NaN).
  Id inputs accept any integer dtype (cast to int64) and floats holding whole numbers
  (what pandas makes of an int column with gaps); a fractional, NaN or infinite id is an
  error. Text or booleans are errors. Out-of-vocabulary ids are valid: the graph buckets them.
- Zero rows is an error. Batches larger than ``max_batch`` are split and concatenated.

A Predictor holds no mutable state after construction, so one instance may serve many
threads (``InferenceSession.run`` is thread-safe).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import numpy as np
import onnxruntime as ort

Arrays = dict[str, np.ndarray]

_ORT_DTYPES = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(double)": np.dtype(np.float64),
    "tensor(float16)": np.dtype(np.float16),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32),
}


class InputError(ValueError):
    """Bad prediction input; the message is one line and names the offending feature."""


class _Input:
    """How one graph input is checked and coerced: name, dtype and the shape after the batch axis."""

    __slots__ = ("name", "dtype", "tail", "ndim", "is_float", "width")

    def __init__(self, name: str, dtype: np.dtype, tail: tuple):
        self.name = name
        self.dtype = dtype
        self.tail = tail  # ints, or None for a symbolic non-batch axis
        self.ndim = len(tail) + 1
        self.is_float = dtype.kind == "f"
        self.width = int(np.prod(tail)) if all(isinstance(d, int) for d in tail) else None

    def shape_text(self) -> str:
        return "[batch" + "".join(f", {d if d is not None else '?'}" for d in self.tail) + "]"

    def coerce(self, value) -> np.ndarray:
        """Any accepted array-like -> an array of the graph dtype and shape (or InputError)."""
        a = self._numeric(_as_array(value, self))
        if a.ndim == 1 and self.tail == (1,):
            a = a.reshape(-1, 1)
        if a.ndim != self.ndim or any(d is not None and d != s for d, s in zip(self.tail, a.shape[1:], strict=True)):
            shape = "[" + ", ".join(str(s) for s in a.shape) + "]"
            raise InputError(f"feature {self.name!r}: expected shape {self.shape_text()}, got {shape}")
        return np.ascontiguousarray(a)

    def _numeric(self, a: np.ndarray) -> np.ndarray:
        if a.dtype.kind == "O":
            a = np.array(a.tolist())  # let numpy infer: ints, floats, or text
        if a.dtype.kind in "OUSV":
            raise InputError(f"feature {self.name!r}: expected numbers, got {_first_non_number(a)}")
        if a.dtype.kind == "b":
            raise InputError(f"feature {self.name!r}: expected numbers, got booleans")
        if self.is_float:
            if a.dtype.kind not in "fiu":
                raise InputError(f"feature {self.name!r}: expected numbers, got dtype {a.dtype}")
            return a.astype(self.dtype, copy=False)
        if a.dtype.kind == "f":
            if not np.isfinite(a).all():
                raise InputError(f"feature {self.name!r}: ids must be integers, got NaN or infinity")
            if (a != np.round(a)).any():
                bad = a[a != np.round(a)].flat[0].item()
                raise InputError(f"feature {self.name!r}: ids must be integers, got {bad!r}")
        elif a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
            raise InputError(f"feature {self.name!r}: id beyond the int64 range")
        elif a.dtype.kind not in "iu":
            raise InputError(f"feature {self.name!r}: expected integer ids, got dtype {a.dtype}")
        return a.astype(self.dtype, copy=False)


def _first_non_number(a: np.ndarray) -> str:
    """A short description of the first value that is not a number."""
    for v in a.reshape(-1).tolist():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            text = repr(v)
            return f"text {text[:40]}" if isinstance(v, (str, bytes)) else f"non-numeric value {text[:40]}"
    return f"dtype {a.dtype}"


def _pad_cells(cells: list, spec: _Input) -> np.ndarray:
    """Stack list-like cells; shorter id sequences are right-padded with 0."""
    arrays = [np.asarray(c) for c in cells]
    if spec.ndim == 2 and not spec.is_float and spec.tail[0] is not None:
        width = spec.tail[0]
        out = np.zeros((len(arrays), width), dtype=object)  # dtype inferred later, text included
        for i, a in enumerate(arrays):
            flat = a.reshape(-1)
            if flat.size > width:
                raise InputError(f"feature {spec.name!r}: row {i} has {flat.size} ids, more than max_len {width}")
            out[i, : flat.size] = flat
        return out
    try:
        return np.stack(arrays)
    except ValueError:
        raise InputError(f"feature {spec.name!r}: rows have different shapes; expected {spec.shape_text()}") from None


def _as_array(value, spec: _Input) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind != "O":
        return value
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.dtype.kind == "O"):
        cells = list(value)
        if cells and all(isinstance(c, (list, tuple, np.ndarray)) for c in cells):
            return _pad_cells(cells, spec)
    try:
        return np.asarray(value)
    except ValueError:
        raise InputError(f"feature {spec.name!r}: rows have different shapes; expected {spec.shape_text()}") from None


def _cuda_session(path: str, options: ort.SessionOptions) -> ort.InferenceSession | None:
    """A session on CUDA if the provider is installed and really loads, else None."""
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    # A CUDA provider that fails to load logs through ORT's process-wide logger, which session
    # options do not reach: silence it for this attempt, then restore ORT's default (warnings).
    ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(path, options, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - any failure to load CUDA means: use the CPU
        return None
    finally:
        ort.set_default_logger_severity(2)
    return session if session.get_providers()[0] == "CUDAExecutionProvider" else None


def _open_session(path: str, providers, threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no provider fallback warnings
    if threads:
        options.intra_op_num_threads = int(threads)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        if providers == "auto":
            session = _cuda_session(path, options)
            if session is not None:
                return session
            providers = ["CPUExecutionProvider"]
        elif providers == "cpu":
            providers = ["CPUExecutionProvider"]
        elif providers == "cuda":
            providers = ["CUDAExecutionProvider"]
        session = ort.InferenceSession(path, options, providers=list(providers))
    except Exception as e:  # noqa: BLE001 - ORT load errors (InvalidProtobuf, Fail, ...) derive from Exception
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path}: not a loadable ONNX model ({first[:200]})") from None
    if providers == ["CUDAExecutionProvider"] and session.get_providers()[0] != "CUDAExecutionProvider":
        raise ValueError(f"{path}: the CUDA execution provider did not load on this machine")
    return session


def _spec_order(items: list, specs: list[dict] | None) -> list:
    """``items`` (names or objects with ``.name``) in the order of the model's specs, when they match."""
    names = [getattr(i, "name", i) for i in items]
    order = [s.get("name") for s in specs or []]
    if sorted(names) != sorted(order):
        return items
    return sorted(items, key=lambda i: order.index(getattr(i, "name", i)))


class Predictor:
    """Runs an exported zoo ONNX model on dicts of arrays, DataFrames or records; returns dict of arrays."""

    def __init__(self, path: str | os.PathLike, providers="auto", max_batch: int = 4096,
                 threads: int | None = None):
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be an integer >= 1, got {max_batch!r}")
        self.path = os.fspath(path)
        self.max_batch = max_batch
        self._session = _open_session(self.path, providers, threads)
        self.providers: tuple[str, ...] = tuple(self._session.get_providers())
        meta = self._session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, str] = dict(meta)
        self.feature_specs: list[dict] | None = json.loads(meta["feature_specs"]) if "feature_specs" in meta else None
        self.task_specs: list[dict] | None = json.loads(meta["task_specs"]) if "task_specs" in meta else None
        inputs = _spec_order([self._plan(i) for i in self._session.get_inputs()], self.feature_specs)
        self._inputs: tuple[_Input, ...] = tuple(inputs)
        self.input_names: tuple[str, ...] = tuple(i.name for i in self._inputs)
        self._names = frozenset(self.input_names)
        outputs = _spec_order([o.name for o in self._session.get_outputs()], self.task_specs)
        self.output_names: tuple[str, ...] = tuple(outputs)
        self._output_list = list(self.output_names)

    @property
    def session(self) -> ort.InferenceSession:
        """The underlying ONNX Runtime session (shared; ``run`` is thread-safe)."""
        return self._session

    def _plan(self, node) -> _Input:
        if node.type not in _ORT_DTYPES:
            raise ValueError(f"{self.path}: input {node.name!r} has unsupported type {node.type}")
        tail = tuple(d if isinstance(d, int) else None for d in node.shape[1:])
        return _Input(node.name, _ORT_DTYPES[node.type], tail)

    # ------------------------------------------------------------------ input
    def _names_error(self, given) -> InputError:
        missing = [n for n in self.input_names if n not in given]
        if missing:
            return InputError(f"missing feature {missing[0]!r} (the model needs: {', '.join(self.input_names)})")
        extra = sorted(str(k) for k in given if k not in self._names)
        return InputError(f"unknown feature {extra[0]!r} (the model needs: {', '.join(self.input_names)})")

    def _from_dict(self, inputs: Mapping) -> Arrays:
        if inputs.keys() != self._names:
            raise self._names_error(inputs)
        feed = {}
        for spec in self._inputs:
            a = inputs[spec.name]
            if type(a) is not np.ndarray or a.dtype != spec.dtype or a.shape[1:] != spec.tail:
                a = spec.coerce(a)
            feed[spec.name] = a
        return feed

    def _from_frame(self, frame) -> Arrays:
        columns = set(frame.columns)
        feed = {}
        for spec in self._inputs:
            if spec.name in columns:
                feed[spec.name] = spec.coerce(frame[spec.name].to_numpy())
                continue
            split = [f"{spec.name}_{i}" for i in range(spec.width or 0)]
            if split and all(c in columns for c in split):
                feed[spec.name] = spec.coerce(frame[split].to_numpy().reshape((len(frame), *spec.tail)))
                continue
            hint = f" (or columns {split[0]} .. {split[-1]})" if len(split) > 1 else ""
            raise InputError(f"missing feature {spec.name!r}: no column {spec.name!r}{hint}")
        return feed

    def _from_records(self, records: Sequence[Mapping]) -> Arrays:
        columns: dict[str, list] = {n: [] for n in self.input_names}
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InputError(f"record {i}: expected a mapping of feature -> value, got {type(record).__name__}")
            if record.keys() != self._names:
                raise InputError(f"record {i}: {self._names_error(record)}")
            for name in self.input_names:
                columns[name].append(record[name])
        return {spec.name: spec.coerce(columns[spec.name]) for spec in self._inputs}

    def _feed(self, inputs) -> tuple[Arrays, int]:
        """The validated feed and its number of rows."""
        if type(inputs) is dict or isinstance(inputs, Mapping):
            feed = self._from_dict(inputs)
        elif hasattr(inputs, "columns") and hasattr(inputs, "iloc"):
            feed = self._from_frame(inputs)
        elif isinstance(inputs, (list, tuple)):
            feed = self._from_records(inputs)
        else:
            raise InputError(
                f"inputs must be a dict of arrays, a DataFrame or a list of records, not {type(inputs).__name__}"
            )
        n = -1
        for a in feed.values():
            if n != len(a):
                if n != -1:
                    sizes = ", ".join(f"{k}={len(v)}" for k, v in feed.items())
                    raise InputError(f"features have different numbers of rows ({sizes})")
                n = len(a)
        if n <= 0:
            raise InputError("empty input: no rows to predict")
        return feed, n

    def prepare(self, inputs) -> Arrays:
        """Validate and coerce ``inputs`` into the exact feed the ONNX graph takes."""
        return self._feed(inputs)[0]

    # ----------------------------------------------------------------- output
    def __call__(self, inputs) -> Arrays:
        """Predict: ``{task: array}`` for a dict of arrays, a DataFrame or a list of records."""
        feed, n = self._feed(inputs)
        if n <= self.max_batch:
            return dict(zip(self.output_names, self._session.run(self._output_list, feed), strict=True))
        parts = [
            self._session.run(self._output_list, {k: v[i : i + self.max_batch] for k, v in feed.items()})
            for i in range(0, n, self.max_batch)
        ]
        return {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(self.output_names)}

    predict = __call__

    def example_inputs(self, n: int, seed: int = 0) -> Arrays:
        """Synthetic valid inputs of ``n`` rows (ids drawn inside each feature's vocabulary when known)."""
        rng = np.random.default_rng(seed)
        vocab = {f["name"]: f.get("vocab_size") or len(f.get("vocabulary") or ()) for f in self.feature_specs or []}
        out: Arrays = {}
        for spec in self._inputs:
            shape = (n, *(d if d is not None else 1 for d in spec.tail))
            if spec.is_float:
                out[spec.name] = rng.normal(size=shape).astype(spec.dtype)
            else:
                high = max(2, int(vocab.get(spec.name) or 2))
                out[spec.name] = rng.integers(0, high, size=shape).astype(spec.dtype)
        return out
