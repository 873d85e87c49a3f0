"""Parity between a Keras zoo model and its exported artifact on random and edge-case inputs.

Error measure, per value: ``|artifact - keras| / max(1, |keras|, m)`` where ``m`` is the
largest float input magnitude in that row. For ordinary inputs and outputs (magnitude <= 1)
this is the plain absolute error; with large-magnitude inputs (1e4 on purpose among the edge
cases) float32 round-off grows with the magnitudes involved, so the error is taken relative
to them. Each output reports its largest such error; parity holds when it is <= ``atol``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

Arrays = dict[str, np.ndarray]

_INT64 = np.iinfo(np.int64)


class ParityError(ValueError):
    """An exported artifact disagrees with the Keras model; the message names the output."""


def _specs(model_or_specs) -> Sequence:
    return getattr(model_or_specs, "feature_specs", model_or_specs)


def random_inputs(model_or_specs, n: int = 32, seed: int = 0) -> Arrays:
    """Typical inputs: normal dense values and images, in-vocabulary ids, partly padded sequences."""
    rng = np.random.default_rng(seed)
    out: Arrays = {}
    for f in _specs(model_or_specs):
        shape = (n, *f.input_shape)
        if f.kind in ("dense", "image"):
            out[f.name] = rng.normal(size=shape).astype(np.float32)
        elif f.kind == "categorical":
            out[f.name] = rng.integers(0, f.vocab_size, size=shape, dtype=np.int64)
        else:
            ids = rng.integers(1, f.vocab_size, size=shape, dtype=np.int64)
            lengths = rng.integers(0, f.max_len + 1, size=(n, 1))
            out[f.name] = np.where(np.arange(f.max_len)[None, :] < lengths, ids, 0)
    return out


def _id_cases(vocab: int, sequence: bool) -> list[int]:
    """Ids at and beyond every vocabulary boundary, int64 extremes included."""
    low = 1 if sequence else 0
    return [low, vocab - 1, vocab, vocab + 1, -1, -vocab - 3, 2**31, -(2**31) - 1, _INT64.max, _INT64.min]


def edge_case_inputs(model_or_specs, n: int = 12) -> Arrays:
    """Rows that stress the graph: zeros, large magnitudes, OOV/negative ids, all-padding sequences."""
    out: Arrays = {}
    for f in _specs(model_or_specs):
        shape = (n, *f.input_shape)
        if f.kind in ("dense", "image"):
            # constant rows, then the same magnitudes with alternating signs
            scales = (0.0, 1e4, -1e4, 255.0, 1e-30, 1.0)
            alternating = np.where(np.arange(int(np.prod(f.input_shape))) % 2 == 0, 1.0, -1.0)
            alternating = alternating.reshape(f.input_shape)
            rows = [scales[i % len(scales)] * (alternating if (i // len(scales)) % 2 else 1.0) for i in range(n)]
            out[f.name] = np.stack([np.broadcast_to(r, f.input_shape) for r in rows]).astype(np.float32)
        elif f.kind == "categorical":
            cases = _id_cases(f.vocab_size, sequence=False)
            out[f.name] = np.array([cases[i % len(cases)] for i in range(n)], dtype=np.int64).reshape(shape)
        else:
            cases = _id_cases(f.vocab_size, sequence=True)
            ids = np.zeros(shape, dtype=np.int64)
            for i in range(n):
                pattern = i % 4
                if pattern == 0:
                    continue  # all padding
                if pattern == 1:
                    ids[i] = [cases[(i + j) % len(cases)] for j in range(f.max_len)]  # OOV mix, no padding
                elif pattern == 2:
                    ids[i, 0] = cases[i % len(cases)]  # one id then padding
                else:
                    ids[i] = np.arange(f.max_len) % (f.vocab_size - 1) + 1  # all in vocabulary
            out[f.name] = ids
    return out


def keras_outputs(model, inputs: Arrays) -> Arrays:
    """The Keras model's outputs as float32 numpy arrays keyed by task name."""
    outputs = model(dict(inputs), training=False)
    return {k: np.asarray(v, dtype=np.float32) for k, v in outputs.items()}


def _onnx_runner(path: Path) -> Callable[[Arrays], Arrays]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return lambda x: dict(zip(names, session.run(names, x), strict=True))


def _saved_model_runner(path: Path) -> Callable[[Arrays], Arrays]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if "serving_default" not in loaded.signatures:
        raise ParityError(f"{path}: the SavedModel has no serving_default signature")
    fn = loaded.signatures["serving_default"]
    return lambda x: {k: v.numpy() for k, v in fn(**{n: tf.constant(a) for n, a in x.items()}).items()}


def artifact_runner(artifact: str | os.PathLike) -> Callable[[Arrays], Arrays]:
    """A function running an ``.onnx`` file or a SavedModel directory on a dict of arrays."""
    path = Path(artifact)
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            versions = sorted((p for p in path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
            if not versions:
                raise ParityError(f"{path}: neither a SavedModel nor a TF Serving model directory")
            path = versions[-1]
        return _saved_model_runner(path)
    return _onnx_runner(path)


def row_magnitude(inputs: Arrays) -> np.ndarray:
    """Per row, ``max(1, largest |value|)`` over the float (dense and image) inputs."""
    n = len(next(iter(inputs.values())))
    scale = np.ones(n)
    for a in inputs.values():
        if np.issubdtype(a.dtype, np.floating) and a.size:
            scale = np.maximum(scale, np.abs(a.reshape(n, -1)).max(axis=1))
    return scale


def _errors(
    reference: Arrays, candidate: Arrays, magnitude: np.ndarray, atol: float | None, errors: dict[str, float]
) -> None:
    if set(candidate) != set(reference):
        raise ParityError(
            f"output names differ: artifact has {sorted(candidate)}, Keras model has {sorted(reference)}"
        )
    for name, ref in reference.items():
        got = np.asarray(candidate[name], dtype=np.float32)
        if got.shape != ref.shape:
            raise ParityError(f"output {name!r}: shape {got.shape} from the artifact, {ref.shape} from Keras")
        ref64 = ref.astype(np.float64)
        diff = np.abs(got.astype(np.float64) - ref64)
        diff = np.where(np.isnan(ref) & np.isnan(got), 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        scale = np.maximum(np.abs(np.nan_to_num(ref64)), magnitude.reshape((-1,) + (1,) * (ref.ndim - 1)))
        scaled = diff / scale
        worst = float(scaled.max()) if scaled.size else 0.0
        errors[name] = max(errors.get(name, 0.0), worst)
        if atol is not None and worst > atol:
            raise ParityError(
                f"output {name!r}: error {worst:.3g} exceeds tolerance {atol:g} "
                f"({int((scaled > atol).sum())} of {scaled.size} values; max abs difference {float(diff.max()):.3g})"
            )


def typical_batches(model, seed: int = 0) -> list[Arrays]:
    """A random batch and a single random row."""
    return [random_inputs(model, 32, seed), {k: v[:1] for k, v in random_inputs(model, 1, seed + 1).items()}]


def parity_batches(model, seed: int = 0) -> list[Arrays]:
    """The inputs every verification uses: edge cases, a random batch and a single row."""
    return [edge_case_inputs(model), *typical_batches(model, seed)]


def measure(model, artifact: str | os.PathLike, batches: list[Arrays], atol: float | None = None) -> dict[str, float]:
    """Per-output max error (see module doc) of ``artifact`` against ``model`` on these batches."""
    run = artifact_runner(artifact)
    errors: dict[str, float] = {}
    for batch in batches:
        _errors(keras_outputs(model, batch), run(batch), row_magnitude(batch), atol, errors)
    return errors


def verify(model, artifact: str | os.PathLike, atol: float | None = 1e-5, seed: int = 0) -> dict[str, float]:
    """Per-output max error (see module doc) of ``artifact`` against ``model``; ParityError beyond ``atol``.

    ``atol=None`` only measures.
    """
    return measure(model, artifact, parity_batches(model, seed), atol)
