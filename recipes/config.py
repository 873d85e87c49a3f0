"""Recipe files: find by name or path, validate against the schema, apply a profile and ``--set``."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from recipes.errors import UsageError

RECIPE_DIR = Path(__file__).resolve().parent

#: The schema with its defaults. A ``None`` default accepts any value; the keys of
#: ``OPEN_MAPS`` may hold any sub-key (they are checked by the model, source, balancer).
DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": "",
    "seed": 0,
    "data": {
        "source": None,
        "params": {},
        "batch_size": 256,
        "eval_batch_size": 4096,
        "shuffle_buffer": 10000,
        "cache": None,  # None: cache in memory only when the source is in memory (known size)
    },
    "features": None,
    "tasks": None,
    "model": {"name": None, "params": {}},
    "balancer": {"name": "static"},
    "optimizer": {
        "name": "adam",
        "learning_rate": 0.001,
        "schedule": None,
        "decay_steps": 1000,
        "decay_rate": 0.9,
        "warmup_steps": 0,
        "clipnorm": None,
        "weight_decay": None,
    },
    "train": {
        "epochs": 10,
        "steps_per_epoch": None,
        "validation_steps": None,
        "steps_per_execution": 1,
        "jit_compile": False,
        "strategy": "auto",
        "precision": "float32",
        "resume": True,
        "checkpoint_every_steps": None,
        "diagnostics_batches": 4,
        "verbose": "auto",
        "early_stopping": {"monitor": "val_loss", "patience": 0, "restore_best_weights": True},
    },
    "evaluation": {"split": "test", "baseline": None},
    "export": {"formats": ["saved_model", "onnx"], "opset": None, "atol": None},
    "profiles": {},
}
OPEN_MAPS = {"data.params", "model.params", "balancer", "profiles", "optimizer"}
SCHEDULES = (None, "cosine", "exponential")


def recipe_names() -> list[str]:
    """Names of the recipes shipped in ``recipes/``."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def find_recipe(name_or_path: str) -> Path:
    """A recipe path from a name (``mmoe_synthetic``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not path.is_file():
            raise UsageError(f"recipe file {name_or_path!r} does not exist")
        return path
    candidate = RECIPE_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        raise UsageError(f"unknown recipe {name_or_path!r} (valid: {', '.join(recipe_names())})")
    return candidate


def _merge(base: dict, override: dict, path: str = "") -> dict:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys outside open maps are errors."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        full = f"{path}{key}"
        open_map = path.rstrip(".") in OPEN_MAPS
        if key not in base and not open_map:
            valid = ", ".join(base) if base else "none"
            raise UsageError(f"recipe: unknown key {full!r} (valid here: {valid})")
        if isinstance(base.get(key), dict) and isinstance(value, dict) and full not in OPEN_MAPS | {"profiles"}:
            out[key] = _merge(base[key], value, f"{full}.")
        elif isinstance(base.get(key), dict) and isinstance(value, dict):
            out[key] = {**base[key], **copy.deepcopy(value)}
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"recipe {str(path)!r} is not readable YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"recipe {str(path)!r} must be a mapping at the top level")
    return data


def parse_value(text: str) -> Any:
    """A ``--set`` value parsed as YAML (``3`` -> int, ``[16, 8]`` -> list, ``null``, strings)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _type_ok(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    if isinstance(default, dict):
        return isinstance(value, dict)
    return isinstance(value, type(default))


def apply_set(config: dict, assignment: str) -> None:
    """Apply one ``key.path=value`` override in place, checking the key and the value's type.

    ``balancer=NAME`` (a string on the balancer map) selects the balancer by name and drops
    the previous balancer's parameters.
    """
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--set {assignment!r}: expected key=value")
    value = parse_value(raw)
    parts = key.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        prefix = ".".join(parts[: i + 1])
        if not isinstance(node, dict) or part not in node:
            raise UsageError(f"--set {key}: unknown key {prefix!r}")
        if node[part] is None and prefix in OPEN_MAPS:
            node[part] = {}
        node = node[part]
    last = parts[-1]
    parent = ".".join(parts[:-1])
    if not isinstance(node, dict):
        raise UsageError(f"--set {key}: {parent!r} is not a mapping")
    if key == "balancer" and isinstance(value, str):
        config["balancer"] = {"name": value}
        return
    if key in ("features", "tasks") and not isinstance(value, list):
        raise UsageError(f"--set {key}: expected a list")
    if last not in node:
        if parent not in OPEN_MAPS:
            valid = ", ".join(node) if node else "none"
            raise UsageError(f"--set {key}: unknown key {last!r} (valid: {valid})")
        node[last] = value
        return
    if not _type_ok(node[last], value):
        raise UsageError(
            f"--set {key}: expected {type(node[last]).__name__}, got {type(value).__name__} {raw!r}"
        )
    if isinstance(node[last], float) and isinstance(value, int):
        value = float(value)
    node[last] = value


def resolve(recipe: str | dict, profile: str | None = None, overrides: list[str] = ()) -> dict:
    """The fully resolved config: defaults <- recipe file <- profile <- ``--set`` overrides.

    Without a profile, the recipe's ``full`` profile applies when it has one.
    """
    if isinstance(recipe, dict):
        data, default_name = copy.deepcopy(recipe), "custom"
    else:
        path = find_recipe(recipe)
        data, default_name = _read_yaml(path), path.stem
    config = _merge(DEFAULTS, data)
    config["name"] = config["name"] or default_name
    profiles = config.get("profiles") or {}
    if profile is None and "full" in profiles:
        profile = "full"
    if profile:
        if profile not in profiles:
            raise UsageError(f"recipe {config['name']!r} has no profile {profile!r} (valid: {', '.join(profiles) or 'none'})")
        for key, value in (profiles[profile] or {}).items():
            apply_set(config, f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}")
    for assignment in overrides:
        apply_set(config, assignment)
    config["profile"] = profile
    validate(config)
    return config


def validate(config: dict) -> None:
    """Checks that need the whole config; raises UsageError naming the key."""
    if not config["data"]["source"]:
        raise UsageError("recipe: data.source is required")
    if not config["model"]["name"]:
        raise UsageError("recipe: model.name is required")
    for key in ("batch_size", "eval_batch_size"):
        v = config["data"][key]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise UsageError(f"recipe: data.{key} must be a positive integer, got {v!r}")
    epochs = config["train"]["epochs"]
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise UsageError(f"recipe: train.epochs must be a positive integer, got {epochs!r}")
    if config["optimizer"].get("schedule") not in SCHEDULES:
        raise UsageError(f"recipe: optimizer.schedule must be one of {SCHEDULES}, got {config['optimizer']['schedule']!r}")
    from recipes.strategy import STRATEGIES
    from zoo.training.precision import PRECISIONS

    if config["train"]["strategy"] not in STRATEGIES:
        raise UsageError(f"recipe: train.strategy must be one of {', '.join(STRATEGIES)}")
    if config["train"]["precision"] not in PRECISIONS:
        raise UsageError(f"recipe: train.precision must be one of {', '.join(PRECISIONS)}")
    if not isinstance(config["balancer"], dict) or "name" not in config["balancer"]:
        raise UsageError("recipe: balancer must be a mapping with a 'name'")
    formats = config["export"]["formats"] or []
    for f in formats:
        if f not in ("saved_model", "onnx"):
            raise UsageError(f"recipe: export.formats entry {f!r} is not one of saved_model, onnx")
    if config["evaluation"]["split"] not in ("test", "validation"):
        raise UsageError("recipe: evaluation.split must be test or validation")


def dump(config: dict) -> str:
    """The resolved config as YAML text (what the run folder's config.yaml holds)."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None)
