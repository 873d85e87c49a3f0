"""The recipe runner: resolve a recipe, train, evaluate, and fill the run folder."""

from __future__ import annotations

import inspect
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recipes import config as recipe_config
from recipes.errors import UsageError


def _optimizer(cfg: dict, total_steps: int):
    """A Keras optimizer from the recipe's optimizer section."""
    import keras

    lr = cfg["learning_rate"]
    schedule = cfg.get("schedule")
    if schedule == "cosine":
        warmup = int(cfg.get("warmup_steps") or 0)
        if warmup:
            lr = keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=max(total_steps - warmup, 1), warmup_target=lr, warmup_steps=warmup
            )
        else:
            lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(total_steps, 1))
    elif schedule == "exponential":
        lr = keras.optimizers.schedules.ExponentialDecay(lr, cfg["decay_steps"], cfg["decay_rate"])
    kwargs = {"learning_rate": lr}
    if cfg.get("clipnorm"):
        kwargs["clipnorm"] = float(cfg["clipnorm"])
    name = cfg["name"].lower()
    if cfg.get("weight_decay"):
        kwargs["weight_decay"] = float(cfg["weight_decay"])
        if name == "adam":
            name = "adamw"
    extra = {k: v for k, v in cfg.items()
             if k not in ("name", "learning_rate", "schedule", "decay_steps", "decay_rate",
                          "warmup_steps", "clipnorm", "weight_decay")}
    classes = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop, "adagrad": keras.optimizers.Adagrad}
    if name not in classes:
        raise UsageError(f"recipe: optimizer.name {cfg['name']!r} is not one of {', '.join(classes)}")
    try:
        return classes[name](**kwargs, **extra)
    except (TypeError, ValueError) as e:
        raise UsageError(f"recipe: optimizer: {e}") from None


def _source_params(config: dict, fn) -> dict:
    """The source's keyword arguments; the recipe seed is passed when the source takes one."""
    params = dict(config["data"]["params"] or {})
    accepted = inspect.signature(fn).parameters
    if "seed" in accepted and "seed" not in params:
        params["seed"] = config["seed"]
    return params


def load_data(config: dict):
    """The recipe's DataBundle (bad source names or parameters raise UsageError)."""
    from zoo.data.sources import get_source

    try:
        fn = get_source(config["data"]["source"])
    except ValueError as e:
        raise UsageError(str(e)) from None
    params = _source_params(config, fn)
    unknown = [k for k in params if k not in inspect.signature(fn).parameters]
    if unknown and not any(p.kind == p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()):
        valid = ", ".join(inspect.signature(fn).parameters)
        raise UsageError(f"recipe: data.params.{unknown[0]} is not a parameter of source "
                         f"{config['data']['source']!r} (valid: {valid})")
    return fn(**params)


def _resolve_specs(config: dict, bundle):
    """Feature/task specs: the recipe's when given, else the source's."""
    features = config["features"] or [f.to_dict() for f in bundle.features]
    tasks = config["tasks"] or [t.to_dict() for t in bundle.tasks]
    return features, tasks


def build_model(config: dict, bundle):
    """Create and compile the recipe's model (unknown model/hyperparameter -> UsageError)."""
    import zoo

    features, tasks = _resolve_specs(config, bundle)
    try:
        model = zoo.create(config["model"]["name"], features, tasks, **(config["model"]["params"] or {}))
    except ValueError as e:
        raise UsageError(str(e)) from None
    return model


def _batches(dataset, batch_size: int, shuffle: int = 0, seed: int = 0, cache: bool = False):
    import tensorflow as tf

    if dataset is None:
        return None
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


#: Free space a run folder needs before training starts (checkpoints, model, exports).
MIN_FREE_BYTES = 64 * 1024 * 1024


def _epoch_batches(dataset, batch_size: int, shuffle: int, seed: int, first_epoch: int, epochs: int,
                   cache: bool):
    """Training batches for epochs ``first_epoch .. epochs-1``, each epoch shuffled by
    ``(seed, epoch)`` alone, so that a resumed run sees exactly the batches it would have seen."""
    import tensorflow as tf

    base = dataset.cache() if cache else dataset
    per_epoch = [base.shuffle(shuffle, seed=seed * 100003 + e).batch(batch_size) for e in range(first_epoch, epochs)]
    if not per_epoch:
        return base.batch(batch_size).take(0)
    combined = per_epoch[0]
    for more in per_epoch[1:]:
        combined = combined.concatenate(more)
    return combined.prefetch(tf.data.AUTOTUNE)


def _check_output(output: Path) -> None:
    """Fail before training when the run folder cannot be written or the disk is (nearly) full."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"output folder {str(output)!r} is not writable: {e.strerror}") from None
    free = shutil.disk_usage(output).free
    if free < MIN_FREE_BYTES:
        raise UsageError(f"output folder {str(output)!r}: only {free / 2**20:.0f} MiB free on its disk "
                         f"(need at least {MIN_FREE_BYTES / 2**20:.0f} MiB)")


def hardware() -> dict:
    """What the run ran on: platform, CPU count, visible GPUs, versions."""
    import keras
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _clean(value):
    """JSON-safe floats (NaN -> None) for metrics.json."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def predict_split(model, dataset, batch_size: int) -> tuple[dict, dict, dict]:
    """(features, labels, predictions) numpy dicts for a whole (small) evaluation split."""
    from zoo.data.arrays import to_numpy

    x, y = to_numpy(dataset, batch_size)
    preds = model.predict(x, batch_size=batch_size, verbose=0)
    return x, y, {k: np.asarray(v) for k, v in preds.items()}


def train_recipe(recipe, output, overrides=(), smoke: bool = False, profile: str | None = None,
                 verbose=None, export: bool | None = None, command: str | None = None) -> dict:
    """Train a recipe into the run folder ``output``; returns the metrics.json content.

    A run folder that holds a checkpoint of an interrupted run resumes from it.
    """
    import keras

    from recipes.strategy import is_chief, make_strategy
    from zoo.training.precision import set_precision

    config = recipe_config.resolve(recipe, profile or ("smoke" if smoke else None), list(overrides))
    train_cfg = config["train"]
    try:
        strategy = make_strategy(train_cfg["strategy"])
    except ValueError as e:
        raise UsageError(str(e)) from None
    chief = is_chief(strategy)
    requested = Path(output)
    output = requested if chief else Path(tempfile.mkdtemp(prefix="mtlzoo-worker-"))
    keras.utils.set_random_seed(int(config["seed"]))
    set_precision(train_cfg["precision"])
    try:
        return _train(config, recipe, output, requested, strategy, chief, smoke, profile, overrides, verbose,
                      export, command)
    finally:
        set_precision("float32")
        if not chief:
            shutil.rmtree(output, ignore_errors=True)


def _train(config, recipe, output: Path, run_dir: Path, strategy, chief, smoke, profile, overrides, verbose,
           export, command):
    """The training run proper; ``output`` is ``run_dir`` on the chief, a scratch folder elsewhere."""
    from zoo.training.guards import NonFiniteLossGuard
    from zoo.training.resume import ResumeCheckpoint

    bundle = _with_known_sizes(load_data(config))
    data, train_cfg = config["data"], config["train"]
    checkpoints = output / "checkpoints"
    restore_from = run_dir / "checkpoints"
    finished = (run_dir / "metrics.json").exists()  # written last: the folder holds a completed run
    if chief and (finished or not train_cfg["resume"]):
        shutil.rmtree(checkpoints, ignore_errors=True)
    cache = data["cache"] if data["cache"] is not None else int(bundle.train.cardinality()) > 0
    with strategy.scope():
        model = build_model(config, bundle)
        steps = train_cfg["steps_per_epoch"]
        examples = int(bundle.train.cardinality())
        if steps is None and examples > 0:
            steps = math.ceil(examples / data["batch_size"])
            first = ResumeCheckpoint.epochs_done(str(restore_from))
            train_ds = _epoch_batches(bundle.train, data["batch_size"], data["shuffle_buffer"], int(config["seed"]),
                                      first, train_cfg["epochs"], cache)
        else:
            train_ds = _batches(bundle.train, data["batch_size"], data["shuffle_buffer"], config["seed"], cache)
            if steps is not None:
                train_ds = train_ds.repeat()
        try:
            model.compile(
                optimizer=_optimizer(config["optimizer"], (steps or 1000) * train_cfg["epochs"]),
                balancer=config["balancer"],
                jit_compile=bool(train_cfg["jit_compile"]),
                steps_per_execution=int(train_cfg["steps_per_execution"]),
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
    _check_output(output)
    val_ds = _batches(bundle.validation, data["eval_batch_size"], cache=cache)
    train_ds, val_ds = _shard_by_data(train_ds), _shard_by_data(val_ds)
    test_split = bundle.test if config["evaluation"]["split"] == "test" else bundle.validation
    resume = ResumeCheckpoint(str(checkpoints), train_cfg["checkpoint_every_steps"], is_chief=chief,
                              restore_from=str(restore_from))
    callbacks = [resume, NonFiniteLossGuard(), *_callbacks(config, output, has_validation=val_ds is not None)]
    if train_cfg["diagnostics_batches"]:
        from zoo.training.callbacks import TaskDiagnostics

        probe_data = bundle.train.take(data["batch_size"] * train_cfg["diagnostics_batches"]).batch(data["batch_size"])
        callbacks.insert(0, TaskDiagnostics(probe_data, num_batches=int(train_cfg["diagnostics_batches"])))
    if verbose is None:
        verbose = train_cfg["verbose"]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=train_cfg["epochs"],
        steps_per_epoch=steps,
        validation_steps=train_cfg["validation_steps"],
        callbacks=callbacks,
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    test = model.evaluate(_batches(test_split, data["eval_batch_size"]), return_dict=True, verbose=0)
    _, _, predictions = predict_split(model, test_split, data["eval_batch_size"])
    extra = {}
    if "evaluate_predictions" in bundle.extras:
        extra = bundle.extras["evaluate_predictions"](predictions)
    results = {
        "recipe": config["name"],
        "profile": config.get("profile"),
        "model": model.architecture,
        "balancer": model.balancer.get_config(),
        "seed": config["seed"],
        "parameters": int(model.count_params()),
        "test": {k: float(v) for k, v in test.items()},
        "test_by_task": {t.name: {m: float(test[f"{t.name}_{m}"]) for m in t.metrics if f"{t.name}_{m}" in test}
                         for t in model.task_specs},
        "test_extra": extra,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        "diagnostics": {k: float(v[-1]) for k, v in history.history.items() if "/" in k and v},
        "epochs_run": (history.epoch[-1] + 1) if history.epoch else int(resume.restored_epoch or 0),
        "resumed_from_epoch": resume.restored_epoch,
        "train_seconds": round(train_seconds, 2),
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "precision": train_cfg["precision"],
        "weights_sha256": weights_digest(model),
        "data": {"source": data["source"], "description": bundle.description, "stats": bundle.stats},
        "hardware": hardware(),
        "command": command or _command(recipe, smoke, profile, overrides, output),
    }
    baseline = config["evaluation"].get("baseline")
    if baseline:
        results["delta_m"] = _delta_m_against(baseline, results["test"])
    if chief:
        _write_run_folder(output, config, model, results, bundle, export)
    return _clean(results)


def _with_known_sizes(bundle):
    """Streamed sources count their rows while preparing the splits (``stats["rows"]``); telling
    tf.data those sizes lets Keras know its epochs (progress bar, validation, exact resume)."""
    import tensorflow as tf

    rows = (bundle.stats or {}).get("rows") or {}
    for split in ("train", "validation", "test"):
        dataset = getattr(bundle, split)
        if dataset is not None and int(dataset.cardinality()) < 0 and rows.get(split, 0) > 0:
            setattr(bundle, split, dataset.apply(tf.data.experimental.assert_cardinality(int(rows[split]))))
    return bundle


def _shard_by_data(dataset):
    """In-memory sources cannot be sharded by file: under multi-worker training each worker
    takes every n-th element (harmless on one worker)."""
    import tensorflow as tf

    if dataset is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def weights_digest(model) -> str:
    """sha256 over all model weights, to compare replicas/workers bit for bit."""
    import hashlib

    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def _command(recipe, smoke, profile, overrides, output) -> str:
    parts = ["mtlzoo", "train", str(recipe) if not isinstance(recipe, dict) else "<dict>"]
    if smoke:
        parts.append("--smoke")
    if profile:
        parts += ["--profile", profile]
    for o in overrides:
        parts += ["--set", o]
    parts += ["--output", str(output)]
    return " ".join(shlex.quote(p) for p in parts)


def _delta_m_against(baseline: str, test: dict) -> float:
    from zoo.metrics import delta_m, is_loss_key

    path = Path(baseline)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        single = json.loads(path.read_text())["test"]
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise UsageError(f"evaluation.baseline {baseline!r}: not a run's metrics.json ({e})") from None
    keys = {k: v for k, v in test.items() if not is_loss_key(k)}
    return float(delta_m(keys, single))


def _callbacks(config: dict, output: Path, has_validation: bool) -> list:
    import keras

    callbacks = [keras.callbacks.TensorBoard(log_dir=str(output / "logs"), write_graph=False)]
    es = config["train"]["early_stopping"] or {}
    if has_validation and es.get("patience"):
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=es.get("monitor", "val_loss"), patience=int(es["patience"]),
            restore_best_weights=bool(es.get("restore_best_weights", True)),
        ))
    return callbacks


def _write_run_folder(output: Path, config: dict, model, results: dict, bundle, export) -> None:
    from recipes.model_card import write_model_card
    from recipes.plots import save_run_plots

    (output / "config.yaml").write_text(recipe_config.dump(config))
    model.save(str(output / "model.keras"))
    preprocessor = bundle.extras.get("preprocessor")
    if preprocessor is not None:
        (output / "preprocessing.json").write_text(json.dumps(preprocessor.to_dict(), indent=1))
    from zoo.training.plots import save_training_plots

    results["plots"] = save_run_plots(results, output) + [
        Path(p).name for p in save_training_plots(results["history"], output)
    ]
    if export is None:
        export = bool(config["export"]["formats"])
    if export:
        results["export"] = export_run(model, output / "export", config["export"])
    (output / "metrics.json").write_text(json.dumps(_clean(results), indent=2))
    write_model_card(output / "model_card.md", config, results)


def export_run(model, directory: Path, cfg: dict) -> dict:
    """Export the trained model into ``DIR/export`` in the recipe's formats (each verified).

    A mixed-precision model is exported from its float32 copy (same weights)."""
    import export
    from zoo.training.precision import float32_copy

    model = float32_copy(model)

    out = {}
    formats = cfg.get("formats") or []
    atol = cfg.get("atol") or (VISION_ATOL if any(t.kind in VISION_KINDS for t in model.task_specs) else 1e-5)
    if "saved_model" in formats:
        out["saved_model"] = export.to_saved_model(model, str(directory / "saved_model"), version=1,
                                                   atol=atol).to_dict()
    if "onnx" in formats:
        kwargs = {"opset": cfg["opset"]} if cfg.get("opset") else {}
        out["onnx"] = export.to_onnx(model, str(directory / "model.onnx"), atol=atol, **kwargs).to_dict()
    return out


#: Per-pixel outputs pass through resize and normalisation ops whose float32 rounding differs
#: between TF and ONNX Runtime by a few 1e-5: their parity bound is 1e-4 (the vision contract).
VISION_KINDS = ("segmentation", "depth", "normals")
VISION_ATOL = 1e-4
