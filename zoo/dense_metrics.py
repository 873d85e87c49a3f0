"""Per-pixel metrics for segmentation, depth and normals that skip missing labels.

Masking follows ``zoo.labels.label_mask``: segmentation ignores the ignore label, negative
classes and classes >= num_classes; depth ignores non-finite and <= 0 values; normals ignore
non-finite and all-zero vectors. The normal angle median comes from a 0.05-degree histogram
(each middle order statistic at its bin centre: within 0.025 degrees).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from zoo.labels import label_mask
from zoo.specs import TaskSpec

_ANGLE_BINS = 3600  # 0.05 degree per bin over [0, 180]


class _DenseMetric(keras.metrics.Metric):
    """Base: named ``<task>_<metric>``, keeps the task spec for the model's metric routing."""

    def __init__(self, task: TaskSpec, metric: str, **kwargs):
        super().__init__(name=f"{task.name}_{metric}", **kwargs)
        self.task = task
        self.metric = metric


class SegmentationMetric(_DenseMetric):
    """mIoU (mean over classes that occur in label or prediction) or pixel accuracy, from a confusion matrix."""

    def __init__(self, task: TaskSpec, metric: str = "miou", **kwargs):
        super().__init__(task, metric, **kwargs)
        c = task.num_classes
        self.confusion = self.add_variable(shape=(c, c), initializer="zeros", dtype="float32", name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = label_mask(self.task, y_true)
        y = tf.cast(y_true, tf.int64)
        if y.shape.rank == 4:
            y = tf.squeeze(y, -1)
        labels = tf.boolean_mask(y, mask)
        preds = tf.boolean_mask(tf.argmax(y_pred, axis=-1), mask)
        cm = tf.math.confusion_matrix(labels, preds, num_classes=self.task.num_classes, dtype=tf.float32)
        self.confusion.assign_add(cm)

    def result(self):
        cm = tf.convert_to_tensor(self.confusion)
        diag = tf.linalg.diag_part(cm)
        if self.metric == "pixel_accuracy":
            return tf.math.divide_no_nan(tf.reduce_sum(diag), tf.reduce_sum(cm))
        union = tf.reduce_sum(cm, 0) + tf.reduce_sum(cm, 1) - diag
        present = union > 0
        iou = tf.math.divide_no_nan(diag, union)
        return tf.math.divide_no_nan(tf.reduce_sum(tf.where(present, iou, 0.0)),
                                     tf.reduce_sum(tf.cast(present, tf.float32)))

    def reset_state(self):
        self.confusion.assign(tf.zeros_like(self.confusion))


class DepthMetric(_DenseMetric):
    """Mean absolute error (``abs_err``) or mean relative error |d - d*| / d* (``rel_err``) over valid pixels."""

    def __init__(self, task: TaskSpec, metric: str = "abs_err", **kwargs):
        super().__init__(task, metric, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = label_mask(self.task, y_true)
        y = tf.boolean_mask(tf.cast(y_true, tf.float32)[..., 0], mask)
        p = tf.boolean_mask(tf.cast(y_pred, tf.float32)[..., 0], mask)
        err = tf.abs(p - y)
        if self.metric == "rel_err":
            err = err / y
        self.total.assign_add(tf.reduce_sum(err))
        self.count.assign_add(tf.cast(tf.size(err), tf.float32))

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


def normal_angles(task: TaskSpec, y_true, y_pred):
    """Angles in degrees between predicted and labelled normals at the valid pixels (1-D)."""
    mask = label_mask(task, y_true)
    y = tf.math.l2_normalize(tf.boolean_mask(tf.cast(y_true, tf.float32), mask), axis=-1)
    p = tf.math.l2_normalize(tf.boolean_mask(tf.cast(y_pred, tf.float32), mask), axis=-1)
    cos = tf.clip_by_value(tf.reduce_sum(y * p, axis=-1), -1.0, 1.0)
    return tf.acos(cos) * (180.0 / math.pi)


class NormalAngleMetric(_DenseMetric):
    """Angle mean, angle median (histogram) or the fraction within 11.25, 22.5 or 30 degrees."""

    _THRESHOLDS = {"within_11_25": 11.25, "within_22_5": 22.5, "within_30": 30.0}

    def __init__(self, task: TaskSpec, metric: str = "angle_mean", **kwargs):
        super().__init__(task, metric, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float32", name="count")
        self.hist = None
        if metric == "angle_median":
            self.hist = self.add_variable(shape=(_ANGLE_BINS,), initializer="zeros", dtype="float32", name="hist")

    def update_state(self, y_true, y_pred, sample_weight=None):
        angles = normal_angles(self.task, y_true, y_pred)
        if self.metric == "angle_mean":
            self.total.assign_add(tf.reduce_sum(angles))
        elif self.metric == "angle_median":
            counts = tf.histogram_fixed_width(angles, [0.0, 180.0], nbins=_ANGLE_BINS)
            self.hist.assign_add(tf.cast(counts, tf.float32))
        else:
            self.total.assign_add(tf.reduce_sum(tf.cast(angles < self._THRESHOLDS[self.metric], tf.float32)))
        self.count.assign_add(tf.cast(tf.size(angles), tf.float32))

    def result(self):
        if self.metric != "angle_median":
            return tf.math.divide_no_nan(self.total, self.count)
        # The two middle order statistics (equal for an odd count), each at its bin centre.
        cum = tf.cumsum(self.hist)
        width = 180.0 / _ANGLE_BINS

        def order_statistic(k):
            idx = tf.minimum(tf.reduce_sum(tf.cast(cum < k, tf.float32)), _ANGLE_BINS - 1.0)
            return (idx + 0.5) * width

        low = order_statistic(tf.math.ceil(0.5 * self.count))
        high = order_statistic(tf.math.floor(0.5 * self.count) + 1.0)
        return tf.where(self.count > 0, 0.5 * (low + high), 0.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)
        if self.hist is not None:
            self.hist.assign(tf.zeros_like(self.hist))


_CLASSES = {"segmentation": SegmentationMetric, "depth": DepthMetric, "normals": NormalAngleMetric}


def dense_task_metrics(task: TaskSpec) -> list[keras.metrics.Metric]:
    """The Keras metric objects for one vision task, named ``<task>_<metric>``."""
    if task.kind not in _CLASSES:
        raise ValueError(f"task {task.name!r}: kind {task.kind!r} has no dense metrics")
    return [_CLASSES[task.kind](task, m) for m in task.metrics]
