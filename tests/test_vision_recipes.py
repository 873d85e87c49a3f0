"""The dense-vision recipes: every one resolves; the MTAN smoke profile trains and exports (ONNX and
SavedModel) within 1e-4 of Keras."""

from __future__ import annotations

import json

import pytest

import export
import zoo
from recipes import config as recipe_config
from recipes.runner import train_recipe

RECIPES = ["dense_shared_scenes", "dense_mtan_scenes", "dense_cross_stitch_scenes", "dense_single_task_scenes"]


@pytest.mark.parametrize("name", RECIPES)
def test_recipes_resolve_with_smoke_and_full_profiles(name):
    for profile in ("smoke", "full"):
        cfg = recipe_config.resolve(name, profile)
        assert cfg["data"]["source"] == "scenes" and cfg["model"]["name"] in zoo.list_models()


def test_mtan_smoke_recipe_trains_and_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("MTLZOO_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    results = train_recipe("dense_mtan_scenes", str(out), smoke=True, verbose=0, export=False)
    assert json.loads((out / "metrics.json").read_text())["model"] == "dense_mtan"
    assert 0.0 <= results["test"]["segmentation_miou"] <= 1.0
    assert list((tmp_path / "home" / "scenes").glob("*.npz"))  # rendered once into the cache
    model = zoo.load(str(out / "model.keras"))
    for report in (export.to_onnx(model, out / "model.onnx", atol=1e-4),
                   export.to_saved_model(model, out / "saved_model", atol=1e-4)):
        assert set(report.errors) == {"segmentation", "depth", "normals"} and report.max_error <= 1e-4
