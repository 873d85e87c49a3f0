"""``aitm`` (Xi et al., KDD 2021): adaptive information transfer along a conversion funnel."""

from __future__ import annotations

from zoo.layers.aitm import FunnelCalibrator, InfoTransferAttention
from zoo.layers.mlp import MLP
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def aitm(
    features,
    tasks,
    tower_units=(128, 64, 32),
    info_dim=32,
    calibrator_weight=0.6,
    activation="relu",
    dropout=0.0,
):
    """Tasks in funnel order (e.g. click, conversion); task t attends over its own tower output
    and the information transferred from task t-1. ``calibrator_weight > 0`` adds the
    behavioural expectation calibrator penalising p_t > p_{t-1}."""
    features, tasks = check_specs(features, tasks, kinds=("binary",))
    if len(tasks) < 2:
        raise ValueError("aitm: needs at least two tasks in funnel order")
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    outputs, previous_z, previous_p = {}, None, None
    for t in tasks:
        q = MLP([*tower_units[:-1], info_dim], activation, dropout, name=f"zoo__tower_{t.name}")(x)
        if previous_z is None:
            z = q
        else:
            info = MLP([info_dim], activation, name=f"zoo__transfer_{t.name}")(previous_z)
            z = InfoTransferAttention(info_dim, name=f"zoo__ait_{t.name}")([info, q])
        if previous_p is not None and calibrator_weight > 0:
            p = task_head(z, t, name=f"zoo__head_{t.name}")
            p = FunnelCalibrator(calibrator_weight, name=t.name, dtype="float32")(previous_p, p)
        else:
            p = task_head(z, t)
        outputs[t.name] = p
        previous_z, previous_p = z, p
    hp = dict(
        tower_units=list(tower_units), info_dim=info_dim, calibrator_weight=calibrator_weight,
        activation=activation, dropout=dropout,
    )
    return finish("aitm", inputs, outputs, features, tasks, hp)
