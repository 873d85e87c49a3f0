"""Model name -> builder, with hyperparameter checking; loading saved zoo models."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable

import keras

_BUILDERS: dict[str, Callable] = {}
_FAMILIES: dict[str, str] = {}


def register_model(name: str, builder: Callable, family: str = "ranking") -> None:
    """Make ``builder(features, tasks, **hparams)`` available as ``zoo.create(name, ...)``.

    ``family`` is ``ranking`` (tabular features, per-example tasks) or ``vision`` (dense tasks).
    """
    _BUILDERS[name] = builder
    _FAMILIES[name] = family


def list_models(family: str | None = None) -> list[str]:
    """Names of the registered architectures, optionally of one family (ranking or vision)."""
    return sorted(n for n in _BUILDERS if family is None or _FAMILIES[n] == family)


def hyperparameters(name: str) -> dict:
    """The hyperparameters of an architecture with their defaults (the papers' settings)."""
    builder = _builder(name)
    return {
        p.name: p.default
        for p in inspect.signature(builder).parameters.values()
        if p.name not in ("features", "tasks")
    }


def _builder(name: str) -> Callable:
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r} (valid: {', '.join(list_models())})")
    return _BUILDERS[name]


def create(name: str, features, tasks, **hparams) -> keras.Model:
    """Build a registered architecture for these feature and task specs."""
    builder = _builder(name)
    valid = hyperparameters(name)
    for key in hparams:
        if key not in valid:
            raise ValueError(f"model {name!r}: unknown hyperparameter {key!r} (valid: {', '.join(valid)})")
    return builder(features, tasks, **hparams)


def load(path_or_name: str) -> keras.Model:
    """Load a zoo model from a ``.keras`` file (safe mode), or a pretrained entry by name."""
    if os.path.exists(path_or_name):
        return load_file(path_or_name)
    from zoo.pretrained import load_pretrained, pretrained_names

    if path_or_name in pretrained_names():
        return load_pretrained(path_or_name)
    raise ValueError(f"{path_or_name!r} is neither a model file nor a pretrained name")


def load_file(path: str) -> keras.Model:
    """Load a ``.keras`` zoo model in safe mode; a file that is not a zoo model is refused."""
    from zoo.training.model import MultiTaskModel

    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # Keras raises many types for corrupt files
        raise ValueError(f"{path}: not a loadable .keras model ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    if not isinstance(model, MultiTaskModel):
        raise ValueError(f"{path}: a Keras model, but not a zoo model (no feature/task specs)")
    return model
