"""``famo``: fast adaptive multitask optimisation (Liu, Liu, Stone & Liu, NeurIPS 2023)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, num_replicas


def famo_weights(logits: tf.Tensor, losses: tf.Tensor, min_losses: tf.Tensor, eps: float = 1e-8) -> tf.Tensor:
    """Weights on ∇L_t of FAMO's step ∇ Σ_t z_t log(L_t - m_t) / c: ``z_t/(L_t - m_t)``, normalised to 1.

    ``z = softmax(logits)``; tasks whose loss is at or below its minimum (no labels) get 0.
    """
    present = losses > min_losses
    inv = tf.where(present, tf.nn.softmax(logits) / tf.maximum(losses - min_losses, eps), 0.0)
    return tf.math.divide_no_nan(inv, tf.reduce_sum(inv))


def famo_logit_signal(prev: tf.Tensor, curr: tf.Tensor, min_losses: tf.Tensor, eps: float = 1e-8) -> tf.Tensor:
    """δ_t = log(L_t,prev - m_t) - log(L_t,now - m_t): how much each task's log-loss fell (0 if undefined)."""
    ok = (prev > min_losses) & (curr > min_losses)
    return tf.where(
        ok, tf.math.log(tf.maximum(prev - min_losses, eps)) - tf.math.log(tf.maximum(curr - min_losses, eps)), 0.0
    )


class FAMO(Balancer):
    """Loss weights from softmax logits ξ that decrease for tasks whose log-loss fell fastest.

    Each step: total = Σ_t w_t L_t with ``w = famo_weights(ξ, L)`` (one backward pass), and ξ
    follows the gradient Jᵀδ + γξ of FAMO (J the softmax Jacobian, δ the log-loss decrease)
    by the balancer's in-graph Adam step with ``learning_rate``. For O(1) cost the losses
    after an update are those of the next step's batch, so ξ trails the paper by one step.
    """

    name = "famo"

    def __init__(self, learning_rate: float = 0.025, gamma: float = 0.001, min_losses: float | list | None = None):
        super().__init__(learning_rate=float(learning_rate), gamma=float(gamma), min_losses=min_losses)
        self.learning_rate = float(learning_rate)
        self.gamma = float(gamma)
        self.min_losses_param = min_losses

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        t = self.num_tasks
        m = self.min_losses_param
        m = [0.0] * t if m is None else ([float(m)] * t if isinstance(m, (int, float)) else [float(v) for v in m])
        if len(m) != t:
            raise ValueError(f"famo: {len(m)} min_losses for {t} tasks")
        self.min_losses = tf.constant(m, tf.float32)
        self.add_state("logits", [0.0] * t, trainable=True)
        self.add_state("prev_losses", [0.0] * t)
        self.add_state("weights", [1.0 / t] * t)
        self._build_adam()

    def state_gradients(self, global_losses, gram=None):
        # Jᵀδ + γξ with J = diag(z) - z zᵀ the softmax Jacobian: z ⊙ (δ - z·δ) + γξ.
        logits = tf.convert_to_tensor(self.logits)
        z = tf.nn.softmax(logits)
        delta = famo_logit_signal(tf.convert_to_tensor(self.prev_losses), global_losses, self.min_losses)
        return [z * (delta - tf.reduce_sum(z * delta)) + self.gamma * logits]

    def combine_losses(self, losses, global_losses=None, gram=None):
        global_losses = losses if global_losses is None else global_losses
        logits = tf.convert_to_tensor(self.logits)
        w = famo_weights(tf.stop_gradient(logits), global_losses, self.min_losses)
        delta = famo_logit_signal(tf.convert_to_tensor(self.prev_losses), global_losses, self.min_losses)
        self.prev_losses.assign(global_losses)
        self.weights.assign(w)
        logit_loss = tf.reduce_sum(tf.stop_gradient(delta) * tf.nn.softmax(logits))
        logit_loss += 0.5 * self.gamma * tf.reduce_sum(tf.square(logits))
        return tf.reduce_sum(tf.stop_gradient(w) * losses) + logit_loss / float(num_replicas())

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
