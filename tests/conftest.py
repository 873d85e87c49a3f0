"""Shared fixtures: tiny specs that exercise every input kind and awkward names."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402,F401

# A feature called `dense` and a task called `gate` must not collide with internal layer names.
TINY_FEATURES = [
    {"name": "dense", "kind": "dense", "dim": 4},
    {"name": "user", "kind": "categorical", "vocab_size": 7, "embedding_dim": 4},
    {"name": "history", "kind": "sequence", "vocab_size": 7, "max_len": 3, "embedding_dim": 4,
     "shared_embedding": "user"},
]
TINY_TASKS = [
    {"name": "ctr", "kind": "binary"},
    {"name": "gate", "kind": "regression"},
]
FUNNEL_TASKS = [{"name": "ctr", "kind": "binary"}, {"name": "cvr", "kind": "binary"}]
SMALL_HPARAMS = {
    "single_task": {"bottom_units": [8], "tower_units": [4]},
    "shared_bottom": {"bottom_units": [8], "tower_units": [4]},
    "omoe": {"num_experts": 3, "expert_units": [8, 4], "tower_units": [4]},
    "mmoe": {"num_experts": 3, "expert_units": [8, 4], "tower_units": [4]},
    "cgc": {"num_shared_experts": 2, "num_task_experts": 1, "expert_units": [8], "tower_units": [4]},
    "ple": {"num_levels": 2, "num_shared_experts": 1, "num_task_experts": 2, "expert_units": [8], "tower_units": [4]},
    "esmm": {"tower_units": [8, 4]},
    "aitm": {"tower_units": [8, 4], "info_dim": 4},
    "cross_stitch": {"column_units": [8, 4], "tower_units": [4]},
}
RANKING_MODELS = list(SMALL_HPARAMS)


def tiny_batch(n: int = 32, seed: int = 0, tasks=TINY_TASKS) -> tuple[dict, dict]:
    """Features incl. OOV/negative ids and an all-padding row; labels with some missing."""
    rng = np.random.default_rng(seed)
    x = {
        "dense": rng.normal(size=(n, 4)).astype("float32"),
        "user": rng.integers(-2, 10, size=(n, 1)).astype("int64"),
        "history": rng.integers(0, 9, size=(n, 3)).astype("int64"),
    }
    x["history"][0] = 0
    y = {}
    for t in tasks:
        if t["kind"] == "binary":
            v = rng.integers(0, 2, size=(n, 1)).astype("float32")
        else:
            v = rng.normal(size=(n, 1)).astype("float32")
        v[:3] = np.nan
        y[t["name"]] = v
    if any(t["name"] == "cvr" for t in tasks):
        y["ctcvr"] = y["ctr"] * np.nan_to_num(y["cvr"])
    return x, y


def tasks_for(name: str):
    """Task specs a model accepts: funnel tasks for ESMM/AITM, the tiny pair otherwise."""
    return FUNNEL_TASKS if name in ("esmm", "aitm") else TINY_TASKS


@pytest.fixture
def tmp_run(tmp_path):
    """A fresh run folder path (not created)."""
    return tmp_path / "run"
