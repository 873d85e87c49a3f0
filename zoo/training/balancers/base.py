"""The balancer interface: how per-task losses (or per-task gradients) become one update."""

from __future__ import annotations

import tensorflow as tf


class Balancer(tf.Module):
    """Base class. A balancer is either loss-based (``combine_losses``) or gradient-based
    (``combine_gradients`` over the per-task gradients of the shared parameters).

    Balancer state lives in ``tf.Variable``s created in ``build``; it is checkpointed with
    the model (the model tracks the balancer) and never exported.
    """

    name = "base"
    #: True when the balancer needs one gradient per task on the shared parameters.
    needs_task_gradients = False

    def __init__(self, **params):
        super().__init__(name=f"balancer_{self.name}")
        self.params = params
        self.task_names: list[str] = []

    def build(self, task_names: list[str], static_weights: list[float]) -> None:
        """Create state for these tasks; ``static_weights`` are the tasks' spec weights."""
        self.task_names = list(task_names)
        self.static_weights = tf.constant(static_weights, tf.float32)

    @property
    def trainable_variables(self):
        """Variables the optimizer should update together with the model (e.g. log-variances)."""
        return []

    def combine_losses(self, losses: tf.Tensor) -> tf.Tensor:
        """Loss-based balancers: total loss from the ``[T]`` per-task losses."""
        raise NotImplementedError(f"balancer {self.name!r} combines gradients, not losses")

    def combine_gradients(self, grads: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
        """Gradient-based balancers: one ``[P]`` direction from ``[T, P]`` task gradients."""
        raise NotImplementedError(f"balancer {self.name!r} combines losses, not gradients")

    def task_weights(self) -> tf.Tensor:
        """The current ``[T]`` task weights (for logging)."""
        return self.static_weights

    def on_epoch_end(self, epoch: int, task_losses: dict[str, float]) -> None:
        """Hook for balancers whose weights follow per-epoch loss averages (DWA)."""

    def get_config(self) -> dict:
        """Name and parameters, enough to recreate this balancer."""
        return {"name": self.name, **self.params}
