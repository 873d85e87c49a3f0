"""Validation and conversion of dense-vision arrays to the model contract, with one clear error per problem.

Rules (shared by every vision loader):
- images: rank 3 ``[H, W, 3]`` (or rank 4 for a batch); uint8 is scaled to ``[0, 1]``, floats are
  kept, anything else (ints other than uint8, bool, strings) is refused; NaN/inf pixels are refused.
- segmentation: integer-valued ``[H, W]`` or ``[H, W, 1]``; -1 (and NaN) = ignore; any other negative
  value or a class >= num_classes is refused by loaders (the loss/metric masking in
  ``zoo.labels`` additionally ignores such pixels if they reach a model).
- depth: ``[H, W]`` or ``[H, W, 1]``; NaN, inf and values <= 0 are invalid and become 0.
- normals: ``[H, W, 3]``; a non-finite vector is invalid and becomes the zero vector.
"""

from __future__ import annotations

import numpy as np


class VisionDataError(ValueError):
    """A vision array has the wrong rank, shape, dtype or values; the message says which and where."""


def check_image(image, where: str = "image", batch: bool = False) -> np.ndarray:
    """A float32 RGB image (or batch) in the contract layout; uint8 is scaled by 1/255."""
    arr = np.asarray(image)
    rank = 4 if batch else 3
    layout = "[B, H, W, 3]" if batch else "[H, W, 3]"
    if arr.ndim != rank:
        raise VisionDataError(f"{where}: expected rank {rank} {layout}, got shape {arr.shape}")
    if arr.shape[-1] != 3:
        raise VisionDataError(f"{where}: expected 3 channels (RGB) in the last axis, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise VisionDataError(f"{where}: dtype {arr.dtype} is not an image dtype (use float32 in [0, 1] or uint8)")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise VisionDataError(f"{where}: image contains NaN or inf")
    return arr


def check_segmentation(label, num_classes: int, where: str = "label") -> np.ndarray:
    """An int64 ``[H, W, 1]`` class map with -1 = ignore; out-of-range classes are an error."""
    arr = np.asarray(label)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise VisionDataError(f"{where}: expected a [H, W] or [H, W, 1] class map, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.where(np.isnan(arr), -1.0, arr)
        if np.any(arr != np.round(arr)):
            raise VisionDataError(f"{where}: class map has non-integer values")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise VisionDataError(f"{where}: dtype {arr.dtype} is not a class-map dtype")
    arr = arr.astype(np.int64)
    bad = arr[(arr < -1) | (arr >= num_classes)]
    if bad.size:
        raise VisionDataError(
            f"{where}: class {int(bad[0])} is outside [0, {num_classes - 1}] (-1 = ignore); check num_classes"
        )
    return arr[..., None]


def check_depth(depth, where: str = "depth") -> np.ndarray:
    """A float32 ``[H, W, 1]`` depth map with every non-finite or non-positive value set to 0 (invalid)."""
    arr = np.asarray(depth)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise VisionDataError(f"{where}: expected a [H, W] or [H, W, 1] depth map, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise VisionDataError(f"{where}: dtype {arr.dtype} is not numeric")
    arr = arr.astype(np.float32)
    return np.where(np.isfinite(arr) & (arr > 0), arr, 0.0).astype(np.float32)[..., None]


def check_normals(normals, where: str = "normal") -> np.ndarray:
    """A float32 ``[H, W, 3]`` normal map; non-finite vectors become zero (invalid)."""
    arr = np.asarray(normals)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise VisionDataError(f"{where}: expected a [H, W, 3] normal map, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise VisionDataError(f"{where}: dtype {arr.dtype} is not a float dtype")
    arr = arr.astype(np.float32)
    ok = np.all(np.isfinite(arr), axis=-1, keepdims=True)
    return np.where(ok, arr, 0.0).astype(np.float32)


def check_model_input(model, images) -> dict:
    """Validate a batch of images for a dense zoo model and return its input dict (uint8 scaled)."""
    spec = next(f for f in model.feature_specs if f.kind == "image")
    arr = check_image(images, where=f"feature {spec.name!r}", batch=True)
    if tuple(arr.shape[1:]) != tuple(spec.shape):
        raise VisionDataError(f"feature {spec.name!r}: expected images of shape {tuple(spec.shape)}, got {arr.shape[1:]}")
    return {spec.name: arr}
