"""The runner under tf.distribute: two worker processes with MultiWorkerMirroredStrategy on
loopback, and MirroredStrategy on two logical CPU devices (each in its own subprocess)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 110  # seconds per run; each test must finish within 2 minutes
TRAIN = ["train", "mmoe_synthetic", "--smoke", "--no-export", "--quiet"]


def _env(**extra) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def _free_ports(n: int) -> list[int]:
    """Ports the OS reports free (bound to port 0, then released for the workers to take)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _digest(stdout: str) -> str | None:
    match = re.search(r"weights sha256: ([0-9a-f]{64})", stdout)
    return match.group(1) if match else None


def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    outputs = [tmp_path / f"worker{i}" for i in range(2)]
    procs = []
    try:
        for i in range(2):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "recipes.cli", *TRAIN, "--strategy", "multi_worker",
                     "--output", str(outputs[i])],
                    cwd=ROOT, env=_env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )
            )
        results = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:  # always reaped, whatever happened
            if p.poll() is None:
                p.kill()
                p.communicate()
            p.wait()
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]
    digests = [_digest(out) for out, _ in results]
    assert digests[0] is not None and digests[0] == digests[1], digests
    chief = outputs[0]
    for name in ("model.keras", "metrics.json", "config.yaml"):
        assert (chief / name).is_file(), name
    metrics = json.loads((chief / "metrics.json").read_text())
    # tf.distribute.MultiWorkerMirroredStrategy's class is named CollectiveAllReduceStrategy.
    assert metrics["strategy"] == "CollectiveAllReduceStrategy" and metrics["replicas"] == 2
    assert metrics["weights_sha256"] == digests[0]
    assert not outputs[1].exists()  # only the chief writes a run folder


MIRRORED = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from recipes.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_mirrored_strategy_on_two_logical_cpus_through_the_runner(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    output = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(script), *TRAIN, "--strategy", "mirrored", "--set", "balancer=famo",
         "--output", str(output)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["strategy"] == "MirroredStrategy" and metrics["replicas"] == 2
    assert metrics["weights_sha256"] == _digest(proc.stdout)
    assert all(v is not None for v in metrics["history"]["loss"])  # finite (NaN is written as null)
