"""Masked per-task losses: missing labels (NaN, or -1 for class tasks) drop out of the loss."""

from __future__ import annotations

import tensorflow as tf

from zoo.labels import label_mask
from zoo.specs import TaskSpec

_EPS = 1e-7


def elementwise_loss(task: TaskSpec, y_true, y_pred):
    """Per-element loss with missing labels replaced by harmless values (masked later)."""
    mask = label_mask(task, y_true)
    y_pred = tf.cast(y_pred, tf.float32)
    if task.kind == "binary":
        y = tf.where(mask, tf.reshape(tf.cast(y_true, tf.float32), [-1]), 0.0)
        p = tf.clip_by_value(tf.reshape(y_pred, [-1]), _EPS, 1.0 - _EPS)
        return -(y * tf.math.log(p) + (1.0 - y) * tf.math.log(1.0 - p)), mask
    if task.kind == "regression":
        y = tf.where(mask, tf.reshape(tf.cast(y_true, tf.float32), [-1]), 0.0)
        err = tf.reshape(y_pred, [-1]) - y
        if task.loss == "mae":
            return tf.abs(err), mask
        if task.loss == "huber":
            a = tf.abs(err)
            return tf.where(a <= 1.0, 0.5 * err * err, a - 0.5), mask
        return err * err, mask
    if task.kind in ("multiclass", "segmentation"):
        y = tf.cast(y_true, tf.int64)
        if task.kind == "segmentation" and y.shape.rank == 4:
            y = tf.squeeze(y, -1)
        if task.kind == "multiclass":
            y = tf.reshape(y, [-1])
        y = tf.where(mask, y, tf.zeros_like(y))
        y = tf.minimum(y, task.num_classes - 1)
        p = tf.clip_by_value(tf.gather(y_pred, y, axis=-1, batch_dims=y.shape.rank), _EPS, 1.0)
        return -tf.math.log(p), mask
    if task.kind == "depth":
        y = tf.where(mask, tf.cast(y_true, tf.float32)[..., 0], 0.0)
        return tf.abs(y_pred[..., 0] - y), mask
    # normals: 1 - cosine between unit prediction and unit label
    y = tf.where(mask[..., None], tf.cast(y_true, tf.float32), 0.0)
    y = tf.math.l2_normalize(y, axis=-1)
    p = tf.math.l2_normalize(y_pred, axis=-1)
    return 1.0 - tf.reduce_sum(y * p, axis=-1), mask


def masked_loss_sum(task: TaskSpec, y_true, y_pred):
    """(sum of the loss over present labels, number of present labels) for one task."""
    loss, mask = elementwise_loss(task, y_true, y_pred)
    maskf = tf.cast(mask, tf.float32)
    return tf.reduce_sum(tf.where(mask, loss, 0.0)), tf.reduce_sum(maskf)


def masked_mean_loss(task: TaskSpec, y_true, y_pred):
    """Mean loss over present labels; exactly 0 (not NaN) when none is present."""
    total, count = masked_loss_sum(task, y_true, y_pred)
    return total / tf.maximum(count, 1.0)
