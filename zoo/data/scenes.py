"""Rendered indoor-like scenes: exact per-pixel class, metric depth and surface normal, cached on disk.

Classes: 0 floor, 1 wall, 2 ceiling, then ``num_classes - 3`` object classes. Object class k has
shape ``("box", "sphere", "cylinder")[k % 3]`` and a hue centred on ``k / (num_classes - 3)``, so
every class is recognisable from shape and colour. Every ray hits the closed room, so every
depth and normal label is valid.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import os
import time

import numpy as np
import tensorflow as tf

from zoo.data.raycast import Camera, Scene, render
from zoo.data.sources import DataBundle
from zoo.specs import FeatureSpec, TaskSpec

_SPLITS = ("train", "validation", "test")
_CACHE_VERSION = 2  # bump whenever rendering changes


def _colour(rng: np.random.Generator, hue: float, sat=(0.45, 0.9), val=(0.55, 1.0)) -> list[float]:
    h = (hue + rng.uniform(-0.04, 0.04)) % 1.0
    return list(colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val)))


def _surface(rng: np.random.Generator, cls: int, rgb: list[float]) -> list[float]:
    kind = int(rng.integers(0, 3))
    return [cls, *rgb, kind, rng.uniform(0.15, 0.6), rng.uniform(0.1, 0.4) if kind else 0.0]


def _place(rng, room, radius, taken, tries=20):
    """A floor position (x, z) for a footprint of this radius that avoids the others, or None."""
    w, _, d = room
    for _ in range(tries):
        x = rng.uniform(-w / 2 + radius, w / 2 - radius)
        z = rng.uniform(1.6 + radius, d - radius)
        if all((x - x2) ** 2 + (z - z2) ** 2 > (radius + r2) ** 2 for x2, z2, r2 in taken):
            taken.append((x, z, radius))
            return x, z
    return None


def random_scene(rng: np.random.Generator, num_classes: int = 6, min_objects: int = 1,
                 max_objects: int = 6) -> tuple[Scene, Camera]:
    """A random room, lights, objects and camera pose."""
    if num_classes < 4:
        raise ValueError(f"scenes: num_classes must be >= 4 (floor, wall, ceiling, objects), got {num_classes}")
    room = (rng.uniform(4.0, 7.0), rng.uniform(2.5, 3.2), rng.uniform(5.0, 8.0))
    surfaces = [
        _surface(rng, 0, _colour(rng, rng.uniform(0.05, 0.12), (0.2, 0.6), (0.35, 0.7))),
        _surface(rng, 1, _colour(rng, rng.uniform(0.0, 1.0), (0.05, 0.3), (0.7, 0.95))),
        _surface(rng, 2, _colour(rng, 0.1, (0.0, 0.1), (0.85, 1.0))),
    ]
    n_obj_classes = num_classes - 3
    groups: dict[int, list] = {0: [], 1: [], 2: []}  # box, sphere, cylinder
    taken: list = []
    for _ in range(int(rng.integers(min_objects, max_objects + 1))):
        k = int(rng.integers(0, n_obj_classes))
        shape = k % 3
        if shape == 0:
            half = np.array([rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.6)])
            radius = float(np.hypot(half[0], half[2]))
        elif shape == 1:
            radius = rng.uniform(0.2, 0.6)
        else:
            radius, height = rng.uniform(0.15, 0.4), rng.uniform(0.4, 1.6)
        spot = _place(rng, room, radius, taken)
        if spot is None:
            continue
        x, z = spot
        surf = _surface(rng, 3 + k, _colour(rng, k / n_obj_classes))
        if shape == 0:
            groups[0].append(([x, half[1], z], half, rng.uniform(0, np.pi), surf))
        elif shape == 1:
            groups[1].append(([x, radius, z], radius, surf))
        else:
            groups[2].append(([x, 0.0, z], radius, height, surf))
    spheres, boxes, cyls = groups[1], groups[0], groups[2]
    surfaces += [s[-1] for s in spheres] + [b[-1] for b in boxes] + [c[-1] for c in cyls]
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.6, 1.0), rng.uniform(-0.8, 0.2)])
    scene = Scene(
        room=room,
        sphere_center=np.array([s[0] for s in spheres]).reshape(-1, 3),
        sphere_radius=np.array([s[1] for s in spheres], dtype=np.float64),
        box_center=np.array([b[0] for b in boxes]).reshape(-1, 3),
        box_half=np.array([b[1] for b in boxes]).reshape(-1, 3),
        box_yaw=np.array([b[2] for b in boxes], dtype=np.float64),
        cyl_base=np.array([c[0] for c in cyls]).reshape(-1, 3),
        cyl_radius=np.array([c[1] for c in cyls], dtype=np.float64),
        cyl_height=np.array([c[2] for c in cyls], dtype=np.float64),
        surface=np.array(surfaces, dtype=np.float64),
        light_dir=light / np.linalg.norm(light),
        ambient=rng.uniform(0.2, 0.45),
    )
    camera = Camera(
        position=(rng.uniform(-room[0] / 4, room[0] / 4), rng.uniform(1.1, 1.8), rng.uniform(0.2, 0.6)),
        yaw=rng.uniform(-0.35, 0.35),
        pitch=rng.uniform(-0.5, -0.1),
        fov=np.deg2rad(rng.uniform(60.0, 75.0)),
    )
    return scene, camera


def render_scenes(n: int, height: int = 64, width: int = 64, num_classes: int = 6, min_objects: int = 1,
                  max_objects: int = 6, seed: int = 0, stream: int = 0, noise: float = 0.01) -> dict[str, np.ndarray]:
    """Render ``n`` scenes; image i depends only on ``(seed, stream, i)``.

    Returns ``image`` uint8 [n,H,W,3], ``segmentation`` int8 [n,H,W], ``depth`` float32 [n,H,W],
    ``normals`` float32 [n,H,W,3].
    """
    out = {
        "image": np.empty((n, height, width, 3), np.uint8),
        "segmentation": np.empty((n, height, width), np.int8),
        "depth": np.empty((n, height, width), np.float32),
        "normals": np.empty((n, height, width, 3), np.float32),
    }
    for i in range(n):
        rng = np.random.default_rng([seed, stream, i])
        scene, camera = random_scene(rng, num_classes, min_objects, max_objects)
        r = render(scene, camera, height, width)
        image = r["image"].astype(np.float32)
        if noise:
            image += noise * rng.standard_normal(image.shape, dtype=np.float32)
        out["image"][i] = np.clip(image * 255.0 + 0.5, 0.0, 255.0).astype(np.uint8)
        out["segmentation"][i] = r["segmentation"]
        out["depth"][i] = r["depth"]
        out["normals"][i] = r["normals"]
    return out


def default_cache_dir() -> str:
    """``$MTLZOO_HOME/scenes`` or ``~/.cache/mtlzoo/scenes``."""
    home = os.environ.get("MTLZOO_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "mtlzoo")
    return os.path.join(home, "scenes")


def cached_scenes(split: str, n: int, cache_dir: str | None = None, **params) -> dict[str, np.ndarray]:
    """Rendered arrays for one split, read from (or rendered once into) an ``.npz`` cache file."""
    stream = _SPLITS.index(split)
    key = json.dumps({"v": _CACHE_VERSION, "n": n, "stream": stream, **params}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    folder = cache_dir or default_cache_dir()
    path = os.path.join(folder, f"{split}_{digest}.npz")
    if os.path.exists(path):
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    arrays = render_scenes(n, stream=stream, **params)
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return arrays


def scenes_dataset(arrays: dict[str, np.ndarray], tasks=("segmentation", "depth", "normals")) -> tf.data.Dataset:
    """Unbatched ``({"image"}, {task: label})`` examples in the model contract's dtypes and shapes."""
    labels = {}
    if "segmentation" in tasks:
        labels["segmentation"] = arrays["segmentation"][..., None]
    if "depth" in tasks:
        labels["depth"] = arrays["depth"][..., None]
    if "normals" in tasks:
        labels["normals"] = arrays["normals"]
    ds = tf.data.Dataset.from_tensor_slices(({"image": arrays["image"]}, labels))

    def convert(x, y):
        y = dict(y)
        if "segmentation" in y:
            y["segmentation"] = tf.cast(y["segmentation"], tf.int64)
        return {"image": tf.cast(x["image"], tf.float32) / 255.0}, y

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def scene_specs(height: int, width: int, num_classes: int, tasks=("segmentation", "depth", "normals")):
    """Feature and task specs of the scenes source."""
    features = [FeatureSpec(name="image", kind="image", shape=(height, width, 3))]
    kinds = {"segmentation": dict(kind="segmentation", num_classes=num_classes), "depth": dict(kind="depth"),
             "normals": dict(kind="normals")}
    for t in tasks:
        if t not in kinds:
            raise ValueError(f"scenes: unknown task {t!r} (valid: segmentation, depth, normals)")
    return features, [TaskSpec(name=t, **kinds[t]) for t in tasks]


def scenes_source(num_train: int = 2000, num_validation: int = 250, num_test: int = 250, height: int = 64,
                  width: int = 64, num_classes: int = 6, min_objects: int = 1, max_objects: int = 6,
                  seed: int = 0, noise: float = 0.01, cache_dir: str | None = None,
                  tasks=("segmentation", "depth", "normals")) -> DataBundle:
    """DataBundle of rendered scenes (feature ``image``; tasks segmentation, depth, normals)."""
    features, task_specs = scene_specs(height, width, num_classes, tasks)
    params = dict(height=height, width=width, num_classes=num_classes, min_objects=min_objects,
                  max_objects=max_objects, seed=seed, noise=noise)
    start = time.perf_counter()
    splits = {}
    for split, n in zip(_SPLITS, (num_train, num_validation, num_test), strict=True):
        splits[split] = scenes_dataset(cached_scenes(split, n, cache_dir, **params), tasks) if n else None
    if splits["test"] is None:
        raise ValueError("scenes: num_test must be >= 1")
    return DataBundle(
        features=features,
        tasks=task_specs,
        train=splits["train"],
        validation=splits["validation"],
        test=splits["test"],
        stats={"load_seconds": round(time.perf_counter() - start, 3)},
        description=f"rendered scenes {height}x{width}, {num_classes} classes, seed {seed}",
    )
