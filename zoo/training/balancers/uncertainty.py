"""``uncertainty``: homoscedastic task uncertainty (Kendall, Gal & Cipolla, CVPR 2018)."""

from __future__ import annotations

import tensorflow as tf

from zoo.training.balancers.base import CONTINUOUS_KINDS, Balancer, num_replicas

_FORMS = ("auto", "regression", "classification")


class Uncertainty(Balancer):
    """Learned log-variances ``s_t``: total = Σ_t c_t exp(-s_t) L_t + s_t / 2.

    ``c_t = 1/2`` for the regression (Gaussian) form and ``1`` for the classification (softmax)
    form, so the fixed point is ``s_t = log L_t`` (regression) or ``log 2 L_t``
    (classification). ``form="auto"`` picks by task kind (regression, depth, normals are
    continuous). The log-variances are learned by the balancer's in-graph Adam step on the
    global losses (learning rate ``learning_rate``, or the model optimizer's).
    """

    name = "uncertainty"

    def __init__(self, form: str = "auto", init: float = 0.0, learning_rate: float | None = None):
        if form not in _FORMS:
            raise ValueError(f"form must be one of {', '.join(_FORMS)}, got {form!r}")
        super().__init__(form=form, init=float(init), learning_rate=learning_rate)
        self.form = form
        self.init = float(init)
        self.learning_rate = learning_rate

    def build(self, task_names, static_weights, task_kinds=None):
        super().build(task_names, static_weights, task_kinds)
        if self.form == "auto":
            factors = [0.5 if k in CONTINUOUS_KINDS else 1.0 for k in self.task_kinds]
        else:
            factors = [0.5 if self.form == "regression" else 1.0] * self.num_tasks
        self.factors = tf.constant(factors, tf.float32)
        self.add_state("log_vars", [self.init] * self.num_tasks, trainable=True)
        self._build_adam()

    def combine_losses(self, losses, global_losses=None, gram=None):
        s = tf.convert_to_tensor(self.log_vars)
        # The regulariser does not scale with the batch: each replica carries 1/replicas of it.
        reg = 0.5 * tf.reduce_sum(s) / float(num_replicas())
        return tf.reduce_sum(self.factors * tf.exp(-s) * losses) + reg

    def state_gradients(self, global_losses, gram=None):
        # ∂/∂s_t of Σ_t c_t exp(-s_t) L_t + s_t / 2 over the global batch.
        s = tf.convert_to_tensor(self.log_vars)
        return [0.5 - self.factors * tf.exp(-s) * global_losses]

    def task_weights(self):
        return self.factors * tf.exp(-tf.convert_to_tensor(self.log_vars))
