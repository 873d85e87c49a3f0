"""Triton Inference Server layout: ``repo/<name>/config.pbtxt`` and ``repo/<name>/1/model.onnx``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from export import ExportReport
from export.atomic import atomic_path, size_of

_TRITON_TYPES = {1: "TYPE_FP32", 7: "TYPE_INT64", 6: "TYPE_INT32", 10: "TYPE_FP16", 11: "TYPE_FP64"}
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _tensor_entries(values) -> str:
    entries = []
    for v in values:
        tensor = v.type.tensor_type
        if tensor.elem_type not in _TRITON_TYPES:
            raise ValueError(f"tensor {v.name!r}: ONNX element type {tensor.elem_type} has no Triton type here")
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim[1:]]
        entries.append(
            "  {\n"
            f'    name: "{v.name}"\n'
            f"    data_type: {_TRITON_TYPES[tensor.elem_type]}\n"
            f"    dims: [ {', '.join(str(d) for d in dims)} ]\n"
            "  }"
        )
    return ",\n".join(entries)


def config_pbtxt(onnx_path: str | os.PathLike, name: str, max_batch: int) -> str:
    """The ``config.pbtxt`` text for an ONNX model: inputs, outputs, dims (batch excluded), dynamic batching."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    preferred = [s for s in (8, 64, 256, 1024) if s <= max_batch] or [max_batch]
    return (
        f'name: "{name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {max_batch}\n"
        f"input [\n{_tensor_entries(graph.input)}\n]\n"
        f"output [\n{_tensor_entries(graph.output)}\n]\n"
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {', '.join(str(s) for s in preferred)} ]\n"
        "  max_queue_delay_microseconds: 100\n"
        "}\n"
    )


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
    """Write ``repo/<name>/`` atomically: a verified ONNX model as version 1 plus its config."""
    from export.onnx_export import to_onnx

    name = name or model.name
    if not _NAME.match(name):
        raise ValueError(f"Triton model name {name!r} may only use letters, digits, '_', '.', '-'")
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise ValueError(f"max_batch must be an integer >= 1, got {max_batch!r}")
    target = Path(repo) / name
    with atomic_path(target, "dir") as staged:
        onnx_path = staged / "1" / "model.onnx"
        report = to_onnx(model, onnx_path, opset=opset, precision=precision, quantize=quantize, atol=atol)
        (staged / "config.pbtxt").write_text(config_pbtxt(onnx_path, name, max_batch))
        size = size_of(staged)
    return ExportReport(str(target.absolute()), "triton", report.errors, size, report.precision, report.edge_case_errors)
