"""``shared_bottom``: hard parameter sharing (Caruana, 1997), one bottom MLP and a tower per task."""

from __future__ import annotations

from zoo.layers.mlp import MLP
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def shared_bottom(features, tasks, bottom_units=(64,), tower_units=(8,), activation="relu", dropout=0.0):
    """Shared embeddings and bottom MLP; each task has its own tower."""
    features, tasks = check_specs(features, tasks)
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    x = MLP(bottom_units, activation=activation, dropout=dropout, name="zoo__bottom")(x)
    outputs = {t.name: task_head(x, t, tower_units, activation) for t in tasks}
    hp = dict(bottom_units=list(bottom_units), tower_units=list(tower_units), activation=activation, dropout=dropout)
    return finish("shared_bottom", inputs, outputs, features, tasks, hp)
