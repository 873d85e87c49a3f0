"""Inference latency of one MMoE four ways: Keras, the SavedModel signature, raw ONNX Runtime, the Predictor.

Usage: ``.venv/bin/python benchmarks/inference.py [--rounds 20] [--block-ms 25]``

The model is the ``mmoe_synthetic`` recipe's architecture (one dense feature ``x`` of width
``d``, regression tasks ``y1``/``y2``; experts and towers from the recipe), freshly initialised:
latency does not depend on the weights. Both artifacts are exported and verified first. Each
method runs in blocks of about ``block-ms``; methods are interleaved round by round (order reversed every other round) and the best
(lowest) per-call time over rounds is reported, as ``timeit`` does: other processes on a
shared machine only ever add time. The SavedModel is called with ready-made
``tf.Tensor`` inputs and its outputs are not converted to numpy (the cheapest way to call it);
the Predictor and raw ONNX Runtime take and return numpy arrays, and share one session
(two sessions would each keep a spinning thread pool and slow each other down).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

BATCHES = (1, 64, 1024)


def recipe_model():
    """The MMoE of recipes/mmoe_synthetic.yaml (feature ``x`` of width d, tasks y1, y2)."""
    import yaml

    import zoo

    recipe = yaml.safe_load((Path(__file__).resolve().parents[1] / "recipes" / "mmoe_synthetic.yaml").read_text())
    d = int(recipe["data"]["params"]["d"])
    params = dict(recipe["model"]["params"])
    features = [{"name": "x", "kind": "dense", "dim": d}]
    tasks = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "regression"}]
    return zoo.create(recipe["model"]["name"], features, tasks, **params), params, d


def block_time(fn, block_s: float) -> float:
    """Mean seconds per call over a block of about ``block_s`` seconds."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= block_s:
            return elapsed / calls


def interleaved(methods: dict, rounds: int, block_s: float) -> dict[str, float]:
    """Best per-call seconds of each method over interleaved rounds."""
    for fn in methods.values():
        for _ in range(5):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in methods}
    order = list(methods)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:  # alternate the order: no method always goes first
            samples[name].append(block_time(methods[name], block_s))
    return {name: min(s) for name, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    """Export, verify, measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--block-ms", type=float, default=25.0)
    args = parser.parse_args(argv)

    import onnxruntime as ort
    import tensorflow as tf

    import export
    from export.runtime import Predictor

    model, params, d = recipe_model()
    with tempfile.TemporaryDirectory(prefix="mtlzoo-bench-") as tmp:
        onnx_report = export.to_onnx(model, Path(tmp) / "mmoe.onnx")
        sm_report = export.to_saved_model(model, Path(tmp) / "saved_model")
        signature = tf.saved_model.load(sm_report.path).signatures["serving_default"]
        predictor = Predictor(onnx_report.path, providers="cpu")
        session = predictor.session  # raw run on the same session: no second thread pool competing
        output_names = [o.name for o in session.get_outputs()]

        print(f"MMoE ({params}), dense x[{d}] -> y1, y2; {os.cpu_count()} CPUs; "
              f"ORT {ort.__version__}, TF {tf.__version__}")
        print(f"parity: ONNX {onnx_report.max_error:.2g}, SavedModel {sm_report.max_error:.2g}; "
              f"load average before: {os.getloadavg()[0]:.2f}")
        header = f"{'batch':>6} {'keras us':>10} {'savedmodel us':>14} {'ort.run us':>11} {'predictor us':>13}" \
                 f" {'pred/run':>9} {'saved/pred':>11} {'keras/pred':>11}"
        print(header)
        rng = np.random.default_rng(0)
        for n in BATCHES:
            x = {"x": rng.normal(size=(n, d)).astype(np.float32)}
            tx = {"x": tf.constant(x["x"])}
            t = interleaved(
                {
                    "keras": lambda x=x: model(x, training=False),
                    "saved": lambda tx=tx: signature(**tx),
                    "run": lambda x=x: session.run(output_names, x),
                    "pred": lambda x=x: predictor(x),
                },
                args.rounds,
                args.block_ms / 1e3,
            )
            us = {k: v * 1e6 for k, v in t.items()}
            print(f"{n:>6} {us['keras']:>10.1f} {us['saved']:>14.1f} {us['run']:>11.1f} {us['pred']:>13.1f}"
                  f" {t['pred'] / t['run']:>9.3f} {t['saved'] / t['pred']:>11.1f} {t['keras'] / t['pred']:>11.1f}")
        print(f"load average after: {os.getloadavg()[0]:.2f} (figures above ~{os.cpu_count()} are contended)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
