"""Real-data vision loaders on fixtures in the exact upstream layouts, and their bad-input rules."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from zoo.data.nyuv2 import nyuv2_source
from zoo.data.sources import load_source
from zoo.data.tfds_vision import cityscapes_source, nyu_depth_source
from zoo.data.vision_checks import (
    VisionDataError,
    check_depth,
    check_image,
    check_normals,
    check_segmentation,
)


def write_nyuv2(root, n_train=3, n_val=2, h=12, w=16, seed=0, label_max=12):
    """The MTAN/LibMTL preprocessed layout: float32 .npy per example and kind."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for folder in ("image", "label", "depth", "normal"):
            (root / split / folder).mkdir(parents=True)
        for i in range(n):
            label = rng.integers(-1, label_max + 1, (h, w)).astype(np.float32)
            depth = rng.uniform(0.5, 9.0, (h, w, 1)).astype(np.float32)
            depth[0, 0] = 0.0
            normal = rng.normal(size=(h, w, 3)).astype(np.float32)
            normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
            np.save(root / split / "image" / f"{i}.npy", rng.random((h, w, 3), dtype=np.float32))
            np.save(root / split / "label" / f"{i}.npy", label)
            np.save(root / split / "depth" / f"{i}.npy", depth)
            np.save(root / split / "normal" / f"{i}.npy", normal)


def test_nyuv2_fixture_layout_loads_and_resizes(tmp_path):
    write_nyuv2(tmp_path)
    bundle = load_source("nyuv2", root=str(tmp_path), height=8, width=8, validation_fraction=0.34)
    assert bundle.stats == {"train_examples": 2, "validation_examples": 1, "test_examples": 2}
    assert bundle.tasks[0].num_classes == 13
    x, y = next(iter(bundle.train))
    assert x["image"].shape == (8, 8, 3) and x["image"].dtype == tf.float32
    assert y["segmentation"].shape == (8, 8, 1) and y["segmentation"].dtype == tf.int64
    assert y["depth"].shape == (8, 8, 1) and y["normals"].shape == (8, 8, 3)
    assert int(tf.reduce_min(y["segmentation"])) >= -1 and int(tf.reduce_max(y["segmentation"])) <= 12
    full = nyuv2_source(str(tmp_path))
    x, y = next(iter(full.test))
    raw = np.load(tmp_path / "val" / "label" / "0.npy")
    np.testing.assert_array_equal(y["segmentation"].numpy()[..., 0], raw.astype(np.int64))
    assert float(y["depth"][0, 0, 0]) == 0.0  # 0 stays invalid


def test_nyuv2_out_of_range_class_is_a_clear_error(tmp_path):
    write_nyuv2(tmp_path)
    np.save(tmp_path / "train" / "label" / "2.npy", np.full((12, 16), 13, np.float32))
    bundle = nyuv2_source(str(tmp_path), num_classes=13)  # the first example is fine
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"2\.npy: class 13 is outside \[0, 12\]"):
        for _ in bundle.train:
            pass
    with pytest.raises(VisionDataError, match="class 12 is outside"):
        nyuv2_source(str(tmp_path), num_classes=12)


def test_nyuv2_missing_folder_is_named(tmp_path):
    write_nyuv2(tmp_path)
    for f in (tmp_path / "val" / "normal").iterdir():
        f.unlink()
    (tmp_path / "val" / "normal").rmdir()
    with pytest.raises(VisionDataError, match="val/normal"):
        nyuv2_source(str(tmp_path))


def test_array_rules_for_bad_input():
    with pytest.raises(VisionDataError, match="rank 3"):
        check_image(np.zeros((4, 4)))
    with pytest.raises(VisionDataError, match="3 channels"):
        check_image(np.zeros((4, 4, 4), np.float32))
    with pytest.raises(VisionDataError, match="dtype"):
        check_image(np.zeros((4, 4, 3), np.int16))
    with pytest.raises(VisionDataError, match="NaN"):
        check_image(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(VisionDataError, match="class 5"):
        check_segmentation(np.full((2, 2), 5), num_classes=5)
    with pytest.raises(VisionDataError, match="non-integer"):
        check_segmentation(np.full((2, 2), 0.5), num_classes=5)
    seg = check_segmentation(np.array([[np.nan, 1.0]]), num_classes=5)
    assert seg.tolist() == [[[-1], [1]]]
    depth = check_depth(np.array([[np.nan, -2.0, np.inf, 3.0]]))
    assert depth[..., 0].tolist() == [[0.0, 0.0, 0.0, 3.0]]
    normals = check_normals(np.array([[[np.nan, 0, 1], [0, 0, 1]]], np.float32))
    assert normals.tolist() == [[[0, 0, 0], [0, 0, 1]]]


def test_tfds_nyu_depth_on_mock_data():
    with tfds.testing.mock_data(num_examples=2):
        bundle = nyu_depth_source(height=12, width=16)
        x, y = next(iter(bundle.train))
    assert x["image"].shape == (12, 16, 3) and float(tf.reduce_max(x["image"])) <= 1.0
    assert y["depth"].shape == (12, 16, 1) and y["depth"].dtype == tf.float32


@pytest.mark.parametrize("config,task", [("semantic_segmentation", "segmentation"), ("stereo_disparity", "depth")])
def test_tfds_cityscapes_on_mock_data(config, task):
    with tfds.testing.mock_data(num_examples=1):
        bundle = cityscapes_source(config, height=8, width=16)
        x, y = next(iter(bundle.train))
    assert [t.name for t in bundle.tasks] == [task]
    assert x["image"].shape == (8, 16, 3)
    if task == "segmentation":
        assert y[task].dtype == tf.int64 and -1 <= int(tf.reduce_min(y[task])) and int(tf.reduce_max(y[task])) < 19
    else:
        assert float(tf.reduce_min(y[task])) >= 0.0
