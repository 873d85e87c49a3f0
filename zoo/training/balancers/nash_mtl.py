"""``nash_mtl``: multi-task learning as a bargaining game (Navon et al., ICML 2022)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, gram_matrix


def nash_weights(gram: tf.Tensor, max_iter: int = 30, tol: float = 1e-10, ridge: float = 1e-6) -> tf.Tensor:
    """α > 0 solving ``M α = 1/α`` (M = G Gᵀ) by damped Newton on φ(α) = ½αᵀMα - Σ log α_t.

    φ is strictly convex and self-concordant, its gradient ``Mα - 1/α`` vanishes exactly at the
    Nash bargaining solution, and the step 1/(1+λ) (λ the Newton decrement) keeps α > 0.
    ``ridge`` (relative to the mean squared gradient norm) keeps a solution when gradients are
    exactly opposed. Scale: if M -> sM then α -> α/√s, so the solve runs on M / mean(diag M).
    """
    n = gram.shape[0]
    scale = tf.maximum(tf.reduce_mean(tf.linalg.diag_part(gram)), 1e-30)
    m = gram / scale + ridge * tf.eye(n, dtype=gram.dtype)

    def body(alpha, _):
        grad = tf.linalg.matvec(m, alpha) - 1.0 / alpha
        hess = m + tf.linalg.diag(1.0 / tf.square(alpha))
        delta = tf.linalg.solve(hess, grad[:, None])[:, 0]
        lam2 = tf.maximum(tf.tensordot(grad, delta, 1), 0.0)
        lam = tf.sqrt(lam2)
        step = tf.where(lam > 0.25, 1.0 / (1.0 + lam), 1.0)
        return alpha - step * delta, lam2

    alpha0 = 1.0 / tf.sqrt(tf.maximum(tf.linalg.diag_part(m), 1e-12))
    alpha, _ = tf.while_loop(lambda a, lam2: lam2 > tol, body, (alpha0, tf.constant(1.0, gram.dtype)), maximum_iterations=max_iter)
    return alpha / tf.sqrt(scale)


class NashMTL(Balancer):
    """d = Σ_t α_t g_t with α the Nash bargaining weights, ``Gᵀ G α = 1/α`` (so |d|² = T)."""

    name = "nash_mtl"
    needs_task_gradients = True

    def __init__(self, max_iter: int = 30, ridge: float = 1e-6):
        super().__init__(max_iter=int(max_iter), ridge=float(ridge))
        self.max_iter = int(max_iter)
        self.ridge = float(ridge)

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        self.add_state("weights", [1.0] * self.num_tasks)

    def combine_gradients(self, grads, losses):
        alpha = nash_weights(gram_matrix(grads), self.max_iter, ridge=self.ridge)
        self.weights.assign(alpha)
        return tf.linalg.matvec(grads, alpha, transpose_a=True)

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
