"""``pcgrad``: projecting conflicting gradients (Yu et al., NeurIPS 2020)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import Balancer, gram_matrix


def pcgrad_coefficients(gram: tf.Tensor, order: tf.Tensor) -> tf.Tensor:
    """Coefficients ``c`` with PCGrad's direction = Σ_k c_k g_k, from the Gram matrix alone.

    ``order[i]`` is the (random) order in which task i's gradient is projected onto the normal
    plane of each other task's gradient, and only when their dot product is negative.
    Working on coefficients keeps every projection a ``[T]``-sized operation.
    """
    n = gram.shape[0]
    eye = tf.eye(n, dtype=gram.dtype)
    diag = tf.linalg.diag_part(gram)
    total = tf.zeros([n], gram.dtype)
    for i in range(n):
        c = eye[i]
        for k in range(n):
            j = order[i, k]
            dot = tf.tensordot(c, tf.gather(gram, j, axis=1), 1)
            gjj = tf.gather(diag, j)
            project = (dot < 0.0) & tf.not_equal(j, i) & (gjj > 0.0)
            c = c - tf.where(project, dot / tf.where(gjj > 0.0, gjj, 1.0), 0.0) * tf.one_hot(j, n, dtype=gram.dtype)
        total += c
    return total


class PCGrad(Balancer):
    """Each task gradient drops its component along any other task gradient it conflicts with
    (negative dot product), visiting the others in a random order; the results are summed.

    The order is drawn with a stateless RNG from ``(seed, step)``, so every replica (and a
    single-replica run of the same global batch) projects in the same order.
    """

    name = "pcgrad"
    needs_task_gradients = True

    def __init__(self, seed: int = 0):
        super().__init__(seed=int(seed))
        self.seed = int(seed)

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        self.add_state("step", 0.0)
        self.add_state("weights", [1.0] * self.num_tasks)

    def random_order(self) -> tf.Tensor:
        """``[T, T]``: row i is a random permutation of the tasks for task i's projections."""
        step = tf.cast(tf.convert_to_tensor(self.step), tf.int64)
        self.step.assign_add(1.0)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step])
        keys = tf.random.stateless_uniform([self.num_tasks, self.num_tasks], seed=seed)
        return tf.argsort(keys, axis=1)

    def combine_gradients(self, grads, losses):
        coef = pcgrad_coefficients(gram_matrix(grads), self.random_order())
        self.weights.assign(coef)
        return tf.linalg.matvec(grads, coef, transpose_a=True)

    def task_weights(self):
        return tf.convert_to_tensor(self.weights)
