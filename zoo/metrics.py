"""Per-task metrics that skip missing labels, and the multi-task gain Δm."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.labels import label_mask
from zoo.specs import TaskSpec

# Lower is better for these metric names; the rest (auc, accuracy, miou, within_*) are higher-better.
LOWER_IS_BETTER = {
    "logloss", "mse", "mae", "rmse", "abs_err", "rel_err", "angle_mean", "angle_median", "loss",
}


class MaskedMetric(keras.metrics.Metric):
    """Wraps a Keras metric so that examples with a missing label get zero weight."""

    def __init__(self, task: TaskSpec, metric: str, inner: keras.metrics.Metric, **kwargs):
        super().__init__(name=f"{task.name}_{metric}", **kwargs)
        self.task = task
        self.metric = metric
        self.inner = inner

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = label_mask(self.task, y_true)
        weight = tf.cast(mask, tf.float32)
        if self.task.kind == "multiclass":
            y = tf.where(mask, tf.reshape(tf.cast(y_true, tf.int64), [-1]), 0)
        else:
            y = tf.where(mask, tf.reshape(tf.cast(y_true, tf.float32), [-1]), 0.0)[:, None]
            y_pred = tf.reshape(y_pred, [-1, 1])
        self.inner.update_state(y, y_pred, sample_weight=weight)

    def result(self):
        value = self.inner.result()
        return tf.sqrt(value) if self.metric == "rmse" else value

    def reset_state(self):
        self.inner.reset_state()


def _inner(task: TaskSpec, metric: str) -> keras.metrics.Metric:
    if task.kind == "binary":
        return {
            "auc": lambda: keras.metrics.AUC(num_thresholds=1000),
            "logloss": keras.metrics.BinaryCrossentropy,
            "accuracy": keras.metrics.BinaryAccuracy,
        }[metric]()
    if task.kind == "regression":
        return {"mse": keras.metrics.MeanSquaredError, "rmse": keras.metrics.MeanSquaredError,
                "mae": keras.metrics.MeanAbsoluteError}[metric]()
    if task.kind == "multiclass":
        return {"accuracy": keras.metrics.SparseCategoricalAccuracy,
                "logloss": keras.metrics.SparseCategoricalCrossentropy}[metric]()
    raise ValueError(f"task {task.name!r}: no tabular metric {metric!r} for kind {task.kind!r}")


def task_metrics(task: TaskSpec) -> list[keras.metrics.Metric]:
    """The Keras metric objects for one task, named ``<task>_<metric>``."""
    if task.kind in ("segmentation", "depth", "normals"):
        from zoo.dense_metrics import dense_task_metrics

        return dense_task_metrics(task)
    return [MaskedMetric(task, m, _inner(task, m)) for m in task.metrics]


def lower_is_better(key: str) -> bool:
    """Whether a smaller value is better for a metric key such as ``y1_mse`` or ``depth_abs_err``."""
    return any(key == name or key.endswith("_" + name) for name in LOWER_IS_BETTER)


def delta_m(multi: dict[str, float], single: dict[str, float]) -> float:
    """Multi-task gain Δm in percent: mean over metrics of the signed relative change vs single-task.

    Keys are ``<task>_<metric>``; Δm = (1/K) Σ_k (-1)^{l_k} (M_k - S_k) / S_k × 100 with
    l_k = 1 where lower is better. Only keys present in both dicts count.
    """
    keys = [k for k in multi if k in single and single[k] != 0 and np.isfinite(single[k])]
    if not keys:
        raise ValueError("delta_m: no metric is shared by the two result sets")
    total = 0.0
    for k in keys:
        sign = -1.0 if lower_is_better(k) else 1.0
        total += sign * (multi[k] - single[k]) / abs(single[k])
    return 100.0 * total / len(keys)


def is_loss_key(key: str) -> bool:
    """True for training-loss entries of a logs dict (``loss``, ``<task>_loss``), not for metrics
    such as ``<task>_logloss``."""
    key = key[4:] if key.startswith("val_") else key
    return key == "loss" or key.endswith("_loss")
