"""Data sources by name: each turns recipe parameters into a DataBundle of tf.data splits."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from zoo.specs import FeatureSpec, TaskSpec


@dataclasses.dataclass
class DataBundle:
    """What a source delivers: specs plus unbatched train/validation/test datasets.

    Each dataset yields ``(features: dict, labels: dict)`` single examples with the dtypes of
    the model contract (dense float32 ``[d]``, ids int64 ``[1]`` or ``[L]``, images float32
    ``[H, W, 3]``; labels float32 ``[1]`` with NaN = missing, or int64 with -1 = missing).
    ``extras`` carries source-specific objects (a fitted preprocessor, ground-truth arrays).
    ``stats`` carries counts that belong in metrics.json (e.g. skipped malformed rows).
    """

    features: list[FeatureSpec]
    tasks: list[TaskSpec]
    train: tf.data.Dataset
    validation: tf.data.Dataset | None
    test: tf.data.Dataset
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""


#: name -> "module:function". A source function is ``fn(**params) -> DataBundle``.
SOURCES: dict[str, str] = {
    "mmoe_synthetic": "zoo.data.synthetic:mmoe_synthetic_source",
    "funnel_synthetic": "zoo.data.funnel:funnel_source",
    "scenes": "zoo.data.scenes:scenes_source",
    "nyuv2": "zoo.data.nyuv2:nyuv2_source",
    "cityscapes": "zoo.data.tfds_vision:cityscapes_source",
    "nyu_depth_tfds": "zoo.data.tfds_vision:nyu_depth_source",
    "tabular": "zoo.data.tabular:tabular_source",
    "census_income": "zoo.data.census:census_income_source",
    "ali_ccp": "zoo.data.aliccp:ali_ccp_source",
    "aliexpress": "zoo.data.aliexpress:aliexpress_source",
    "movielens": "zoo.data.movielens:movielens_source",
}


def register_source(name: str, target: str | Callable) -> None:
    """Add a source: ``target`` is a function or a ``"module:function"`` string."""
    SOURCES[name] = target


def get_source(name: str) -> Callable[..., DataBundle]:
    """The source function for a name; an unknown name lists the valid ones."""
    if name not in SOURCES:
        raise ValueError(f"unknown data source {name!r} (valid: {', '.join(sorted(SOURCES))})")
    target = SOURCES[name]
    if callable(target):
        return target
    module, _, fn = target.partition(":")
    return getattr(importlib.import_module(module), fn)


def load_source(name: str, **params) -> DataBundle:
    """Call a source with its parameters; a wrong parameter name gives a one-line error."""
    fn = get_source(name)
    try:
        return fn(**params)
    except TypeError as e:
        if "unexpected keyword argument" in str(e) or "missing" in str(e):
            raise ValueError(f"data source {name!r}: {e}") from None
        raise
