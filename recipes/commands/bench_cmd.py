"""``mtlzoo bench``: latency and throughput of an exported ONNX model under the Predictor."""

from __future__ import annotations

import time

import numpy as np

from recipes.errors import UsageError

HELP = "Benchmark an ONNX model with the Predictor: batch-1 latency p50/p99 and throughput at larger batches."


def add_arguments(parser) -> None:
    """MODEL.onnx, --batch-sizes, --seconds."""
    parser.add_argument("model", metavar="MODEL.onnx", help="an ONNX model written by mtlzoo export")
    parser.add_argument("--batch-sizes", default="1,1024", help="comma-separated batch sizes (default: 1,1024)")
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per batch size (default: 2)")


def parse_sizes(text: str) -> list[int]:
    """Batch sizes from ``"1,64,1024"``; each must be a positive integer."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--batch-sizes: expected integers like 1,64,1024, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise UsageError(f"--batch-sizes: expected positive integers, got {text!r}")
    return sizes


def measure(predict, inputs, seconds: float) -> np.ndarray:
    """Per-call latencies in seconds, after a short warm-up, for about ``seconds`` of wall time."""
    for _ in range(10):
        predict(inputs)
    times = []
    end = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        predict(inputs)
        stop = time.perf_counter()
        times.append(stop - start)
        if stop >= end and len(times) >= 5:
            return np.asarray(times)


def run(args) -> int:
    """Print one row per batch size: p50/p99 latency and rows per second."""
    from export.runtime import Predictor

    sizes = parse_sizes(args.batch_sizes)
    if args.seconds <= 0:
        raise UsageError("--seconds must be > 0")
    predictor = Predictor(args.model, max_batch=max(sizes))
    print(f"model {args.model} on {predictor.providers[0]}")
    print(f"{'batch':>7} {'p50 ms':>10} {'p99 ms':>10} {'rows/s':>12} {'calls':>8}")
    for n in sizes:
        times = measure(predictor, predictor.example_inputs(n), args.seconds)
        p50, p99 = np.percentile(times, [50, 99]) * 1e3
        print(f"{n:>7} {p50:>10.4f} {p99:>10.4f} {n / np.median(times):>12.0f} {len(times):>8}")
    return 0
