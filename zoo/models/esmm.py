"""``esmm`` (Ma et al., SIGIR 2018): entire-space CVR via pCTCVR = pCTR x pCVR over all impressions."""

from __future__ import annotations

import keras

from zoo.layers.mlp import MLP
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head
from zoo.specs import TaskSpec


def esmm(features, tasks, tower_units=(360, 200, 80), activation="relu", dropout=0.0):
    """Shared embeddings, a CTR and a CVR tower; outputs ctr, cvr and their product ctcvr.

    ``tasks`` lists the click task then the conversion task (both binary) and optionally a
    third binary task naming the product output (default ``ctcvr``). The conversion task's
    loss weight is forced to 0: it is learned only through ctcvr, on all impressions.
    """
    tasks = [TaskSpec.from_dict(t) for t in tasks]
    if len(tasks) == 2:
        tasks.append(TaskSpec(name="ctcvr", kind="binary"))
    if len(tasks) != 3 or any(t.kind != "binary" for t in tasks):
        raise ValueError("esmm: tasks must be [click, conversion(, click_and_conversion)], all binary")
    ctr, cvr, ctcvr = tasks
    cvr = TaskSpec(**{**cvr.to_dict(), "weight": 0.0})
    features, tasks = check_specs(features, [ctr, cvr, ctcvr], kinds=("binary",))
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    p_ctr = task_head(MLP(tower_units, activation, dropout, name=f"zoo__tower_{ctr.name}")(x), ctr)
    p_cvr = task_head(MLP(tower_units, activation, dropout, name=f"zoo__tower_{cvr.name}")(x), cvr)
    p_ctcvr = keras.layers.Multiply(name=ctcvr.name, dtype="float32")([p_ctr, p_cvr])
    outputs = {ctr.name: p_ctr, cvr.name: p_cvr, ctcvr.name: p_ctcvr}
    hp = dict(tower_units=list(tower_units), activation=activation, dropout=dropout)
    return finish("esmm", inputs, outputs, features, tasks, hp)
