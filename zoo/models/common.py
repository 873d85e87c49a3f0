"""Building blocks shared by the architecture builders: inputs, feature encoding, task heads."""

from __future__ import annotations

import keras

from zoo.layers.feature_encoding import OOVBucket, SequencePooling
from zoo.layers.mlp import MLP
from zoo.specs import FeatureSpec, TaskSpec, parse_features, parse_tasks

_HEAD_ACTIVATION = {"binary": "sigmoid", "regression": None, "multiclass": "softmax"}


def check_specs(features, tasks, kinds=("binary", "regression", "multiclass")):
    """Parse feature/task specs and refuse task kinds the architecture cannot produce."""
    features = parse_features(features)
    tasks = parse_tasks(tasks)
    feature_names = {f.name for f in features}
    for t in tasks:
        if t.kind not in kinds:
            raise ValueError(f"task {t.name!r}: kind {t.kind!r} is not supported here (use one of {', '.join(kinds)})")
        if t.name in feature_names:
            raise ValueError(f"task {t.name!r}: a feature has the same name; input and output names must differ")
    return features, tasks


def make_inputs(features: list[FeatureSpec]) -> dict:
    """One named ``keras.Input`` per feature, with the contract's dtype and shape."""
    return {f.name: keras.Input(shape=f.input_shape, dtype=f.dtype, name=f.name) for f in features}


def encode_features(inputs: dict, features: list[FeatureSpec], scope: str = "") -> keras.KerasTensor:
    """Concatenate dense values and (OOV-safe, pooled) embeddings into one ``[B, D]`` tensor.

    ``scope`` separates independent encoders (e.g. one per task in ``single_task``).
    """
    tables: dict[str, keras.layers.Embedding] = {}
    for f in features:
        if f.kind in ("categorical", "sequence") and f.shared_embedding is None:
            tables[f.name] = keras.layers.Embedding(
                f.table_size, f.embedding_dim, name=f"zoo__{scope}emb_{f.name}"
            )
    parts = []
    for f in features:
        x = inputs[f.name]
        if f.kind == "dense":
            parts.append(x)
            continue
        if f.kind == "image":
            raise ValueError(f"feature {f.name!r}: image features need a vision model")
        ids = OOVBucket(
            f.vocab_size, f.num_oov, padding=f.kind == "sequence", name=f"zoo__{scope}oov_{f.name}"
        )(x)
        emb = tables[f.shared_embedding or f.name](ids)
        if f.kind == "categorical":
            parts.append(keras.layers.Flatten(name=f"zoo__{scope}flat_{f.name}")(emb))
        else:
            parts.append(SequencePooling(f.pooling, name=f"zoo__{scope}pool_{f.name}")(emb, x))
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate(name=f"zoo__{scope}features")(parts)


def task_head(x, task: TaskSpec, tower_units=(), activation="relu", dropout=0.0, name=None):
    """An optional tower MLP then the output layer named after the task."""
    if tower_units:
        x = MLP(tower_units, activation=activation, dropout=dropout, name=f"zoo__tower_{task.name}")(x)
    return keras.layers.Dense(
        task.output_width, activation=_HEAD_ACTIVATION[task.kind], name=name or task.name, dtype="float32"
    )(x)


def finish(architecture: str, inputs, outputs, features, tasks, hparams, gate_layers=()):
    """Wrap the graph into a MultiTaskModel that remembers its specs and hyperparameters."""
    from zoo.training.model import MultiTaskModel

    return MultiTaskModel(
        inputs=inputs,
        outputs=outputs,
        feature_specs=[f.to_dict() for f in features],
        task_specs=[t.to_dict() for t in tasks],
        architecture=architecture,
        hparams=hparams,
        gate_layers=list(gate_layers),
        name=architecture,
    )
