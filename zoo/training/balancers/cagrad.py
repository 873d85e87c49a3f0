"""``cagrad``: conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, NeurIPS 2021)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, gram_matrix


def project_to_simplex(v: tf.Tensor) -> tf.Tensor:
    """Euclidean projection of a ``[T]`` vector onto the probability simplex (sort-based)."""
    n = v.shape[0]
    u = tf.sort(v, direction="DESCENDING")
    css = tf.cumsum(u)
    k = tf.range(1, n + 1, dtype=v.dtype)
    rho = tf.reduce_sum(tf.cast(u - (css - 1.0) / k > 0.0, tf.int32))
    theta = (tf.gather(css, rho - 1) - 1.0) / tf.cast(rho, v.dtype)
    return tf.maximum(v - theta, 0.0)


def cagrad_objective(w: tf.Tensor, gram: tf.Tensor, rho: tf.Tensor) -> tf.Tensor:
    """The dual objective F(w) = g_wᵀ g0 + ρ |g_w| with g_w = Σ w_t g_t and g0 the mean gradient."""
    b = tf.reduce_mean(gram, axis=1)
    q = tf.tensordot(w, tf.linalg.matvec(gram, w), 1)
    return tf.tensordot(w, b, 1) + rho * tf.sqrt(tf.maximum(q, 0.0))


def _two_task_dual(gram: tf.Tensor, rho: tf.Tensor) -> tf.Tensor:
    """Exact minimiser of F over w = (γ, 1-γ): F'(γ) = 0 reduces to a quadratic in a·γ + β."""
    b = tf.reduce_mean(gram, axis=1)
    a = gram[0, 0] - 2.0 * gram[0, 1] + gram[1, 1]  # |g1 - g2|²
    beta = gram[0, 1] - gram[1, 1]  # (g1 - g2)·g2
    disc = tf.maximum(a * gram[1, 1] - beta * beta, 0.0)  # a|g2|² - β² >= 0
    s = b[0] - b[1]
    k = -s / tf.maximum(rho, 1e-30)
    sqrt_a = tf.sqrt(tf.maximum(a, 0.0))
    inner = tf.abs(k) < sqrt_a
    u = tf.sign(k) * tf.sqrt(tf.math.divide_no_nan(k * k * disc, tf.maximum(a - k * k, 1e-30)))
    gamma_inner = tf.math.divide_no_nan(u - beta, a)
    gamma_edge = tf.where(k >= sqrt_a, 1.0, 0.0)
    gamma = tf.where(a > 1e-20, tf.where(inner, gamma_inner, gamma_edge), tf.where(s > 0.0, 0.0, 1.0))
    gamma = tf.clip_by_value(gamma, 0.0, 1.0)
    return tf.stack([gamma, 1.0 - gamma])


def cagrad_dual(gram: tf.Tensor, rho: tf.Tensor, max_iter: int = 500, tol: float = 1e-9) -> tf.Tensor:
    """Simplex weights minimising the CAGrad dual: closed form for 2 tasks, projected gradient otherwise."""
    n = gram.shape[0]
    if n == 1:
        return tf.ones([1], gram.dtype)
    if n == 2:
        return _two_task_dual(gram, rho)
    scale = tf.maximum(tf.reduce_max(tf.linalg.diag_part(gram)), 1e-30)
    m = gram / scale  # F scales linearly with M: solve the unit-scale problem
    r = rho / tf.sqrt(scale)
    b = tf.reduce_mean(m, axis=1)
    lipschitz = tf.linalg.trace(m)

    def body(w, _):
        mw = tf.linalg.matvec(m, w)
        q = tf.maximum(tf.tensordot(w, mw, 1), 1e-12)
        grad = b + r * mw / tf.sqrt(q)
        step = 1.0 / (lipschitz * (1.0 + r / tf.sqrt(q)))
        new = project_to_simplex(w - step * grad)
        return new, tf.reduce_max(tf.abs(new - w))

    w0 = tf.fill([n], 1.0 / n)
    w, _ = tf.while_loop(lambda w, change: change > tol, body, (w0, tf.constant(1.0, gram.dtype)), maximum_iterations=max_iter)
    return w


class CAGrad(Balancer):
    """d = g0 + (ρ / |g_w|) g_w with ρ = c |g0|, where w minimises the dual over the simplex.

    The direction maximises the worst task improvement within a ball of radius c|g0| around
    the mean gradient g0; ``c = 0`` is the mean gradient. ``rescale`` divides by 1 + c².
    """

    name = "cagrad"
    needs_task_gradients = True

    def __init__(self, c: float = 0.4, rescale: bool = True, max_iter: int = 500):
        if c < 0:
            raise ValueError(f"c must be >= 0, got {c}")
        super().__init__(c=float(c), rescale=bool(rescale), max_iter=int(max_iter))
        self.c = float(c)
        self.rescale = bool(rescale)
        self.max_iter = int(max_iter)

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        self.add_state("weights", [1.0 / self.num_tasks] * self.num_tasks)

    def coefficients(self, gram: tf.Tensor) -> tf.Tensor:
        """``[T]`` coefficients of the CAGrad direction on the task gradients."""
        n = gram.shape[0]
        g0_norm = tf.sqrt(tf.maximum(tf.reduce_sum(gram), 0.0)) / n
        rho = self.c * g0_norm
        w = cagrad_dual(gram, rho, self.max_iter)
        gw_norm = tf.sqrt(tf.maximum(tf.tensordot(w, tf.linalg.matvec(gram, w), 1), 0.0))
        coef = tf.fill([n], 1.0 / n) + tf.math.divide_no_nan(rho, gw_norm) * w
        return coef / (1.0 + self.c**2) if self.rescale else coef

    def combine_gradients(self, grads, losses):
        coef = self.coefficients(gram_matrix(grads))
        self.weights.assign(coef)
        return tf.linalg.matvec(grads, coef, transpose_a=True)

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
