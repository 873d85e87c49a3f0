"""Mixed precision switches and the float32 copy of a model that exports use."""

from __future__ import annotations

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def set_precision(precision: str) -> None:
    """Set Keras' global dtype policy (call before building the model)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    keras.mixed_precision.set_global_policy(precision)


def _float32_config(config):
    """A copy of a (nested) model config with every dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {k: _float32_config(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_float32_config(v) for v in config]
    if config in ("mixed_float16", "mixed_bfloat16"):
        return "float32"
    return config


def float32_copy(model):
    """The same architecture and weights computing in float32 (exports are always float32)."""
    policies = {getattr(layer, "dtype_policy", None) and layer.dtype_policy.name for layer in model.layers}
    if policies <= {"float32", None}:
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        clone = model.__class__.from_config(_float32_config(model.get_config()))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    clone.set_weights(model.get_weights())
    return clone
