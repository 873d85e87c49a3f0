"""``single_task``: one independent network per task, the baseline for the multi-task gain."""

from __future__ import annotations

from zoo.layers.mlp import MLP
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def single_task(features, tasks, bottom_units=(16,), tower_units=(8,), activation="relu", dropout=0.0):
    """Each task gets its own embeddings, bottom MLP and tower: nothing is shared."""
    features, tasks = check_specs(features, tasks)
    inputs = make_inputs(features)
    outputs = {}
    for t in tasks:
        x = encode_features(inputs, features, scope=f"{t.name}_")
        x = MLP(bottom_units, activation=activation, dropout=dropout, name=f"zoo__bottom_{t.name}")(x)
        outputs[t.name] = task_head(x, t, tower_units, activation)
    hp = dict(bottom_units=list(bottom_units), tower_units=list(tower_units), activation=activation, dropout=dropout)
    return finish("single_task", inputs, outputs, features, tasks, hp)
