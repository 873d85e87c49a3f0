"""Keras zoo model -> TensorFlow SavedModel in the TF Serving layout ``dir/<version>/``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from export import ExportReport
from export.atomic import atomic_path, size_of

SIGNATURE = "serving_default"
#: tf.function sanitises other argument names (``a.b`` -> ``a_b``, leading ``_`` fails outright)
_SIGNATURE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
METADATA_FILE = "assets.extra/mtlzoo.json"


def write(model, directory: str | os.PathLike) -> None:
    """Write a SavedModel whose ``serving_default`` maps named feature inputs to named float32 task outputs."""
    import keras
    import tensorflow as tf

    from export.onnx_export import metadata, require_zoo_model

    require_zoo_model(model)
    for f in model.feature_specs:
        if not _SIGNATURE_NAME.match(f.name):
            raise ValueError(
                f"feature {f.name!r}: a SavedModel signature would rename this input; SavedModel needs "
                "feature names of letters, digits and '_' starting with a letter (ONNX has no such limit)"
            )
    signature = [
        {f.name: tf.TensorSpec((None, *f.input_shape), f.dtype, name=f.name) for f in model.feature_specs}
    ]

    def serve(features):
        outputs = model(features, training=False)
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, serve, input_signature=signature)
    archive.write_out(str(directory), verbose=False)
    extra = Path(directory) / METADATA_FILE
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text(json.dumps(metadata(model), indent=2))


def to_saved_model(model, directory: str | os.PathLike, version: int = 1, atol: float = 1e-5) -> ExportReport:
    """Export to ``directory/<version>/``, verify parity, then move it into place."""
    from export.verify import verify

    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"version must be an integer >= 0, got {version!r}")
    target = Path(directory) / str(version)
    with atomic_path(target, "dir") as staged:
        write(model, staged)
        errors = verify(model, staged, atol=atol)
        size = size_of(staged)
    return ExportReport(str(target.absolute()), "saved_model", errors, size, "float32")
