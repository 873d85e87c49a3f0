"""Every balancer trains under MirroredStrategy (2 logical CPUs); gradient balancers match the
1-replica run of the same global batch.

One subprocess (logical devices must be configured before TensorFlow initialises) runs all
of it with ONE MirroredStrategy: each strategy object numbers its collectives from the same
keys, so two strategies in one process collide in TensorFlow's collective executor ("Shape
mismatch in the collective instance N") as soon as their step graphs differ.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zoo.training.balancers import BALANCERS

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENCE = ["pcgrad", "mgda"]
SMOKE = [*BALANCERS, {"name": "mgda", "representation": True}]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import zoo

    FEATURES = [{"name": "x", "kind": "dense", "dim": 5}]
    TASKS = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "regression"}]
    rng = np.random.default_rng(0)
    x = {"x": rng.normal(size=(48, 5)).astype("float32")}
    y = {"y1": (x["x"][:, :1] * 2).astype("float32"), "y2": (-x["x"][:, :1] + x["x"][:, 1:2]).astype("float32")}
    y["y2"][::5] = np.nan  # missing labels are spread unevenly over the replicas
    ONE = tf.distribute.OneDeviceStrategy("/cpu:0")
    TWO = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def run(strategy, balancer, init, optimizer, epochs=2, steps=None):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = zoo.create("mmoe", features=FEATURES, tasks=TASKS, num_experts=2, expert_units=[4], tower_units=[3])
            if init is not None:
                model.set_weights(init)
            model.compile(optimizer(), balancer=balancer, jit_compile=False)
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        history = model.fit(data, epochs=epochs, steps_per_epoch=steps, verbose=0)
        return model, history

    def diff(a, b):
        return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))

    spec = json.loads(sys.argv[1])
    sgd = lambda: keras.optimizers.SGD(0.1)
    results = {"equivalence": {}, "smoke": {}}
    init = run(ONE, "static", None, sgd)[0].get_weights()
    for balancer in spec["equivalence"]:
        one = run(ONE, balancer, init, sgd)[0]
        two = run(TWO, balancer, init, sgd)[0]
        assert two.distribute_strategy.num_replicas_in_sync == 2
        wdiff = float(np.max(np.abs(one.balancer.task_weights().numpy() - two.balancer.task_weights().numpy())))
        results["equivalence"][json.dumps(balancer)] = {
            "diff": diff(one.get_weights(), two.get_weights()),
            "moved": diff(one.get_weights(), init),
            "weights_diff": wdiff,
        }
    for balancer in spec["smoke"]:
        # Two epochs of one step: DWA's epoch hook runs, every balancer's state is written.
        model, history = run(TWO, balancer, init, lambda: keras.optimizers.Adam(0.01), epochs=2, steps=1)
        state = [np.asarray(v.numpy()) for v in model.balancer.state_variables().values()]
        results["smoke"][json.dumps(balancer)] = {
            "losses": [float(v) for v in history.history["loss"]],
            "moved": diff(model.get_weights(), init),
            "state_finite": bool(all(np.all(np.isfinite(s)) for s in state)),
            "weights_finite": bool(np.all(np.isfinite(model.balancer.task_weights().numpy()))),
        }
    print("RESULT " + json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    script = tmp_path_factory.mktemp("dist") / "dist.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    spec = json.dumps({"equivalence": EQUIVALENCE, "smoke": SMOKE})
    proc = subprocess.run(
        [sys.executable, str(script), spec], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def test_two_replicas_match_one_replica(results):
    assert set(results["equivalence"]) == {json.dumps(b) for b in EQUIVALENCE}
    for name, r in results["equivalence"].items():
        assert r["moved"] > 1e-3, name  # training really happened
        assert r["diff"] < 1e-5, (name, r)
        assert r["weights_diff"] < 1e-5, (name, r)


def test_every_balancer_trains_under_two_replicas(results):
    assert set(results["smoke"]) == {json.dumps(b) for b in SMOKE}
    for name, r in results["smoke"].items():
        assert len(r["losses"]) == 2 and all(math.isfinite(v) for v in r["losses"]), (name, r)
        assert r["moved"] > 0.0, (name, r)
        assert r["state_finite"] and r["weights_finite"], (name, r)
