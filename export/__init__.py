"""Export zoo models to SavedModel, ONNX and Triton, each write verified against Keras.

Importing this package loads neither TensorFlow nor Keras (``export.runtime`` must stay
light); the functions below import what they need when called.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

__all__ = [
    "ExportReport", "edge_case_inputs", "random_inputs", "to_onnx", "to_saved_model", "to_triton", "verify",
]


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how far it is from the Keras model (measured, per output)."""

    path: str
    format: str
    errors: dict[str, float]
    size_bytes: int
    precision: str = "float32"
    #: fp16/int8 variants only: ``errors`` are measured on typical (random) inputs, these on the
    #: edge-case batch, where rows of magnitude 1e4 next to rows near 0 inflate int8's per-batch scales.
    edge_case_errors: dict[str, float] | None = None

    @property
    def max_error(self) -> float:
        """The largest per-output max abs error."""
        return max(self.errors.values(), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return dataclasses.asdict(self)


# ``export.verify`` is both a submodule and the public function below. Importing the submodule
# (numpy only) now, before the function is defined, keeps ``export.verify`` the function;
# ``from export.verify import ...`` keeps working through sys.modules.
import export.verify as _verify_module  # noqa: E402,F401


def to_saved_model(model, directory: str | os.PathLike, version: int = 1, atol: float = 1e-5) -> ExportReport:
    """Write a TF Serving layout ``directory/<version>/`` with a verified ``serving_default``."""
    from export.saved_model import to_saved_model as impl

    return impl(model, directory, version=version, atol=atol)


def to_onnx(
    model,
    path: str | os.PathLike,
    opset: int | None = None,
    precision: str = "float32",
    quantize: str | None = None,
    atol: float = 1e-5,
) -> ExportReport:
    """Write a verified ONNX file; ``precision="fp16"`` or ``quantize="int8"`` write a measured variant."""
    from export.onnx_export import to_onnx as impl

    return impl(model, path, opset=opset, precision=precision, quantize=quantize, atol=atol)


def to_triton(
    model,
    repo: str | os.PathLike,
    name: str | None = None,
    max_batch: int = 1024,
    opset: int | None = None,
    precision: str = "float32",
    quantize: str | None = None,
    atol: float = 1e-5,
) -> ExportReport:
    """Write a Triton model repository entry ``repo/<name>/`` (config.pbtxt + 1/model.onnx)."""
    from export.triton import to_triton as impl

    return impl(
        model, repo, name=name, max_batch=max_batch, opset=opset, precision=precision, quantize=quantize, atol=atol
    )


def verify(model, artifact: str | os.PathLike, atol: float | None = 1e-5) -> dict[str, float]:
    """Per-output max abs error of an ``.onnx`` file or SavedModel dir; ParityError beyond ``atol``."""
    from export.verify import verify as impl

    return impl(model, artifact, atol=atol)


def edge_case_inputs(model, n: int = 12) -> dict:
    """Edge-case inputs for a model: zeros, large magnitudes, OOV/negative ids, all-padding rows."""
    from export.verify import edge_case_inputs as impl

    return impl(model, n)


def random_inputs(model, n: int = 32, seed: int = 0) -> dict:
    """Typical random inputs for a model, with its feature names, shapes and dtypes."""
    from export.verify import random_inputs as impl

    return impl(model, n, seed)
