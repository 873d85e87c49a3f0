"""Dense vision models: build, train a few steps, safe-mode round trip and ONNX parity (<= 1e-4)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import export
import zoo
from zoo.data.vision_checks import VisionDataError, check_model_input

FEATURES = [{"name": "image", "kind": "image", "shape": [32, 32, 3]}]
TASKS = [
    {"name": "segmentation", "kind": "segmentation", "num_classes": 4},
    {"name": "depth", "kind": "depth"},
    {"name": "normals", "kind": "normals"},
]
SMALL = {"widths": [4, 8, 16]}
VISION_MODELS = ["dense_shared", "dense_mtan", "dense_cross_stitch", "dense_single_task"]


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 32, 32, 3), dtype=np.float32)}
    seg = rng.integers(-1, 4, (n, 32, 32, 1))
    depth = rng.uniform(0.5, 5.0, (n, 32, 32, 1)).astype("float32")
    depth[:, :4] = np.nan  # invalid rows must not poison the loss
    normals = rng.normal(size=(n, 32, 32, 3)).astype("float32")
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    return x, {"segmentation": seg, "depth": depth, "normals": normals}


def _predict(model, x):
    return {k: v.numpy() for k, v in model(x, training=False).items()}


def _check_outputs(preds, n):
    assert preds["segmentation"].shape == (n, 32, 32, 4)
    np.testing.assert_allclose(preds["segmentation"].sum(-1), 1.0, atol=1e-5)
    assert preds["depth"].shape == (n, 32, 32, 1) and preds["depth"].min() >= 0
    np.testing.assert_allclose(np.linalg.norm(preds["normals"], axis=-1), 1.0, atol=1e-5)


def test_vision_models_are_registered():
    assert set(VISION_MODELS) <= set(zoo.list_models())


@pytest.mark.parametrize("name", VISION_MODELS)
def test_train_round_trip_and_onnx_parity(name, tmp_path):
    model = zoo.create(name, FEATURES, TASKS, **SMALL)
    x, y = _data()
    model.compile(optimizer=keras.optimizers.Adam(0.01), run_eagerly=True)  # no tracing: faster for 2 steps
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert {"segmentation_miou", "depth_abs_err", "normals_angle_median"} <= set(history.history)
    preds = _predict(model, x)
    _check_outputs(preds, 8)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.architecture == name and loaded.hparams == model.hparams
    again = _predict(loaded, x)
    for t in preds:
        np.testing.assert_array_equal(preds[t], again[t])
    report = export.to_onnx(model, tmp_path / f"{name}.onnx", atol=1e-4)
    assert set(report.errors) == {"segmentation", "depth", "normals"} and report.max_error <= 1e-4


def test_keras_application_backbone_with_weights_from_a_file(tmp_path):
    base = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "backbone.weights.h5"
    base.save_weights(weights)
    model = zoo.create("dense_shared", FEATURES, TASKS, encoder="mobilenet_v3_small", backbone_weights=str(weights))
    inner = model.get_layer("zoo__backbone")
    for w_file, w_model in zip(base.weights[:5], inner.weights[:5], strict=True):
        np.testing.assert_array_equal(w_file.numpy(), w_model.numpy())
    _check_outputs(_predict(model, _data(2)[0]), 2)
    report = export.to_onnx(model, tmp_path / "mbv3.onnx", atol=1e-4)
    assert report.max_error <= 1e-4


@pytest.mark.parametrize("encoder", ["resnet50", "efficientnet_v2_b0"])
def test_other_backbones_build_and_predict(encoder):
    model = zoo.create("dense_shared", FEATURES, TASKS[1:], encoder=encoder)
    preds = _predict(model, _data(1)[0])
    assert preds["depth"].shape == (1, 32, 32, 1)


def test_bad_model_inputs_give_clear_errors():
    model = zoo.create("dense_shared", FEATURES, TASKS[1:2], **SMALL)
    with pytest.raises(ValueError, match="incompatible"):
        model.predict({"image": np.zeros((32, 32, 3), "float32")}, verbose=0)  # wrong rank
    with pytest.raises(ValueError, match="incompatible"):
        model.predict({"image": np.zeros((1, 32, 32, 4), "float32")}, verbose=0)  # wrong channels
    with pytest.raises(VisionDataError, match="rank 4"):
        check_model_input(model, np.zeros((32, 32, 3), "float32"))
    with pytest.raises(VisionDataError, match="3 channels"):
        check_model_input(model, np.zeros((1, 32, 32, 1), "float32"))
    with pytest.raises(VisionDataError, match="dtype int32"):
        check_model_input(model, np.zeros((1, 32, 32, 3), "int32"))
    scaled = check_model_input(model, np.full((1, 32, 32, 3), 255, "uint8"))["image"]
    assert scaled.dtype == np.float32 and scaled.max() == 1.0


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        zoo.create("dense_mtan", [{"name": "image", "kind": "image", "shape": [30, 30, 3]}], TASKS, **SMALL)
    with pytest.raises(ValueError, match="3 channels"):
        zoo.create("dense_shared", [{"name": "image", "kind": "image", "shape": [32, 32, 1]}], TASKS, **SMALL)
    with pytest.raises(ValueError, match="not supported"):
        zoo.create("dense_shared", FEATURES, [{"name": "ctr", "kind": "binary"}], **SMALL)
    with pytest.raises(ValueError, match="encoder"):
        zoo.create("dense_shared", FEATURES, TASKS, encoder="vgg")
