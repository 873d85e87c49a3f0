"""``cgc`` and ``ple`` (Tang et al., RecSys 2020): shared plus task-specific experts, stacked in levels."""

from __future__ import annotations

from zoo.layers.experts import ExpertBank, ExpertGate, MixExperts, StackExperts
from zoo.models.common import check_specs, encode_features, finish, make_inputs, task_head


def _extraction_level(level, task_inputs, shared_input, tasks, n_shared, n_task, units, activation, last):
    """One customized gate control (CGC) level; returns the per-task and shared outputs."""
    p = f"zoo__l{level}_"
    shared_bank = ExpertBank(n_shared, units, activation, name=f"{p}shared_experts")(shared_input)
    task_banks, task_outputs, gates = [], [], []
    for t, x in zip(tasks, task_inputs):
        bank = ExpertBank(n_task, units, activation, name=f"{p}experts_{t.name}")(x)
        task_banks.append(bank)
        gate = ExpertGate(n_task + n_shared, name=f"{p}gate_{t.name}")
        gates.append(gate.name)
        pool = StackExperts(name=f"{p}pool_{t.name}")([bank, shared_bank])
        task_outputs.append(MixExperts(name=f"{p}mix_{t.name}")(gate(x), pool))
    shared_output = None
    if not last:
        gate = ExpertGate(len(tasks) * n_task + n_shared, name=f"{p}gate_shared")
        gates.append(gate.name)
        pool = StackExperts(name=f"{p}pool_shared")([*task_banks, shared_bank])
        shared_output = MixExperts(name=f"{p}mix_shared")(gate(shared_input), pool)
    return task_outputs, shared_output, gates


def ple(
    features,
    tasks,
    num_levels=2,
    num_shared_experts=1,
    num_task_experts=1,
    expert_units=(16,),
    tower_units=(8,),
    activation="relu",
):
    """Progressive layered extraction: ``num_levels`` CGC levels; non-final levels feed a shared gate."""
    return _build("ple", features, tasks, num_levels, num_shared_experts, num_task_experts, expert_units, tower_units, activation)


def cgc(features, tasks, num_shared_experts=1, num_task_experts=1, expert_units=(16,), tower_units=(8,), activation="relu"):
    """Customized gate control: a single extraction level (PLE with one level)."""
    return _build("cgc", features, tasks, 1, num_shared_experts, num_task_experts, expert_units, tower_units, activation)


def _build(name, features, tasks, num_levels, n_shared, n_task, expert_units, tower_units, activation):
    if num_levels < 1:
        raise ValueError(f"{name}: num_levels must be >= 1, got {num_levels}")
    features, tasks = check_specs(features, tasks)
    inputs = make_inputs(features)
    x = encode_features(inputs, features)
    task_inputs, shared_input, gate_names = [x] * len(tasks), x, []
    for level in range(num_levels):
        task_inputs, shared_input, gates = _extraction_level(
            level, task_inputs, shared_input, tasks, n_shared, n_task, expert_units, activation,
            last=level == num_levels - 1,
        )
        gate_names += gates
    outputs = {t.name: task_head(h, t, tower_units, activation) for t, h in zip(tasks, task_inputs)}
    hp = dict(
        num_levels=num_levels, num_shared_experts=n_shared, num_task_experts=n_task,
        expert_units=list(expert_units), tower_units=list(tower_units), activation=activation,
    )
    if name == "cgc":
        hp.pop("num_levels")
    return finish(name, inputs, outputs, features, tasks, hp, gate_layers=gate_names)
