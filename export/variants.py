"""Reduced-precision ONNX variants: fp16 weights/compute (float32 I/O) and int8 dynamic quantization."""

from __future__ import annotations

import os
from pathlib import Path

PRECISIONS = ("float32", "fp16")
QUANTIZATIONS = ("int8",)


def variant_label(precision: str = "float32", quantize: str | None = None) -> str:
    """``"float32"``, ``"fp16"`` or ``"int8"``; refuses unknown values and combining both."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZATIONS)}, got {quantize!r}")
    if quantize and precision != "float32":
        raise ValueError("choose either --precision fp16 or --quantize int8, not both")
    return quantize or precision


def topological_sort(graph) -> None:
    """Reorder ``graph.node`` so every node comes after the producers of its inputs."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError(f"ONNX graph has a cycle or a missing input at node {rest[0].name!r}")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def to_fp16(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Float16 weights and compute; inputs and outputs stay float32 (cast at the graph edges)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    topological_sort(proto.graph)  # the converter appends its input casts at the end
    onnx.save(proto, str(dst))


def to_int8(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """ONNX Runtime dynamic quantization: int8 weights, activations quantized per batch at run time."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its "consider pre-processing" advice goes to the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


def make_variant(src: str | os.PathLike, dst: str | os.PathLike, label: str) -> None:
    """Write the ``label`` variant of the float32 model ``src`` to ``dst``, keeping names and metadata."""
    import onnx

    from export.onnx_export import name_batch_axis, set_metadata

    builders = {"fp16": to_fp16, "int8": to_int8}
    if label not in builders:
        raise ValueError(f"unknown variant {label!r} (valid: {', '.join(builders)})")
    source = onnx.load(str(src))
    builders[label](src, dst)
    proto = onnx.load(str(dst))
    props = {p.key: p.value for p in source.metadata_props}
    props["precision"] = label
    set_metadata(proto, props)
    name_batch_axis(proto)
    proto.graph.name = source.graph.name
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(Path(dst)))
