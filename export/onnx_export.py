"""Keras zoo model -> ONNX (Keras' tf2onnx path) with feature/task names, a ``batch`` axis and metadata."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

from export import ExportReport
from export.atomic import atomic_path, size_of

BATCH = "batch"


def metadata(model) -> dict[str, str]:
    """The ``metadata_props`` of an exported model: zoo version, model name, specs and hparams as JSON."""
    import zoo

    return {
        "mtlzoo_version": zoo.__version__,
        "model_name": model.name,
        "architecture": str(getattr(model, "architecture", model.name)),
        "feature_specs": json.dumps([f.to_dict() for f in model.feature_specs]),
        "task_specs": json.dumps([t.to_dict() for t in model.task_specs]),
        "hparams": json.dumps(getattr(model, "hparams", {}), default=list),
        "precision": "float32",
    }


def set_metadata(proto, props: dict[str, str]) -> None:
    """Replace the model's ``metadata_props`` by ``props``."""
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def name_batch_axis(proto) -> None:
    """Rename the symbolic leading axis of every graph input and output (and value_info) to ``batch``."""
    graph = proto.graph
    batch_params: set[str] = set()
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            if dims[0].dim_param:
                batch_params.add(dims[0].dim_param)
            dims[0].dim_param = BATCH
    for value in graph.value_info:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in batch_params:
                dim.dim_param = BATCH


def _check_names(proto, model) -> None:
    inputs = sorted(i.name for i in proto.graph.input)
    outputs = sorted(o.name for o in proto.graph.output)
    features = sorted(f.name for f in model.feature_specs)
    tasks = sorted(t.name for t in model.task_specs)
    if inputs != features:
        raise ValueError(f"ONNX export: graph inputs {inputs} differ from the feature names {features}")
    if outputs != tasks:
        raise ValueError(f"ONNX export: graph outputs {outputs} differ from the task names {tasks}")


def _input_signature(model) -> list[dict]:
    import tensorflow as tf

    return [
        {f.name: tf.TensorSpec((None, *f.input_shape), f.dtype, name=f.name) for f in model.feature_specs}
    ]


def require_zoo_model(model) -> None:
    """Refuse objects that are not zoo models (no feature/task specs)."""
    if not getattr(model, "feature_specs", None) or not getattr(model, "task_specs", None):
        raise ValueError(f"{type(model).__name__}: not a zoo model (it has no feature/task specs)")


def convert(model, path: str | os.PathLike, opset: int | None = None) -> None:
    """Write the float32 ONNX graph of ``model`` to ``path`` (checked, not yet verified)."""
    import onnx

    from export.verify import edge_case_inputs

    require_zoo_model(model)
    model(edge_case_inputs(model, 2), training=False)  # Keras' exporter needs a called model
    with tempfile.TemporaryDirectory(prefix="mtlzoo-onnx-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            model.export(
                str(raw), format="onnx", input_signature=_input_signature(model), opset_version=opset, verbose=False
            )
        proto = onnx.load(str(raw))
    _check_names(proto, model)
    name_batch_axis(proto)
    proto.graph.name = model.name
    set_metadata(proto, metadata(model))
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


def to_onnx(
    model,
    path: str | os.PathLike,
    opset: int | None = None,
    precision: str = "float32",
    quantize: str | None = None,
    atol: float = 1e-5,
) -> ExportReport:
    """Export, verify parity (float32) or measure error (fp16/int8), then move into ``path``."""
    from export.variants import make_variant, variant_label
    from export.verify import ParityError, edge_case_inputs, measure, typical_batches, verify

    label = variant_label(precision, quantize)
    require_zoo_model(model)
    edge_errors = None
    with atomic_path(path, "file") as staged:
        if label == "float32":
            convert(model, staged, opset)
            errors = verify(model, staged, atol=atol)
        else:
            reference = staged.with_name("float32.onnx")
            convert(model, reference, opset)
            verify(model, reference, atol=atol)
            make_variant(reference, staged, label)
            reference.unlink()
            errors = measure(model, staged, typical_batches(model))
            edge_errors = measure(model, staged, [edge_case_inputs(model)])
            bad = [k for k, v in {**edge_errors, **errors}.items() if not v < float("inf")]
            if bad:
                raise ParityError(f"output {bad[0]!r}: the {label} variant produces non-finite values")
        size = size_of(staged)
    return ExportReport(str(Path(path).absolute()), "onnx", errors, size, label, edge_errors)
