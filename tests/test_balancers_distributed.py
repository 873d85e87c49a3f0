"""Under MirroredStrategy (2 logical CPUs) gradient balancers match the 1-replica run of the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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

    def run(strategy, balancer, init):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = zoo.create("mmoe", features=FEATURES, tasks=TASKS, num_experts=2, expert_units=[4], tower_units=[3])
            if init is not None:
                model.set_weights(init)
            model.compile(keras.optimizers.SGD(0.1), balancer=balancer, jit_compile=False)
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        model.fit(data, epochs=2, verbose=0)
        return model

    results = {}
    for balancer in json.loads(sys.argv[1]):
        init = run(tf.distribute.OneDeviceStrategy("/cpu:0"), "static", None).get_weights()
        one = run(tf.distribute.OneDeviceStrategy("/cpu:0"), balancer, init)
        two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), balancer, init)
        assert two.distribute_strategy.num_replicas_in_sync == 2
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), two.get_weights()))
        moved = max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), init))
        wdiff = float(np.max(np.abs(one.balancer.task_weights().numpy() - two.balancer.task_weights().numpy())))
        results[json.dumps(balancer)] = {"diff": diff, "moved": moved, "weights_diff": wdiff}
    print("RESULT " + json.dumps(results))
    """
)


@pytest.mark.parametrize("balancers", [["pcgrad", "mgda"]])
def test_two_replicas_match_one_replica(tmp_path, balancers):
    script = tmp_path / "dist.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), __import__("json").dumps(balancers)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    results = __import__("json").loads(lines[-1][len("RESULT "):])
    for name, r in results.items():
        assert r["moved"] > 1e-3, name  # training really happened
        assert r["diff"] < 1e-5, (name, r)
        assert r["weights_diff"] < 1e-5, (name, r)
