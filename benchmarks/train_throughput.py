"""Training throughput (examples/s) of every ranking model on the MMoE paper's synthetic config,
next to a naive MMoE whose experts are a Python loop of Dense layers, in one run.

    .venv/bin/python benchmarks/train_throughput.py [--steps 60] [--repeats 3] [--jit]

Config: one dense feature of width d = 100, two regression tasks, 8 experts of 16 units,
towers of 8, batch 1024. Each model trains `--steps` steps per repeat after a warm-up; the
best repeat counts (the machine is shared and noisy; ratios are what to read).
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
from zoo.layers import ExpertGate, MixExperts  # noqa: E402
from zoo.models.common import encode_features, finish, make_inputs, task_head  # noqa: E402
from zoo.specs import parse_features, parse_tasks  # noqa: E402

FEATURES = [{"name": "x", "kind": "dense", "dim": 100}]
TASKS = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "regression"}]
BATCH = 1024


def naive_mmoe(num_experts=8, units=16, tower=8):
    """MMoE with one Dense layer per expert, stacked: the unfused reference."""
    features, tasks = parse_features(FEATURES), parse_tasks(TASKS)
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    experts = [keras.layers.Dense(units, activation="relu", name=f"zoo__expert{e}")(x) for e in range(num_experts)]
    stacked = keras.layers.Reshape((num_experts, units), name="zoo__stack")(
        keras.layers.Concatenate(name="zoo__concat")(experts)
    )
    outputs = {}
    for t in tasks:
        mixed = MixExperts(name=f"zoo__mix_{t.name}")(ExpertGate(num_experts, name=f"zoo__gate_{t.name}")(x), stacked)
        outputs[t.name] = task_head(mixed, t, (tower,))
    return finish("naive_mmoe", inputs, outputs, features, tasks, {})


def models():
    """(label, builder) pairs: every ranking model that takes two regression tasks, plus the naive MMoE."""
    out = [(name, lambda n=name: zoo.create(n, FEATURES, TASKS)) for name in zoo.list_models("ranking")
           if name not in ("esmm", "aitm")]
    out.append(("naive_mmoe (loop of Dense)", naive_mmoe))
    return out


def measure(built: list, data, steps: int, repeats: int) -> list[float]:
    """Best examples/s per model; repeats go round-robin over the models so that noise from
    the rest of the machine hits every model alike."""
    best = [0.0] * len(built)
    for _ in range(repeats):
        for i, model in enumerate(built):
            start = time.perf_counter()
            model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
            best[i] = max(best[i], steps * BATCH / (time.perf_counter() - start))
    return best


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jit", action="store_true", help="compile the train step with XLA")
    parser.add_argument("--steps-per-execution", type=int, default=20,
                        help="Keras steps_per_execution (amortises the per-step Python overhead)")
    args = parser.parse_args()
    from zoo.data.synthetic import mmoe_synthetic

    x, y1, y2 = mmoe_synthetic(BATCH * 8, seed=0)
    data = tf.data.Dataset.from_tensor_slices(({"x": x}, {"y1": y1[:, None], "y2": y2[:, None]}))
    data = data.batch(BATCH, drop_remainder=True).cache().repeat()
    labels, built = [], []
    for label, build in models():
        keras.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer="adam", jit_compile=args.jit, steps_per_execution=args.steps_per_execution)
        model.fit(data, epochs=1, steps_per_epoch=2 * args.steps_per_execution, verbose=0)  # trace + warm up
        labels.append(label)
        built.append(model)
    speeds = measure(built, data, args.steps, args.repeats)
    rows = [(label, m.count_params(), s) for label, m, s in zip(labels, built, speeds)]
    mmoe = next(r[2] for r in rows if r[0] == "mmoe")
    naive = rows[-1][2]
    print(f"training throughput, batch {BATCH}, d=100, 8 experts x 16, towers 8, XLA {'on' if args.jit else 'off'}, "
          f"steps_per_execution {args.steps_per_execution}, "
          f"{os.cpu_count()} CPUs, TF {tf.__version__}")
    print(f"{'model':<28}{'params':>9}{'examples/s':>13}{'vs naive MMoE':>15}")
    for label, params, eps in rows:
        print(f"{label:<28}{params:>9,}{eps:>13,.0f}{eps / naive:>14.2f}x")
    print(f"fused MMoE / naive MMoE: {mmoe / naive:.2f}x")
    np.testing.assert_(mmoe > 0)


if __name__ == "__main__":
    main()
