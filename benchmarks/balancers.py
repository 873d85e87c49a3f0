"""Training throughput (examples/s) of every balancer as a ratio to ``static``, in one run.

    .venv/bin/python benchmarks/balancers.py [--steps 200] [--repeats 5] [--jit auto|on|off]

Config: MMoE on the MMoE paper's synthetic shape: one dense feature of width 100, two
regression tasks, 8 experts of 16 units, towers of 8, batch 1024, Adam. Every balancer trains
``--steps`` steps per repeat after a warm-up of as many steps (the first fits of a model run
slower while TensorFlow warms up); repeats are interleaved across balancers and the best repeat
counts (the machine is shared and noisy; read the ratios). Acceptance: loss-based
``uncertainty``, ``dwa``, ``famo`` >= 0.9; per-task-gradient methods >= 1/(T+1).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402

FEATURES = [{"name": "x", "kind": "dense", "dim": 100}]
TASKS = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "regression"}]
BATCH = 1024
BALANCERS = [
    ("static", {"name": "static"}),
    ("uncertainty", {"name": "uncertainty"}),
    ("dwa", {"name": "dwa"}),
    ("famo", {"name": "famo"}),
    ("gradnorm", {"name": "gradnorm"}),
    ("pcgrad", {"name": "pcgrad"}),
    ("cagrad", {"name": "cagrad"}),
    ("mgda", {"name": "mgda"}),
    ("mgda (UB)", {"name": "mgda", "representation": True}),
    ("nash_mtl", {"name": "nash_mtl"}),
]
LOSS_BASED = {"uncertainty", "dwa", "famo"}


def dataset(steps: int) -> tf.data.Dataset:
    """Random data of the benchmark shape, repeated, cached in memory."""
    rng = np.random.default_rng(0)
    n = BATCH * 16
    x = {"x": rng.normal(size=(n, 100)).astype("float32")}
    y = {t["name"]: rng.normal(size=(n, 1)).astype("float32") for t in TASKS}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True).cache().repeat()


def build(balancer: dict, jit) -> keras.Model:
    """A compiled MMoE with this balancer."""
    keras.utils.set_random_seed(0)
    model = zoo.create("mmoe", features=FEATURES, tasks=TASKS, num_experts=8, expert_units=[16], tower_units=[8])
    model.compile(keras.optimizers.Adam(1e-3), balancer=balancer, jit_compile=jit)
    return model


def throughput(model, data, steps: int) -> float:
    """Examples per second over ``steps`` training steps."""
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args()
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    data = dataset(args.steps)
    models = {}
    for label, spec in BALANCERS:
        models[label] = build(spec, jit)
        models[label].fit(data, epochs=1, steps_per_epoch=5, verbose=0)  # trace
        models[label].fit(data, epochs=1, steps_per_epoch=args.steps, verbose=0)  # warm up
    best = {label: 0.0 for label in models}
    for _ in range(args.repeats):
        for label, model in models.items():
            best[label] = max(best[label], throughput(model, data, args.steps))
    n_tasks = len(TASKS)
    floor_grad = 1.0 / (n_tasks + 1)
    print(f"balancer throughput, MMoE synthetic (d=100, 8x16 experts, towers 8, T={n_tasks}), batch {BATCH}, "
          f"{args.steps} steps x {args.repeats} repeats, jit_compile={args.jit}")
    print("| balancer | examples/s | ratio to static | required | ok |")
    print("|---|---:|---:|---:|:---:|")
    for label, value in best.items():
        ratio = value / best["static"]
        name = label.split(" ")[0]
        need = 1.0 if name == "static" else (0.9 if name in LOSS_BASED else floor_grad)
        print(f"| {label} | {value:,.0f} | {ratio:.2f} | >= {need:.2f} | {'yes' if ratio >= need else 'NO'} |")


if __name__ == "__main__":
    main()
