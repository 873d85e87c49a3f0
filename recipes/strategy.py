"""Choosing a ``tf.distribute`` strategy for a run (TF_CONFIG is read like any TF program)."""

from __future__ import annotations

import json
import os

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")

#: One strategy object per kind and process: a second MirroredStrategy in the same process
#: restarts its collective keys and collides with the first one's (runs in a loop, `compare`).
_CACHE: dict[str, object] = {}


def _workers_in_tf_config() -> int:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(name: str = "auto"):
    """``auto``: MultiWorkerMirrored when TF_CONFIG names several workers, Mirrored when more
    than one GPU is visible, else the default strategy."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    if name == "auto":
        if _workers_in_tf_config() > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker" and _workers_in_tf_config() < 1:
        raise ValueError("strategy multi_worker needs TF_CONFIG with a cluster of workers")
    if name not in _CACHE:
        _CACHE[name] = (tf.distribute.MultiWorkerMirroredStrategy() if name == "multi_worker"
                        else tf.distribute.MirroredStrategy())
    return _CACHE[name]


def is_chief(strategy) -> bool:
    """True for the worker that writes the run folder (task 0, or the chief task)."""
    resolver = getattr(strategy.extended, "_cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in (resolver.cluster_spec().as_dict() or {})
    return task_type == "worker" and task_id == 0 and not has_chief
