"""``cross_stitch`` (Misra et al., CVPR 2016) for ranking: per-task MLP columns linked by cross-stitch units."""

from __future__ import annotations

import keras

from zoo.layers.cross_stitch import CrossStitch
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def cross_stitch(features, tasks, column_units=(32, 16), tower_units=(8,), self_weight=0.9, activation="relu"):
    """Shared embeddings; one Dense column per task; a cross-stitch unit after every column layer."""
    features, tasks = check_specs(features, tasks)
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    columns = [x] * len(tasks)
    for i, units in enumerate(column_units):
        columns = [
            keras.layers.Dense(units, activation=activation, name=f"zoo__col{i}_{t.name}")(c)
            for t, c in zip(tasks, columns)
        ]
        if len(tasks) > 1:
            columns = CrossStitch(len(tasks), self_weight, name=f"zoo__stitch{i}")(columns)
    outputs = {t.name: task_head(c, t, tower_units, activation) for t, c in zip(tasks, columns)}
    hp = dict(column_units=list(column_units), tower_units=list(tower_units), self_weight=self_weight, activation=activation)
    return finish("cross_stitch", inputs, outputs, features, tasks, hp)
