"""``mgda``: multiple-gradient descent as multi-objective optimisation (Sener & Koltun, NeurIPS 2018)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, gram_matrix

_NORMALIZE = ("none", "l2", "loss", "loss+")


def two_task_min_norm(gram: tf.Tensor) -> tf.Tensor:
    """Closed form: γ = clip(((g2 - g1)·g2) / |g1 - g2|², 0, 1) minimises |γ g1 + (1-γ) g2|."""
    a = gram[0, 0] - 2.0 * gram[0, 1] + gram[1, 1]
    gamma = tf.where(a > 1e-20, tf.clip_by_value((gram[1, 1] - gram[0, 1]) / tf.maximum(a, 1e-20), 0.0, 1.0), 0.5)
    return tf.stack([gamma, 1.0 - gamma])


def min_norm_weights(gram: tf.Tensor, max_iter: int = 250, tol: float = 1e-9) -> tf.Tensor:
    """Simplex weights α minimising |Σ α_t g_t|² = αᵀ M α: Frank-Wolfe with away steps and exact
    line search (linear convergence on the simplex), closed form for two tasks."""
    n = gram.shape[0]
    if n == 1:
        return tf.ones([1], gram.dtype)
    if n == 2:
        return two_task_min_norm(gram)
    scale = tf.maximum(tf.reduce_max(tf.linalg.diag_part(gram)), 1e-30)
    m = gram / scale

    def body(alpha, _):
        g = tf.linalg.matvec(m, alpha)
        toward = tf.one_hot(tf.argmin(g), n, dtype=m.dtype)
        away_idx = tf.argmax(tf.where(alpha > 0.0, g, -1e30))
        away = tf.one_hot(away_idx, n, dtype=m.dtype)
        d_fw, d_aw = toward - alpha, alpha - away
        gap_fw = -tf.tensordot(g, d_fw, 1)
        use_fw = gap_fw >= -tf.tensordot(g, d_aw, 1)
        d = tf.where(use_fw, d_fw, d_aw)
        a_v = tf.gather(alpha, away_idx)
        max_step = tf.where(use_fw, 1.0, a_v / tf.maximum(1.0 - a_v, 1e-12))
        curvature = tf.tensordot(d, tf.linalg.matvec(m, d), 1)
        step = tf.clip_by_value(tf.math.divide_no_nan(-tf.tensordot(g, d, 1), curvature), 0.0, max_step)
        step = tf.where(curvature > 1e-20, step, max_step)
        new = tf.maximum(alpha + step * d, 0.0)
        return new / tf.reduce_sum(new), gap_fw

    alpha0 = tf.fill([n], 1.0 / n)
    alpha, _ = tf.while_loop(
        lambda a, gap: gap > tol, body, (alpha0, tf.constant(1.0, gram.dtype)), maximum_iterations=max_iter
    )
    return alpha


def gradient_scales(gram: tf.Tensor, losses: tf.Tensor, normalize: str) -> tf.Tensor:
    """Per-task divisors of the gradients before the min-norm search (Sener & Koltun's normalisers)."""
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    if normalize == "l2":
        scale = norms
    elif normalize == "loss":
        scale = losses
    elif normalize == "loss+":
        scale = losses * norms
    else:
        scale = tf.ones_like(norms)
    return tf.where(scale > 1e-12, scale, 1.0)


class MGDA(Balancer):
    """The min-norm point of the convex hull of the task gradients as the common direction.

    ``representation=True`` is MGDA-UB: the weights come from the task gradients on the shared
    representation (one cheap backward per task to it), then one backward of Σ α_t L_t.
    ``normalize`` (none, l2, loss, loss+) rescales the gradients before the search.
    """

    name = "mgda"

    def __init__(self, normalize: str = "none", representation: bool = False, max_iter: int = 250):
        if normalize not in _NORMALIZE:
            raise ValueError(f"normalize must be one of {', '.join(_NORMALIZE)}, got {normalize!r}")
        super().__init__(normalize=normalize, representation=bool(representation), max_iter=int(max_iter))
        self.normalize = normalize
        self.representation = bool(representation)
        self.max_iter = int(max_iter)
        self.needs_task_gradients = not self.representation
        self.gram_target = "representation" if self.representation else None

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        self.add_state("weights", [1.0 / self.num_tasks] * self.num_tasks)

    def weights_from_gram(self, gram: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
        """Weights on the raw task gradients: the min-norm point of the normalised ones."""
        scale = gradient_scales(gram, losses, self.normalize)
        m = gram / (scale[:, None] * scale[None, :])
        # A task with a zero gradient (no labels in the batch) would make 0 the min-norm point
        # and stall the others: give it a huge norm so it gets no weight.
        diag = tf.linalg.diag_part(m)
        present = diag > 0.0
        both = tf.logical_and(present[:, None], present[None, :])
        big = 1e3 * tf.maximum(tf.reduce_max(diag), 1e-30)
        m = tf.where(both, m, 0.0) + tf.linalg.diag(tf.where(present, 0.0, big))
        alpha = tf.where(present, min_norm_weights(m, self.max_iter), 0.0)
        weights = tf.math.divide_no_nan(alpha, tf.reduce_sum(alpha)) / scale
        self.weights.assign(weights)
        return weights

    def combine_gradients(self, grads, losses):
        weights = self.weights_from_gram(gram_matrix(grads), losses)
        return tf.linalg.matvec(grads, weights, transpose_a=True)

    def combine_losses(self, losses, global_losses=None, gram=None):
        if gram is None:
            raise ValueError("mgda with representation=True needs the Gram matrix on the shared representation")
        global_losses = losses if global_losses is None else global_losses
        weights = self.weights_from_gram(gram, global_losses)
        return tf.reduce_sum(tf.stop_gradient(weights) * losses)

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
