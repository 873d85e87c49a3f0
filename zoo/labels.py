"""Missing-label rules shared by losses and metrics: NaN (float tasks) or -1 (class tasks) is missing."""

from __future__ import annotations

import tensorflow as tf

from zoo.specs import TaskSpec


def label_mask(task: TaskSpec, y_true):
    """Boolean mask of present labels, shaped like the per-element loss."""
    if task.is_class_task:
        y = tf.cast(y_true, tf.int64)
        if task.kind == "segmentation" and y.shape.rank == 4:
            y = tf.squeeze(y, -1)
        if task.kind == "multiclass":
            y = tf.reshape(y, [-1])
        present = tf.logical_and(tf.not_equal(y, task.ignore_label), y >= 0)
        if task.kind == "segmentation":
            # Documented rule: classes >= num_classes (e.g. a 255 "void" label) are ignored too.
            present = tf.logical_and(present, y < task.num_classes)
        return present
    y = tf.cast(y_true, tf.float32)
    finite = tf.math.is_finite(y)
    if task.kind == "depth":
        return tf.logical_and(finite, y > 0)[..., 0]
    if task.kind == "normals":
        present = tf.reduce_all(finite, axis=-1)
        nonzero = tf.reduce_sum(tf.where(finite, tf.abs(y), 0.0), axis=-1) > 0
        return tf.logical_and(present, nonzero)
    return tf.reshape(finite, [-1])
