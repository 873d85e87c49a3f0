"""``gradnorm``: gradient normalisation (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, num_replicas


def gradnorm_weight_gradient(
    weights: tf.Tensor, grad_norms: tf.Tensor, losses: tf.Tensor, initial_losses: tf.Tensor, alpha: float
) -> tf.Tensor:
    """∂/∂w of the GradNorm loss Σ_t |w_t n_t - mean(w n) r_t^α| with the target held constant.

    ``n_t`` is the norm of task t's unweighted gradient on the last shared layer and ``r_t`` its
    relative inverse training rate ``(L_t / L_t(0)) / mean_j (L_j / L_j(0))``. Tasks with no
    loss this step (no labels) are left out.
    """
    present = tf.cast((losses > 0.0) & (initial_losses > 0.0), tf.float32)
    count = tf.maximum(tf.reduce_sum(present), 1.0)
    ratio = present * tf.math.divide_no_nan(losses, initial_losses)
    rel = tf.math.divide_no_nan(ratio, tf.reduce_sum(ratio) / count)
    g = weights * grad_norms
    target = tf.reduce_sum(present * g) / count * tf.pow(rel, alpha)
    return present * tf.sign(g - target) * grad_norms


class GradNorm(Balancer):
    """Total = Σ_t w_t L_t; ``w`` is trained so each task's weighted gradient norm on the last
    shared layer tracks the mean norm times its relative inverse training rate to the power α.

    After each update the weights are kept positive and renormalised to sum to the task count.
    The weights are learned by the balancer's in-graph Adam step with ``learning_rate``.
    """

    name = "gradnorm"
    gram_target = "layer"

    def __init__(self, alpha: float = 1.5, learning_rate: float = 0.025):
        super().__init__(alpha=float(alpha), learning_rate=float(learning_rate))
        self.alpha = float(alpha)
        self.learning_rate = float(learning_rate)

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        self.add_state("weights", [1.0] * self.num_tasks, trainable=True)
        self.add_state("initial_losses", [0.0] * self.num_tasks)
        self._build_adam()

    def _weight_gradient(self, global_losses, gram):
        initial = tf.convert_to_tensor(self.initial_losses)
        initial = tf.where(initial > 0.0, initial, global_losses)  # first step with labels
        norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
        coef = gradnorm_weight_gradient(tf.convert_to_tensor(self.weights), norms, global_losses, initial, self.alpha)
        return coef, initial

    def state_gradients(self, global_losses, gram=None):
        if gram is None:
            raise ValueError("gradnorm needs the Gram matrix of task gradients on the last shared layer")
        return [self._weight_gradient(global_losses, gram)[0]]

    def combine_losses(self, losses, global_losses=None, gram=None):
        if gram is None:
            raise ValueError("gradnorm needs the Gram matrix of task gradients on the last shared layer")
        global_losses = losses if global_losses is None else global_losses
        coef, initial = self._weight_gradient(global_losses, gram)
        self.initial_losses.assign(initial)
        w = tf.convert_to_tensor(self.weights)
        model_loss = tf.reduce_sum(tf.stop_gradient(w) * losses)
        # A term whose gradient w.r.t. w is the GradNorm gradient (shared over replicas).
        weight_loss = tf.reduce_sum(tf.stop_gradient(coef) * w) / float(num_replicas())
        return model_loss + weight_loss

    def after_update(self):
        w = tf.maximum(tf.convert_to_tensor(self.weights), 1e-4)
        self.weights.assign(w * (float(self.num_tasks) / tf.reduce_sum(w)))

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
