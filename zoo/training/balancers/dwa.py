"""``dwa``: dynamic weight average (Liu, Johns & Davison, CVPR 2019)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.training.balancers.base import Balancer


def dwa_weights(prev: np.ndarray, prev2: np.ndarray, temperature: float) -> np.ndarray:
    """``T softmax(r / temperature)`` with ``r_t = L_t(e-1) / L_t(e-2)`` (ratio 1 where undefined)."""
    prev, prev2 = np.asarray(prev, np.float64), np.asarray(prev2, np.float64)
    ok = (prev2 > 0) & np.isfinite(prev) & np.isfinite(prev2)
    ratio = np.where(ok, prev / np.where(ok, prev2, 1.0), 1.0)
    z = ratio / temperature
    e = np.exp(z - z.max())
    return len(ratio) * e / e.sum()


class DWA(Balancer):
    """Total = Σ_t w_t L_t; ``w`` follows the rate at which each task's epoch loss falls.

    The first two epochs use ``w = 1``; afterwards ``w`` is recomputed at each epoch end from
    the two previous epoch-average training losses (the ``<task>_loss`` logs).
    """

    name = "dwa"

    def __init__(self, temperature: float = 2.0):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(temperature=float(temperature))
        self.temperature = float(temperature)

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        t = self.num_tasks
        self.add_state("weights", np.ones(t))
        self.add_state("loss_history", np.zeros((2, t)))  # [epoch e-2, epoch e-1]
        self.add_state("epochs_seen", 0.0)

    def combine_losses(self, losses, global_losses=None, gram=None):
        return tf.reduce_sum(tf.convert_to_tensor(self.weights) * losses)

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)

    def on_epoch_end(self, epoch, logs):
        keys = [f"{n}_loss" for n in self.task_names]
        if not logs or any(k not in logs for k in keys):
            return
        current = np.array([float(logs[k]) for k in keys])
        history = self.loss_history.numpy()
        history = np.stack([history[1], current])
        seen = float(self.epochs_seen.numpy()) + 1.0
        self.loss_history.assign(history.astype(np.float32))
        self.epochs_seen.assign(seen)
        if seen >= 2:
            self.weights.assign(dwa_weights(history[1], history[0], self.temperature).astype(np.float32))
