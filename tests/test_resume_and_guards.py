"""A SIGKILLed run resumes from its checkpoint; NaN losses stop a run naming task and step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from recipes.cli import main
from tests.conftest import SMALL_HPARAMS, TINY_FEATURES, TINY_TASKS, tiny_batch
from zoo.training.guards import NonFiniteLoss, NonFiniteLossGuard
from zoo.training.resume import ResumeCheckpoint

ARGS = ["train", "mmoe_synthetic", "--quiet", "--no-export", "--set", "data.params.n=24000",
        "--set", "data.batch_size=64", "--set", "train.epochs=4", "--set", "train.early_stopping.patience=0"]


def _cmd(output):
    return [sys.executable, "-m", "recipes.cli", *ARGS, "--output", str(output)]


def test_a_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / "checkpoints" / "state.json"
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not state.exists():
            time.sleep(0.1)
        assert state.exists(), "no checkpoint after 90 s"
        time.sleep(0.4)  # now in the middle of epoch 2
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert not (killed / "metrics.json").exists()
    assert main([*ARGS, "--output", str(killed)]) == 0
    resumed = json.loads((killed / "metrics.json").read_text())
    assert resumed["resumed_from_epoch"] >= 1
    assert main([*ARGS, "--output", str(tmp_path / "clean")]) == 0
    clean = json.loads((tmp_path / "clean" / "metrics.json").read_text())
    assert resumed["epochs_run"] == clean["epochs_run"] == 4
    for key in ("y1_mse", "y2_mse"):
        np.testing.assert_allclose(resumed["test"][key], clean["test"][key], rtol=0.25)


def _model():
    model = zoo.create("shared_bottom", TINY_FEATURES, TINY_TASKS, **SMALL_HPARAMS["shared_bottom"])
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def test_resume_checkpoint_restores_weights_optimizer_and_epoch(tmp_path):
    x, y = tiny_batch(32)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    first = _model()
    first.fit(data, epochs=2, verbose=0, callbacks=[ResumeCheckpoint(str(tmp_path))])
    second = _model()
    callback = ResumeCheckpoint(str(tmp_path))
    history = second.fit(data, epochs=2, verbose=0, callbacks=[callback])
    assert callback.restored_epoch == 2 and history.epoch == []
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(second.optimizer.iterations.numpy()) == int(first.optimizer.iterations.numpy()) == 8


def test_nan_loss_stops_naming_the_task_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y = tiny_batch(32)
    passes = {"n": 0}

    def batches():
        passes["n"] += 1
        for i in range(4):
            xb = {k: v[i * 8:(i + 1) * 8].copy() for k, v in x.items()}
            yb = {k: v[i * 8:(i + 1) * 8].copy() for k, v in y.items()}
            if passes["n"] == 2 and i == 2:
                yb["gate"][:] = 1e30  # finite label, squared error overflows to inf
            yield xb, yb

    spec = (
        {k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for k, v in x.items()},
        {k: tf.TensorSpec((None, 1), tf.float32) for k in y},
    )
    data = tf.data.Dataset.from_generator(batches, output_signature=spec)
    model = _model()
    with pytest.raises(NonFiniteLoss, match=r"task 'gate' became (nan|inf) at epoch 2, step 3"):
        model.fit(data, epochs=3, verbose=0, callbacks=[ResumeCheckpoint(str(tmp_path)), NonFiniteLossGuard()])
    assert json.loads((tmp_path / "state.json").read_text()) == {"epochs_done": 1}


def test_an_unwritable_or_full_output_fails_before_training(tmp_path, capsys, monkeypatch):
    import recipes.runner as runner

    monkeypatch.setattr(runner, "MIN_FREE_BYTES", 1 << 62)
    code = main(["train", "mmoe_synthetic", "--smoke", "--quiet", "--output", str(tmp_path / "run")])
    assert code == 2 and "MiB free" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert main(["train", "mmoe_synthetic", "--smoke", "--output", str(ro / "run")]) == 2


def test_a_checkpoint_of_another_model_is_a_one_line_error(tmp_path, capsys):
    args = ["train", "mmoe_synthetic", "--smoke", "--quiet", "--no-export", "--output", str(tmp_path / "run")]
    assert main([*args, "--set", "train.epochs=1"]) == 0
    (tmp_path / "run" / "metrics.json").unlink()  # as if the run had been killed
    capsys.readouterr()
    assert main([*args, "--set", "model.params.num_experts=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "checkpoint does not fit this model" in err and "\n" not in err
