"""``mtlzoo demo``: the main job end to end — train, export, verify, serve with ONNX Runtime."""

from __future__ import annotations

HELP = ("Train the MMoE synthetic recipe, export SavedModel + ONNX (parity verified), run the "
        "ONNX Runtime Predictor on the test split and print its per-task metrics next to Keras'.")


def add_arguments(parser) -> None:
    """--output, --smoke, --recipe."""
    parser.add_argument("--output", "-o", default="runs/demo", help="run folder (default: runs/demo)")
    parser.add_argument("--recipe", default="mmoe_synthetic", help="recipe to run (default: mmoe_synthetic)")
    parser.add_argument("--smoke", action="store_true", help="tiny profile (seconds)")


def score(model, labels: dict, predictions: dict) -> dict:
    """Per-task metrics of ``predictions`` with the model's own masked metric objects."""
    from zoo.metrics import task_metrics

    out = {}
    for task in model.task_specs:
        if task.name not in labels:
            continue
        for metric in task_metrics(task):
            metric.update_state(labels[task.name], predictions[task.name])
            out[metric.name] = float(metric.result())
    return out


def run(args) -> int:
    """Run the demo and print the comparison table."""
    import time
    from pathlib import Path

    import numpy as np

    from export.runtime import Predictor
    from recipes import config as recipe_config
    from recipes.commands.train_cmd import print_metrics
    from recipes.runner import load_data, train_recipe

    output = Path(args.output)
    print(f"[1/3] training {args.recipe} ({'smoke' if args.smoke else 'full'} profile) into {output} ...")
    results = train_recipe(args.recipe, output, smoke=args.smoke, verbose=0)
    print_metrics(results)
    print("[2/3] exports (parity against Keras, max abs error per output):")
    for fmt, rep in results["export"].items():
        errors = ", ".join(f"{k}={v:.1e}" for k, v in rep["errors"].items())
        print(f"  {fmt:<12} {rep['path']}  {errors}  ({rep['size_bytes'] / 1024:.0f} KiB)")

    import zoo
    from zoo.data.arrays import to_numpy

    config = recipe_config.resolve(args.recipe, "smoke" if args.smoke else None)
    bundle = load_data(config)
    x, y = to_numpy(bundle.test)
    model = zoo.load(str(output / "model.keras"))
    predictor = Predictor(output / "export" / "model.onnx")
    start = time.perf_counter()
    ort_preds = predictor(x)
    ort_seconds = time.perf_counter() - start
    keras_preds = model.predict(x, batch_size=4096, verbose=0)
    keras_metrics, ort_metrics = score(model, y, keras_preds), score(model, y, ort_preds)
    n = len(next(iter(y.values())))
    print(f"[3/3] ONNX Runtime Predictor on the {n} test examples ({predictor.providers[0]}, "
          f"{n / ort_seconds:,.0f} examples/s):")
    print(f"  {'metric':<16}{'Keras':>12}{'ONNX Runtime':>15}{'|diff|':>11}")
    for key in keras_metrics:
        diff = abs(keras_metrics[key] - ort_metrics[key])
        print(f"  {key:<16}{keras_metrics[key]:>12.6f}{ort_metrics[key]:>15.6f}{diff:>11.1e}")
    worst = max(float(np.max(np.abs(keras_preds[k] - ort_preds[k]))) for k in keras_preds)
    print(f"  max |Keras - ONNX Runtime| over all test predictions: {worst:.2e}")
    return 0
