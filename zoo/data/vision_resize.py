"""Resizing of (image, dense labels) examples: bilinear for images, nearest for labels."""

from __future__ import annotations

import tensorflow as tf


def resize_example(features: dict, labels: dict, size: tuple[int, int] | None, image_key: str = "image"):
    """Resize an example to ``size = (height, width)``; None keeps it. Normals are re-normalised."""
    if size is None:
        return features, labels
    features = dict(features)
    features[image_key] = tf.image.resize(features[image_key], size, method="bilinear")
    out = {}
    for name, y in labels.items():
        resized = tf.image.resize(y, size, method="nearest")
        if name == "normals":
            norm = tf.norm(resized, axis=-1, keepdims=True)
            resized = tf.math.divide_no_nan(resized, norm)
        out[name] = tf.cast(resized, y.dtype)
    return features, out
