"""Missing labels drop out of losses and metrics; a task with no labels changes nothing."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import zoo
from tests.conftest import SMALL_HPARAMS, TINY_FEATURES, TINY_TASKS, tiny_batch
from zoo.specs import TaskSpec
from zoo.training.losses import masked_mean_loss


def test_masked_loss_ignores_nan_and_matches_the_mean_over_present_labels():
    task = TaskSpec(name="r", kind="regression")
    y = np.array([[1.0], [np.nan], [3.0]], "float32")
    p = np.array([[2.0], [100.0], [1.0]], "float32")
    assert float(masked_mean_loss(task, y, p)) == (1.0 + 4.0) / 2


def test_binary_loss_with_all_labels_missing_is_zero_not_nan():
    task = TaskSpec(name="c", kind="binary")
    y = np.full((4, 1), np.nan, "float32")
    assert float(masked_mean_loss(task, y, np.full((4, 1), 0.3, "float32"))) == 0.0


def test_multiclass_minus_one_is_missing():
    task = TaskSpec(name="k", kind="multiclass", num_classes=3)
    y = np.array([[2], [-1]], "int64")
    p = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]], "float32")
    np.testing.assert_allclose(float(masked_mean_loss(task, y, p)), -np.log(0.5), rtol=1e-6)


def test_a_task_without_labels_leaves_its_tower_untouched():
    model = zoo.create("shared_bottom", TINY_FEATURES, TINY_TASKS, **SMALL_HPARAMS["shared_bottom"])
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x, y = tiny_batch(16)
    y["gate"][:] = np.nan
    tower = model.get_layer("zoo__tower_gate")
    head = model.get_layer("gate")
    before = [w.numpy().copy() for w in tower.weights + head.weights]
    shared_before = model.get_layer("zoo__bottom").weights[0].numpy().copy()
    logs = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0).history
    assert logs["gate_loss"][0] == 0.0 and np.isfinite(logs["loss"][0])
    for b, w in zip(before, tower.weights + head.weights):
        np.testing.assert_array_equal(b, w.numpy())
    assert not np.array_equal(shared_before, model.get_layer("zoo__bottom").weights[0].numpy())


def test_metrics_skip_missing_labels():
    model = zoo.create("shared_bottom", TINY_FEATURES, TINY_TASKS, **SMALL_HPARAMS["shared_bottom"])
    model.compile()
    x, y = tiny_batch(32)
    result = model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), return_dict=True, verbose=0)
    preds = model.predict(x, verbose=0)
    present = ~np.isnan(y["gate"][:, 0])
    expected = np.mean((preds["gate"][present, 0] - y["gate"][present, 0]) ** 2)
    np.testing.assert_allclose(result["gate_mse"], expected, rtol=1e-5)
