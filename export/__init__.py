"""Export zoo models to SavedModel, ONNX and Triton, each write verified against Keras.

Importing this package loads neither TensorFlow nor Keras (``export.runtime`` must stay
light); the export functions import what they need when called.
"""

from __future__ import annotations

import dataclasses
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


# The implementations import TensorFlow, tf2onnx and onnx only inside their functions, so
# re-exporting them here keeps ``import export`` (and ``export.runtime``) light. They are
# imported after ExportReport, which they import from this package. ``export.verify`` ends up
# as the public function (the from-import rebinds the name after loading the submodule);
# ``sys.modules["export.verify"]`` is the module.
from export.onnx_export import to_onnx  # noqa: E402
from export.saved_model import to_saved_model  # noqa: E402
from export.triton import to_triton  # noqa: E402
from export.verify import edge_case_inputs, random_inputs, verify  # noqa: E402
