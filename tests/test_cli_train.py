"""`mtlzoo train` end to end on the smoke profile, and its one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import zoo
from recipes.cli import main
from recipes.config import resolve


def test_train_smoke_writes_the_run_folder(tmp_run, capsys):
    code = main(["train", "mmoe_synthetic", "--smoke", "--quiet", "--output", str(tmp_run)])
    assert code == 0
    for name in ["config.yaml", "model.keras", "metrics.json", "model_card.md", "training_curves.png",
                 "export/model.onnx", "export/saved_model/1/saved_model.pb"]:
        assert (tmp_run / name).exists(), name
    assert any((tmp_run / "logs").rglob("*tfevents*"))
    metrics = json.loads((tmp_run / "metrics.json").read_text())
    assert set(metrics["test_by_task"]) == {"y1", "y2"}
    assert set(metrics["test_by_task"]["y1"]) == {"mse", "mae"}
    assert metrics["export"]["onnx"]["errors"]["y1"] <= 1e-5
    model = zoo.load(str(tmp_run / "model.keras"))
    assert model.architecture == "mmoe"
    out = capsys.readouterr().out
    assert "y1" in out and "mse=" in out
    card = (tmp_run / "model_card.md").read_text()
    assert "mtlzoo train mmoe_synthetic --smoke" in card and "max abs error" in card


def test_set_overrides_reach_the_model(tmp_run):
    main(["train", "mmoe_synthetic", "--smoke", "--quiet", "--no-export", "--output", str(tmp_run),
          "--set", "model.params.num_experts=3", "--set", "train.epochs=1"])
    model = zoo.load(str(tmp_run / "model.keras"))
    assert model.hparams["num_experts"] == 3
    assert json.loads((tmp_run / "metrics.json").read_text())["epochs_run"] == 1


def test_same_seed_same_metrics(tmp_path):
    runs = []
    for i in range(2):
        out = tmp_path / f"r{i}"
        main(["train", "shared_bottom_synthetic", "--smoke", "--quiet", "--no-export", "--output", str(out)])
        runs.append(json.loads((out / "metrics.json").read_text())["test"])
    for k in runs[0]:
        np.testing.assert_allclose(runs[0][k], runs[1][k], rtol=1e-5)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "no_such_recipe"], "unknown recipe 'no_such_recipe'"),
        (["train", "mmoe_synthetic", "--set", "train.epoch=3"], "unknown key 'epoch'"),
        (["train", "mmoe_synthetic", "--set", "train.epochs=three"], "expected int"),
        (["train", "mmoe_synthetic", "--set", "noequals"], "expected key=value"),
        (["train", "mmoe_synthetic", "--set", "model.params.num_expert=3"], "unknown hyperparameter 'num_expert'"),
        (["train", "mmoe_synthetic", "--set", "data.params.q=3"], "data.params.q is not a parameter"),
        (["train", "mmoe_synthetic", "--set", "balancer=nope"], "unknown balancer 'nope'"),
        (["train", "missing/file.yaml"], "does not exist"),
        (["train", "mmoe_synthetic", "--profile", "huge"], "no profile 'huge'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragment, tmp_run, capsys):
    code = main([*args, "--output", str(tmp_run)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("mtlzoo: error:") and fragment in err and "\n" not in err
    assert not tmp_run.exists()


def test_the_real_command_prints_one_line_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "recipes.cli", "train", "no_such_recipe"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_output_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["train", "mmoe_synthetic", "--smoke", "--output", str(blocker / "run")])
    assert code == 2


def test_profiles_and_sets_resolve_in_order():
    config = resolve("mmoe_synthetic", "smoke", ["data.params.n=900", "balancer.name=static",
                                                 "optimizer.learning_rate=1"])
    assert config["data"]["params"]["n"] == 900 and config["train"]["epochs"] == 2
    assert isinstance(config["optimizer"]["learning_rate"], float)


def test_list_json_has_models_recipes_pretrained(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"models", "recipes", "pretrained"} <= set(data)
    assert "mmoe" in data["models"] and "mmoe_synthetic" in data["recipes"]
