"""Dense metrics on hand-made masks, and the masking rules of the vision losses."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from zoo.dense_metrics import dense_task_metrics
from zoo.metrics import delta_m, task_metrics
from zoo.specs import TaskSpec
from zoo.training.losses import masked_mean_loss

SEG = TaskSpec(name="seg", kind="segmentation", num_classes=3)
DEPTH = TaskSpec(name="depth", kind="depth")
NORMALS = TaskSpec(name="normals", kind="normals")


def _one_hot(classes, c=3):
    return tf.one_hot(np.asarray(classes), c).numpy()


def _results(task, y, p):
    out = {}
    for m in task_metrics(task):
        m.update_state(tf.constant(y), tf.constant(p))
        out[m.name] = float(m.result())
    return out


def test_miou_and_pixel_accuracy_from_a_confusion_matrix():
    y = np.array([[[0], [0], [1], [1]], [[2], [2], [-1], [7]]])[None]  # -1 and 7 (>= 3) are ignored
    pred = np.array([[0, 1, 1, 1], [2, 0, 1, 1]])[None]
    r = _results(SEG, y, _one_hot(pred))
    # confusion: class0 1/2 right (pred 1 once), class1 2/2, class2 1/2 (pred 0 once)
    # IoU0 = 1/(2+2-1)=1/3, IoU1 = 2/(2+3-2)=2/3, IoU2 = 1/(2+1-1)=1/2
    assert r["seg_miou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3, abs=1e-6)
    assert r["seg_pixel_accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert [m.name for m in dense_task_metrics(SEG)] == ["seg_miou", "seg_pixel_accuracy"]


def test_depth_errors_skip_invalid_pixels():
    y = np.array([2.0, 0.0, np.nan, 4.0, -1.0]).reshape(1, 1, 5, 1).astype("float32")
    p = np.array([1.0, 5.0, 5.0, 5.0, 5.0]).reshape(1, 1, 5, 1).astype("float32")
    r = _results(DEPTH, y, p)
    assert r["depth_abs_err"] == pytest.approx(1.0)
    assert r["depth_rel_err"] == pytest.approx((0.5 + 0.25) / 2)


def test_normal_angle_statistics():
    angles = np.array([0.0, 10.0, 20.0, 25.0, 40.0, 90.0])
    pred = np.stack([np.sin(np.deg2rad(angles)), np.zeros(6), np.cos(np.deg2rad(angles))], -1)
    y = np.tile([0.0, 0.0, 1.0], (8, 1))
    y[6] = 0.0  # zero vector: missing
    y[7] = np.nan  # non-finite: missing
    pred = np.vstack([pred, [[1, 0, 0], [1, 0, 0]]])
    r = _results(NORMALS, y[None, None].astype("float32"), (2.0 * pred)[None, None].astype("float32"))
    assert r["normals_angle_mean"] == pytest.approx(angles.mean(), abs=1e-3)
    assert r["normals_angle_median"] == pytest.approx(np.median(angles), abs=0.05)
    assert r["normals_within_11_25"] == pytest.approx(2 / 6)
    assert r["normals_within_22_5"] == pytest.approx(3 / 6)
    assert r["normals_within_30"] == pytest.approx(4 / 6)


def test_metrics_reset_and_handle_empty_batches():
    m = task_metrics(DEPTH)[0]
    m.update_state(tf.zeros((1, 2, 2, 1)), tf.ones((1, 2, 2, 1)))
    assert float(m.result()) == 0.0
    m.update_state(tf.ones((1, 2, 2, 1)), tf.zeros((1, 2, 2, 1)))
    m.reset_state()
    assert float(m.result()) == 0.0


def test_losses_mask_out_of_range_classes_nan_depth_and_zero_normals():
    y = np.array([[[0], [5], [-1]]])[None]  # 5 >= num_classes: ignored, not clamped
    p = np.full((1, 1, 3, 3), 1 / 3, "float32")
    assert float(masked_mean_loss(SEG, y, p)) == pytest.approx(np.log(3.0), rel=1e-5)
    d = np.array([np.nan, 2.0, 0.0]).reshape(1, 1, 3, 1).astype("float32")
    assert float(masked_mean_loss(DEPTH, d, np.ones_like(d))) == pytest.approx(1.0)
    n = np.array([[0, 0, 1], [0, 0, 0], [np.nan, 0, 1]], "float32").reshape(1, 1, 3, 3)
    assert float(masked_mean_loss(NORMALS, n, np.tile([0, 0, 1.0], (1, 1, 3, 1)).astype("float32"))) == pytest.approx(0)
    empty = np.full((1, 1, 3, 1), np.nan, "float32")
    assert float(masked_mean_loss(DEPTH, empty, np.ones_like(empty))) == 0.0


def test_delta_m_uses_metric_directions():
    single = {"seg_miou": 0.5, "depth_abs_err": 1.0}
    multi = {"seg_miou": 0.55, "depth_abs_err": 0.9}
    assert delta_m(multi, single) == pytest.approx(10.0)
