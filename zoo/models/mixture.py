"""``omoe`` and ``mmoe`` (Ma et al., KDD 2018): a fused expert bank mixed by one gate or one gate per task."""

from __future__ import annotations

from zoo.layers.experts import ExpertBank, ExpertGate, MixExperts
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def _mixture(name, features, tasks, num_experts, expert_units, tower_units, activation, multi_gate):
    features, tasks = check_specs(features, tasks)
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    experts = ExpertBank(num_experts, expert_units, activation, name="zoo__experts")(x)
    outputs, gates = {}, []
    if multi_gate:
        for t in tasks:
            gate = ExpertGate(num_experts, name=f"zoo__gate_{t.name}")
            gates.append(gate.name)
            mixed = MixExperts(name=f"zoo__mix_{t.name}")(gate(x), experts)
            outputs[t.name] = task_head(mixed, t, tower_units, activation)
    else:
        gate = ExpertGate(num_experts, name="zoo__gate")
        gates.append(gate.name)
        mixed = MixExperts(name="zoo__mix")(gate(x), experts)
        outputs = {t.name: task_head(mixed, t, tower_units, activation) for t in tasks}
    hp = dict(
        num_experts=num_experts, expert_units=list(expert_units), tower_units=list(tower_units), activation=activation
    )
    return finish(name, inputs, outputs, features, tasks, hp, gate_layers=gates)


def mmoe(features, tasks, num_experts=8, expert_units=(16,), tower_units=(8,), activation="relu"):
    """Multi-gate mixture of experts: every task has its own softmax gate over shared experts."""
    return _mixture("mmoe", features, tasks, num_experts, expert_units, tower_units, activation, True)


def omoe(features, tasks, num_experts=8, expert_units=(16,), tower_units=(8,), activation="relu"):
    """One-gate mixture of experts: all tasks read the same gated mixture."""
    return _mixture("omoe", features, tasks, num_experts, expert_units, tower_units, activation, False)
