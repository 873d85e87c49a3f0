"""Cityscapes and NYU Depth v2 through tensorflow_datasets, resized to a configurable size.

Cityscapes (``cityscapes/<config>``, manual download): the ``semantic_segmentation*`` configs give a
``segmentation`` task with the 19 train classes (label ids mapped to train ids, the rest -1); the
``stereo_disparity*`` configs give a ``depth`` task holding disparity in pixels ((png - 1) / 256,
png 0 = invalid -> 0), i.e. inverse depth as MTAN uses for Cityscapes. No config has both.
NYU Depth v2 (``nyu_depth_v2``): ``depth`` in metres (0 = invalid); its validation split is also
the test split.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.data.sources import DataBundle
from zoo.data.vision_resize import resize_example
from zoo.specs import FeatureSpec, TaskSpec

#: Cityscapes label id -> train id (19 classes); every other id is ignored (-1).
CITYSCAPES_TRAIN_IDS = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
    27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}
CITYSCAPES_CONFIGS = ("semantic_segmentation", "semantic_segmentation_extra", "stereo_disparity",
                      "stereo_disparity_extra")


def _label_table() -> tf.Tensor:
    table = np.full(256, -1, np.int64)
    for label_id, train_id in CITYSCAPES_TRAIN_IDS.items():
        table[label_id] = train_id
    return tf.constant(table)


def _load(name: str, split: str, data_dir: str | None):
    import tensorflow_datasets as tfds

    return tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)


def cityscapes_source(config: str = "semantic_segmentation", height: int = 128, width: int = 256,
                      data_dir: str | None = None, train_split: str = "train",
                      validation_split: str = "validation", test_split: str = "validation") -> DataBundle:
    """DataBundle of Cityscapes left images with segmentation (19 classes) or disparity labels."""
    if config not in CITYSCAPES_CONFIGS:
        raise ValueError(f"cityscapes: config must be one of {', '.join(CITYSCAPES_CONFIGS)}, got {config!r}")
    segmentation = config.startswith("semantic")
    table = _label_table()

    def convert(ex):
        image = tf.cast(ex["image_left"], tf.float32) / 255.0
        if segmentation:
            ids = tf.cast(ex["segmentation_label"], tf.int64)
            labels = {"segmentation": tf.gather(table, tf.clip_by_value(ids, 0, 255))}
        else:
            raw = tf.cast(ex["disparity_map"], tf.float32)
            labels = {"depth": tf.where(raw > 0, (raw - 1.0) / 256.0, 0.0)}
        return resize_example({"image": image}, labels, (height, width))

    def split(name):
        return _load(f"cityscapes/{config}", name, data_dir).map(convert, num_parallel_calls=tf.data.AUTOTUNE)

    task = (TaskSpec(name="segmentation", kind="segmentation", num_classes=len(CITYSCAPES_TRAIN_IDS))
            if segmentation else TaskSpec(name="depth", kind="depth"))
    return DataBundle(
        features=[FeatureSpec(name="image", kind="image", shape=(height, width, 3))],
        tasks=[task],
        train=split(train_split),
        validation=split(validation_split) if validation_split else None,
        test=split(test_split),
        description=f"Cityscapes {config} at {height}x{width}",
    )


def nyu_depth_source(height: int = 120, width: int = 160, data_dir: str | None = None) -> DataBundle:
    """DataBundle of TFDS ``nyu_depth_v2``: image and metric ``depth`` (0 = invalid), resized."""
    def convert(ex):
        image = tf.cast(ex["image"], tf.float32) / 255.0
        depth = tf.cast(ex["depth"], tf.float32)[..., None]
        depth = tf.where(tf.math.is_finite(depth) & (depth > 0), depth, 0.0)
        return resize_example({"image": image}, {"depth": depth}, (height, width))

    def split(name):
        return _load("nyu_depth_v2", name, data_dir).map(convert, num_parallel_calls=tf.data.AUTOTUNE)

    validation = split("validation")
    return DataBundle(
        features=[FeatureSpec(name="image", kind="image", shape=(height, width, 3))],
        tasks=[TaskSpec(name="depth", kind="depth")],
        train=split("train"),
        validation=validation,
        test=validation,
        description=f"NYU Depth v2 (TFDS) at {height}x{width}",
    )
