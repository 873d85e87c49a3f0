"""``mtlzoo export``: a zoo model to a verified ONNX file, SavedModel or Triton repository."""

from __future__ import annotations

import json

from recipes.errors import UsageError

HELP = "Export a .keras zoo model (or pretrained name) to ONNX, SavedModel or a Triton repository, verified."

FORMATS = ("onnx", "saved_model", "triton")


def add_arguments(parser) -> None:
    """MODEL, --format, --output and the variant options."""
    parser.add_argument("model", metavar="MODEL", help="a .keras zoo model file (or a pretrained name)")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="artifact format (default: onnx)")
    parser.add_argument("--output", required=True, metavar="PATH",
                        help="the .onnx file, the SavedModel base directory (<PATH>/<version>/) or the Triton repository")
    parser.add_argument("--precision", choices=("float32", "fp16"), default="float32",
                        help="fp16: float16 weights and compute, float32 inputs/outputs (onnx, triton)")
    parser.add_argument("--quantize", choices=("int8",), default=None,
                        help="int8: ONNX Runtime dynamic quantization (onnx, triton)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the converter's)")
    parser.add_argument("--version", type=int, default=1, help="SavedModel version directory (default: 1)")
    parser.add_argument("--name", default=None, help="Triton model name (default: the model's name)")
    parser.add_argument("--max-batch", type=int, default=1024, help="Triton max_batch_size (default: 1024)")
    parser.add_argument("--raw-inputs", action="store_true",
                        help="onnx only: a graph taking the RAW columns (strings, raw numbers) with the fitted "
                             "preprocessing (vocabularies as LabelEncoder nodes, normalisation) in front")
    parser.add_argument("--preprocessing", metavar="FILE",
                        help="the run's preprocessing.json (default: next to MODEL)")
    parser.add_argument("--json", action="store_true", help="print the export report as JSON")


def load_model(spec: str):
    """A zoo model from a ``.keras`` path (or a pretrained name when the registry supports it)."""
    from zoo import registry

    loader = getattr(registry, "load", None) or registry.load_file
    return loader(spec)


def _preprocessing(args) -> dict:
    """The fitted preprocessing of a run: --preprocessing, else preprocessing.json beside MODEL."""
    from pathlib import Path

    path = Path(args.preprocessing) if args.preprocessing else Path(args.model).parent / "preprocessing.json"
    if not path.is_file():
        raise UsageError(f"--raw-inputs needs the run's preprocessing.json (not found: {path}); "
                         "only models trained from a tabular source have one")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON ({e})") from None


def _export(model, args):
    import export

    if args.raw_inputs:
        if args.format != "onnx" or args.precision != "float32" or args.quantize:
            raise UsageError("--raw-inputs applies to float32 onnx exports only")
        from export.raw_inputs import to_onnx_raw

        return to_onnx_raw(model, _preprocessing(args), args.output)

    variant = args.precision != "float32" or args.quantize
    if args.format == "saved_model":
        if variant or args.opset is not None:
            raise UsageError("--precision, --quantize and --opset apply to onnx and triton exports only")
        return export.to_saved_model(model, args.output, version=args.version)
    if args.format == "onnx":
        return export.to_onnx(model, args.output, opset=args.opset, precision=args.precision, quantize=args.quantize)
    return export.to_triton(model, args.output, name=args.name, max_batch=args.max_batch, opset=args.opset,
                            precision=args.precision, quantize=args.quantize)


def run(args) -> int:
    """Load, export, verify, print the report."""
    if args.precision != "float32" and args.quantize:
        raise UsageError("choose either --precision fp16 or --quantize int8, not both")
    model = load_model(args.model)
    report = _export(model, args)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0
    print(f"wrote {report.format} ({report.precision}, {report.size_bytes / 1024:.1f} KiB): {report.path}")
    if report.precision == "float32":
        for name, err in report.errors.items():
            print(f"  parity {name:<20} max error {err:.3g} (verified <= 1e-5)")
        return 0
    print(f"  measured {report.precision} error vs the float32 Keras model (typical inputs / edge cases):")
    for name, err in report.errors.items():
        edge = (report.edge_case_errors or {}).get(name, float("nan"))
        print(f"  {name:<20} {err:.3g} / {edge:.3g}")
    return 0
