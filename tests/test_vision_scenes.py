"""Renderer exactness, determinism and the on-disk cache of the rendered scenes source."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data import raycast, scenes
from zoo.data.raycast import Camera, Scene, render


def _empty_room(room=(6.0, 3.0, 8.0)) -> Scene:
    none3, none1 = np.zeros((0, 3)), np.zeros((0,))
    surface = np.array([[0, 0.5, 0.4, 0.3, 0, 0.5, 0.0], [1, 0.8, 0.8, 0.8, 0, 0.5, 0.0],
                        [2, 0.9, 0.9, 0.9, 0, 0.5, 0.0]])
    return Scene(room, none3, none1, none3, none3, none1, none3, none1, none1, surface,
                 light_dir=np.array([0.0, 1.0, 0.0]))


def test_floor_depth_and_normal_match_the_pinhole_model():
    h, w, height = 32, 32, 1.5
    cam = Camera(position=(0.0, height, 0.5), yaw=0.0, pitch=0.0, fov=np.deg2rad(60.0))
    out = render(_empty_room(), cam, h, w)
    f = cam.focal(w)
    ys = (np.arange(h) + 0.5 - h / 2) / f  # downward ray slope per row
    floor = out["segmentation"] == raycast.FLOOR
    rows = np.nonzero(floor.any(axis=1))[0]
    assert rows.min() > h / 2  # the floor is only seen below the horizon
    expected = np.broadcast_to((height / ys)[:, None], (h, w))
    np.testing.assert_allclose(out["depth"][floor], expected[floor], rtol=1e-9)
    np.testing.assert_allclose(out["normals"][floor], np.tile([0.0, -1.0, 0.0], (floor.sum(), 1)), atol=1e-12)


def test_back_wall_depth_is_constant_for_a_level_camera():
    cam = Camera(position=(0.0, 1.5, 0.5), fov=np.deg2rad(40.0))
    out = render(_empty_room(room=(20.0, 3.0, 4.0)), cam, 16, 16)
    wall = out["segmentation"] == raycast.WALL
    np.testing.assert_allclose(out["depth"][wall], 3.5, rtol=1e-9)
    np.testing.assert_allclose(out["normals"][wall], np.tile([0.0, 0.0, -1.0], (wall.sum(), 1)), atol=1e-12)


def test_sphere_depth_matches_closed_form_at_the_centre_pixel():
    scene = _empty_room()
    scene.sphere_center = np.array([[0.0, 1.5, 4.0]])
    scene.sphere_radius = np.array([0.5])
    scene.surface = np.vstack([scene.surface, [3, 1, 0, 0, 0, 0.5, 0]])
    out = render(scene, Camera(position=(0.0, 1.5, 0.5)), 16, 16)
    f = Camera(position=(0.0, 1.5, 0.5)).focal(16)
    d = np.array([0.5 / f, 0.5 / f, 1.0])  # a centre pixel's ray; by symmetry all four agree
    c = np.array([0.0, 0.0, 3.5])  # sphere centre relative to the camera
    b, a = d @ c, d @ d
    t = (b - np.sqrt(b * b - a * (c @ c - 0.25))) / a  # z-depth, since d_z = 1
    assert np.all(out["segmentation"][7:9, 7:9] == 3)
    np.testing.assert_allclose(out["depth"][7:9, 7:9], t, rtol=1e-9)
    n = (t * d - c) / 0.5
    np.testing.assert_allclose(np.abs(out["normals"][7:9, 7:9]), np.broadcast_to(np.abs(n), (2, 2, 3)), rtol=1e-9)


def test_rendered_labels_are_valid_and_deterministic():
    a = scenes.render_scenes(6, 32, 32, num_classes=7, seed=3)
    b = scenes.render_scenes(6, 32, 32, num_classes=7, seed=3)
    c = scenes.render_scenes(6, 32, 32, num_classes=7, seed=4)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["image"], c["image"])
    assert a["segmentation"].min() >= 0 and a["segmentation"].max() < 7
    np.testing.assert_allclose(np.linalg.norm(a["normals"], axis=-1), 1.0, atol=1e-5)
    assert np.all(np.isfinite(a["depth"])) and a["depth"].min() > 0
    assert a["image"].dtype == np.uint8


def test_scenes_source_uses_the_cache(tmp_path, monkeypatch):
    bundle = scenes.scenes_source(num_train=4, num_validation=2, num_test=2, height=16, width=16,
                                  cache_dir=str(tmp_path))
    assert len(list(tmp_path.glob("*.npz"))) == 3
    x, y = next(iter(bundle.train))
    assert x["image"].dtype.name == "float32" and x["image"].shape == (16, 16, 3)
    assert y["segmentation"].dtype.name == "int64" and y["segmentation"].shape == (16, 16, 1)
    assert y["depth"].shape == (16, 16, 1) and y["normals"].shape == (16, 16, 3)

    def boom(*a, **k):
        raise AssertionError("re-rendered despite the cache")

    monkeypatch.setattr(scenes, "render_scenes", boom)
    again = scenes.scenes_source(num_train=4, num_validation=2, num_test=2, height=16, width=16,
                                 cache_dir=str(tmp_path))
    np.testing.assert_array_equal(next(iter(again.train))[0]["image"], x["image"])


def test_bad_scene_parameters_are_refused(tmp_path):
    with pytest.raises(ValueError, match="num_classes"):
        scenes.scenes_source(num_train=1, num_validation=0, num_test=1, height=8, width=8, num_classes=3,
                             cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="unknown task"):
        scenes.scenes_source(num_train=1, num_validation=0, num_test=1, tasks=("edges",), cache_dir=str(tmp_path))
