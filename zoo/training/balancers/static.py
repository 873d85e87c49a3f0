"""``static``: fixed per-task loss weights (the tasks' ``weight`` unless overridden)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer


class Static(Balancer):
    """Total loss = sum_t w_t L_t with fixed weights."""

    name = "static"

    def __init__(self, weights: dict | list | None = None):
        super().__init__(**({"weights": weights} if weights is not None else {}))
        self.weights = weights

    def build(self, task_names, static_weights, task_kinds=None):
        if isinstance(self.weights, dict):
            unknown = set(self.weights) - set(task_names)
            if unknown:
                raise ValueError(f"balancer static: unknown task(s) in weights: {', '.join(sorted(unknown))}")
            static_weights = [float(self.weights.get(n, w)) for n, w in zip(task_names, static_weights, strict=False)]
        elif self.weights is not None:
            if len(self.weights) != len(task_names):
                raise ValueError(f"balancer static: {len(self.weights)} weights for {len(task_names)} tasks")
            static_weights = [float(w) for w in self.weights]
        super().build(task_names, static_weights, task_kinds)

    def combine_losses(self, losses, global_losses=None, gram=None):
        return tf.reduce_sum(self.static_weights * losses)
