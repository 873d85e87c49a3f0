"""Keras callbacks for multi-task training: balancer epoch hooks and per-epoch diagnostics."""

from __future__ import annotations

import keras

from zoo.training.diagnostics import WEIGHT_PREFIX, DiagnosticsProbe, take_batches


class BalancerCallback(keras.callbacks.Callback):
    """Logs the balancer's task weights each epoch, then runs its epoch hook (DWA's update).

    ``MultiTaskModel.fit`` adds one automatically.
    """

    def on_epoch_end(self, epoch, logs=None):
        balancer = getattr(self.model, "balancer", None)
        if balancer is None or logs is None:
            return
        for name, weight in zip(balancer.task_names, balancer.task_weights().numpy(), strict=False):
            logs[f"{WEIGHT_PREFIX}{name}"] = float(weight)
        balancer.on_epoch_end(epoch, logs)


class TaskDiagnostics(keras.callbacks.Callback):
    """Per-epoch gradient conflict and gate usage, measured on a few fixed training batches.

    Adds to the epoch logs (so to History, TensorBoard and metrics.json):
    ``grad/cos/<a>/<b>`` mean cosine of the task gradients on the shared parameters,
    ``grad/conflict_rate/<a>/<b>`` share of the measured batches where it is negative,
    ``grad/norm/<task>``, and for mixture models ``gate/<gate>/usage/<k>`` (mean expert
    weight) and ``gate/<gate>/entropy`` (nats; low = expert collapse).
    Costs ``num_batches`` x (forward + T backward passes) per measured epoch.
    """

    def __init__(self, data, num_batches: int = 4, every: int = 1, gradients: bool = True, gates: bool = True):
        super().__init__()
        self.data = data
        self.num_batches = int(num_batches)
        self.every = max(1, int(every))
        self.gradients = gradients
        self.gates = gates
        self._probe: DiagnosticsProbe | None = None

    def on_train_begin(self, logs=None):
        if self._probe is None or self._probe.model is not self.model:
            batches = take_batches(self.data, self.num_batches)
            self._probe = DiagnosticsProbe(self.model, batches, self.gradients, self.gates)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        logs.update(self._probe.measure())


def with_zoo_callbacks(callbacks) -> list | object:
    """The callback list with a BalancerCallback added and the zoo callbacks placed first."""
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        return callbacks  # a CallbackList: leave it alone
    callbacks = list(callbacks or [])
    zoo = [c for c in callbacks if isinstance(c, (BalancerCallback, TaskDiagnostics))]
    if not any(isinstance(c, BalancerCallback) for c in zoo):
        zoo.insert(0, BalancerCallback())
    return zoo + [c for c in callbacks if not isinstance(c, (BalancerCallback, TaskDiagnostics))]
