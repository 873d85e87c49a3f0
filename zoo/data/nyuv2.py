"""NYUv2 in the 13-class preprocessed layout used by MTAN and LibMTL.

Layout: ``<root>/{train,val}/{image,label,depth,normal}/<i>.npy`` with image ``[H, W, 3]`` float
in [0, 1], label ``[H, W]`` float class ids (-1 = ignore), depth ``[H, W]`` or ``[H, W, 1]``
(0 = invalid) and normal ``[H, W, 3]``. ``train`` feeds training, ``val`` is the test split
(as in MTAN); ``validation_fraction`` holds out the last part of ``train`` for validation.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from zoo.data.sources import DataBundle
from zoo.data.vision_checks import (
    VisionDataError,
    check_depth,
    check_image,
    check_normals,
    check_segmentation,
)
from zoo.data.vision_resize import resize_example
from zoo.specs import FeatureSpec, TaskSpec

_FOLDERS = {"image": "image", "segmentation": "label", "depth": "depth", "normals": "normal"}
TASKS = ("segmentation", "depth", "normals")


def split_indices(root: str, split: str) -> list[int]:
    """Sorted example indices of one split; every folder must hold the same ones."""
    base = os.path.join(root, split)
    found = None
    for folder in _FOLDERS.values():
        path = os.path.join(base, folder)
        if not os.path.isdir(path):
            raise VisionDataError(f"nyuv2: missing folder {path}")
        ids = sorted(int(f[:-4]) for f in os.listdir(path) if f.endswith(".npy") and f[:-4].isdigit())
        if found is None:
            found = ids
        elif ids != found:
            raise VisionDataError(f"nyuv2: {path} does not hold the same files as {base}/image")
    if not found:
        raise VisionDataError(f"nyuv2: no .npy files under {base}/image")
    return found


def load_example(root: str, split: str, index: int, num_classes: int = 13) -> dict[str, np.ndarray]:
    """One example as contract arrays (image, segmentation, depth, normals), validated."""
    def path(kind):
        return os.path.join(root, split, _FOLDERS[kind], f"{index}.npy")

    return {
        "image": check_image(np.load(path("image")), where=path("image")),
        "segmentation": check_segmentation(np.load(path("segmentation")), num_classes, where=path("segmentation")),
        "depth": check_depth(np.load(path("depth")), where=path("depth")),
        "normals": check_normals(np.load(path("normals")), where=path("normals")),
    }


def _dataset(root, split, indices, num_classes, shape, tasks, size):
    h, w = shape

    def read(i):
        ex = load_example(root, split, int(i), num_classes)
        for key, arr in ex.items():
            if arr.shape[:2] != (h, w):
                raise VisionDataError(f"nyuv2 {split}/{_FOLDERS[key]}/{int(i)}.npy: size {arr.shape[:2]}, expected {(h, w)}")
        return ex["image"], ex["segmentation"], ex["depth"], ex["normals"]

    def to_example(i):
        image, seg, depth, normals = tf.numpy_function(read, [i], [tf.float32, tf.int64, tf.float32, tf.float32])
        image.set_shape((h, w, 3))
        seg.set_shape((h, w, 1))
        depth.set_shape((h, w, 1))
        normals.set_shape((h, w, 3))
        labels = {"segmentation": seg, "depth": depth, "normals": normals}
        return resize_example({"image": image}, {t: labels[t] for t in tasks}, size)

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(indices, np.int64))
    return ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)


def nyuv2_source(root: str, height: int | None = None, width: int | None = None, num_classes: int = 13,
                 validation_fraction: float = 0.0, tasks=TASKS) -> DataBundle:
    """DataBundle over the preprocessed NYUv2 folders, optionally resized to ``height x width``."""
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"nyuv2: unknown task {t!r} (valid: {', '.join(TASKS)})")
    if (height is None) != (width is None):
        raise ValueError("nyuv2: give both height and width, or neither")
    train_ids = split_indices(root, "train")
    test_ids = split_indices(root, "val")
    first = load_example(root, "train", train_ids[0], num_classes)["image"]
    shape = first.shape[:2]
    size = (height, width) if height is not None else None
    n_val = int(round(len(train_ids) * validation_fraction))
    val_ids, train_ids = train_ids[len(train_ids) - n_val:], train_ids[: len(train_ids) - n_val]
    out_shape = size or shape
    features = [FeatureSpec(name="image", kind="image", shape=(out_shape[0], out_shape[1], 3))]
    kinds = {"segmentation": dict(kind="segmentation", num_classes=num_classes), "depth": dict(kind="depth"),
             "normals": dict(kind="normals")}
    return DataBundle(
        features=features,
        tasks=[TaskSpec(name=t, **kinds[t]) for t in tasks],
        train=_dataset(root, "train", train_ids, num_classes, shape, tasks, size),
        validation=_dataset(root, "train", val_ids, num_classes, shape, tasks, size) if val_ids else None,
        test=_dataset(root, "val", test_ids, num_classes, shape, tasks, size),
        stats={"train_examples": len(train_ids), "validation_examples": len(val_ids), "test_examples": len(test_ids)},
        description=f"NYUv2 ({num_classes} classes) from {root}",
    )
