"""Per-task test metrics and Δm vs single-task for the dense-vision recipes on rendered scenes.

    .venv/bin/python benchmarks/vision_table.py [--profile full|smoke] [--output runs/vision_table]
        [--balancer static] [--set key=value ...] [--models shared,mtan,cross_stitch]

Trains ``dense_single_task_scenes`` (the baseline) and each ``dense_<model>_scenes`` recipe with
the same data, seed and overrides (plain ``fit`` + early stopping on the resolved recipe, no export), then prints and writes ``<output>/vision_table_<balancer>.md``. Δm is
``zoo.metrics.delta_m`` over every reported metric (percent; > 0 means better than single-task).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

COLUMNS = [
    ("segmentation_miou", "mIoU ↑"), ("segmentation_pixel_accuracy", "pix acc ↑"),
    ("depth_abs_err", "abs err ↓"), ("depth_rel_err", "rel err ↓"),
    ("normals_angle_mean", "mean° ↓"), ("normals_angle_median", "median° ↓"),
    ("normals_within_11_25", "11.25° ↑"), ("normals_within_22_5", "22.5° ↑"), ("normals_within_30", "30° ↑"),
]


def run(recipe: str, profile: str, overrides: list[str]) -> dict:
    """Train one resolved recipe (data, model, balancer, optimizer, epochs, early stopping) and
    return ``{"test": metrics, "parameters": n, "train_seconds": s}``."""
    import keras
    import tensorflow as tf

    import zoo
    from recipes import config as recipe_config
    from zoo.data.sources import load_source

    cfg = recipe_config.resolve(recipe, profile, overrides)
    data, train = cfg["data"], cfg["train"]
    keras.utils.set_random_seed(int(cfg["seed"]))
    bundle = load_source(data["source"], seed=cfg["seed"], **data["params"])
    model = zoo.create(cfg["model"]["name"], bundle.features, bundle.tasks, **cfg["model"]["params"])
    model.compile(optimizer=keras.optimizers.Adam(cfg["optimizer"]["learning_rate"]), balancer=cfg["balancer"])
    train_ds = (bundle.train.cache().shuffle(data["shuffle_buffer"], seed=cfg["seed"])
                .batch(data["batch_size"]).prefetch(tf.data.AUTOTUNE))
    val_ds = bundle.validation.batch(data["eval_batch_size"]).cache()
    stop = train["early_stopping"]
    callbacks = [keras.callbacks.EarlyStopping(**stop)] if stop.get("patience") else []
    start = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=train["epochs"], callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    test = model.evaluate(bundle.test.batch(data["eval_batch_size"]), return_dict=True, verbose=0)
    return {"test": {k: float(v) for k, v in test.items()}, "parameters": int(model.count_params()),
            "train_seconds": seconds}


def metric_row(results: dict) -> dict[str, float]:
    """The table's metrics from a run's test results."""
    return {k: float(results["test"][k]) for k, _ in COLUMNS if k in results["test"]}


def table(rows: list[tuple[str, dict, float | None, dict]]) -> str:
    """Markdown table: one row per model with its metrics, Δm, parameters and train time."""
    head = "| model | " + " | ".join(h for _, h in COLUMNS) + " | Δm % ↑ | params | train s |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 4)]
    for name, metrics, dm, info in rows:
        cells = [f"{metrics[k]:.4f}" if k in metrics else "–" for k, _ in COLUMNS]
        dm_cell = "0 (baseline)" if dm is None else f"{dm:+.2f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {dm_cell} | {info['parameters']:,} | "
                     f"{info['train_seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Train the baseline and the multi-task models, print and write the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full")
    parser.add_argument("--output", default="runs/vision_table")
    parser.add_argument("--balancer", default="static")
    parser.add_argument("--models", default="shared,mtan,cross_stitch")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)

    from zoo.metrics import delta_m

    out = Path(args.output)
    start = time.perf_counter()
    baseline = run("dense_single_task_scenes", args.profile, args.overrides)
    single = metric_row(baseline)
    rows = [("single_task (static)", single, None, baseline)]
    for m in args.models.split(","):
        overrides = [*args.overrides, f"balancer.name={args.balancer}"]
        res = run(f"dense_{m}_scenes", args.profile, overrides)
        metrics = metric_row(res)
        rows.append((f"dense_{m} ({args.balancer})", metrics, delta_m(metrics, single), res))
        print(f"done {m}: {json.dumps(metrics)}", file=sys.stderr, flush=True)
    command = "python benchmarks/vision_table.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"{table(rows)}\n\nProfile `{args.profile}`, test split, overrides {args.overrides or 'none'}; "
            f"{time.perf_counter() - start:.0f} s in all. Command: `{command.strip()}`\n")
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"vision_table_{args.balancer}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
