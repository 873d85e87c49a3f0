"""``mtlzoo predict``: run an exported ONNX model on a CSV, Parquet or JSONL file with ONNX Runtime."""

from __future__ import annotations

import sys

HELP = "Predict with an exported ONNX model on a CSV/Parquet/JSONL table; writes one column per task output."


def add_arguments(parser) -> None:
    """MODEL.onnx, --input, --output, --max-batch."""
    parser.add_argument("model", metavar="MODEL.onnx", help="an ONNX model written by mtlzoo export")
    parser.add_argument("--input", required=True, metavar="FILE", help="features table (.csv, .parquet, .jsonl)")
    parser.add_argument("--output", required=True, metavar="FILE", help="predictions table (.csv, .parquet, .jsonl)")
    parser.add_argument("--max-batch", type=int, default=4096, help="rows per ONNX Runtime call (default: 4096)")


def run(args) -> int:
    """Read, validate, predict, write (nothing is written when any step fails)."""
    from export.inputs import output_columns, read_table, table_format, write_table
    from export.runtime import Predictor

    table_format(args.output)  # refuse an unknown output format before doing any work
    predictor = Predictor(args.model, max_batch=args.max_batch)
    table = read_table(args.input)
    outputs = predictor(table)
    write_table(output_columns(outputs), args.output)
    print(f"wrote {len(table)} rows x {', '.join(predictor.output_names)} to {args.output}", file=sys.stderr)
    return 0
