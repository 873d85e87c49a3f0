"""Mixed precision: bfloat16 runs train and export with float32 parity; float16 runs train with
loss scaling (a LossScaleOptimizer, on every balancer path); outputs are float32 under any policy."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import zoo
from recipes.runner import train_recipe
from tests.conftest import SMALL_HPARAMS, TINY_FEATURES, tasks_for, tiny_batch
from zoo.training.precision import float32_copy, set_precision

FEATURES = [{"name": "x", "kind": "dense", "dim": 6}]
TASKS = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "binary"}]


@pytest.fixture
def policy():
    """Sets a global dtype policy for the test and always restores float32."""
    yield set_precision
    set_precision("float32")


def _data(n=32):
    rng = np.random.default_rng(0)
    x = {"x": rng.normal(size=(n, 6)).astype("float32")}
    y = {"y1": (x["x"][:, :1] * 2.0).astype("float32"), "y2": (x["x"][:, 1:2] > 0).astype("float32")}
    y["y1"][::7] = np.nan
    return x, y


def test_mixed_bfloat16_smoke_run_exports_with_float32_parity(tmp_path):
    out = tmp_path / "run"
    results = train_recipe("mmoe_synthetic", out, overrides=["train.precision=mixed_bfloat16"], smoke=True, verbose=0)
    assert results["precision"] == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # the runner restores it
    for fmt in ("onnx", "saved_model"):
        errors = results["export"][fmt]["errors"]
        assert errors and max(errors.values()) <= 1e-5, (fmt, errors)
        assert results["export"][fmt]["precision"] == "float32"
    assert all(np.isfinite(v) for v in results["history"]["loss"])
    assert json.loads((out / "metrics.json").read_text())["precision"] == "mixed_bfloat16"


@pytest.mark.parametrize("name", ["mmoe", "esmm", "aitm", "dense_shared"])
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_outputs_are_float32_and_the_float32_copy_matches(policy, name, precision):
    policy(precision)
    keras.utils.set_random_seed(0)
    if name == "dense_shared":
        tasks = [{"name": "seg", "kind": "segmentation", "num_classes": 3}, {"name": "depth", "kind": "depth"},
                 {"name": "normals", "kind": "normals"}]
        model = zoo.create(name, [{"name": "image", "kind": "image", "shape": [16, 16, 3]}], tasks, widths=[4, 8])
        x = {"image": np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")}
    else:
        model = zoo.create(name, TINY_FEATURES, tasks_for(name), **SMALL_HPARAMS[name])
        x = tiny_batch(8, tasks=tasks_for(name))[0]
    out = model(x, training=False)
    assert {k: keras.backend.standardize_dtype(v.dtype) for k, v in out.items()} == dict.fromkeys(out, "float32")
    policy("float32")
    copy = float32_copy(model)
    assert copy is not model
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    exact = copy(x, training=False)
    for k in out:  # the same function, up to the half-precision rounding of the mixed run
        np.testing.assert_allclose(np.asarray(out[k]), np.asarray(exact[k]), atol=0.05)


def _one_sgd_step(balancer, precision, set_policy):
    set_policy(precision)
    keras.utils.set_random_seed(0)
    model = zoo.create("mmoe", features=FEATURES, tasks=TASKS, num_experts=2, expert_units=[8], tower_units=[4])
    model.compile(keras.optimizers.SGD(0.1), balancer=balancer, jit_compile=False)
    before = [w.copy() for w in model.get_weights()]
    x, y = _data()
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    deltas = [a - b for a, b in zip(model.get_weights(), before, strict=True)]
    set_policy("float32")
    return model, deltas, history.history["loss"][0]


@pytest.mark.parametrize("balancer", ["static", "uncertainty", "gradnorm", "pcgrad", "nash_mtl"])
def test_mixed_float16_trains_with_loss_scaling(policy, balancer):
    model, deltas16, loss16 = _one_sgd_step(balancer, "mixed_float16", policy)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(keras.ops.convert_to_numpy(model.optimizer.dynamic_scale)) > 1.0  # scaling is on
    assert np.isfinite(loss16)
    _, deltas32, loss32 = _one_sgd_step(balancer, "float32", policy)
    # The update equals the float32 one (to float16 accuracy): the loss was scaled before
    # differentiation and unscaled once; a missing scale_loss would shrink it by the scale.
    flat16 = np.concatenate([d.ravel() for d in deltas16])
    flat32 = np.concatenate([d.ravel() for d in deltas32])
    assert np.linalg.norm(flat32) > 1e-3
    assert np.linalg.norm(flat16 - flat32) < 0.02 * np.linalg.norm(flat32), balancer
    assert abs(loss16 - loss32) < 0.02 * abs(loss32)
