"""AITM blocks (Xi et al., KDD 2021): the adaptive information transfer attention and the
behavioural expectation calibrator."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers._register import register


@register
class InfoTransferAttention(keras.layers.Layer):
    """Attends over {transferred info p_{t-1}, own representation q_t} and returns z_t.

    ``w_u = softmax_u(<h1(u), h2(u)> / sqrt(dim))`` and ``z_t = sum_u w_u h3(u)``.
    """

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)

    def build(self, input_shape):
        d = int(input_shape[0][-1])
        self.query = self.add_weight(name="query", shape=(d, self.dim), initializer="glorot_uniform")
        self.key = self.add_weight(name="key", shape=(d, self.dim), initializer="glorot_uniform")
        self.value = self.add_weight(name="value", shape=(d, self.dim), initializer="glorot_uniform")
        self.built = True

    def call(self, inputs):
        transferred, own = inputs
        u = ops.stack([transferred, own], axis=1)  # [B, 2, d]
        q = ops.matmul(u, self.query)
        k = ops.matmul(u, self.key)
        v = ops.matmul(u, self.value)
        scores = ops.sum(q * k, axis=-1) / (self.dim**0.5)  # [B, 2]
        w = ops.softmax(scores, axis=1)
        return ops.sum(ops.expand_dims(w, -1) * v, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.dim)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim)
        return config


@register
class FunnelCalibrator(keras.layers.Layer):
    """Identity on the later task's probability; in training it adds the behavioural
    expectation penalty ``weight * mean(relu(p_t - p_{t-1}))`` (a conversion should not be
    likelier than the click before it)."""

    def __init__(self, weight: float = 0.6, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, previous, current, training=None):
        if training:
            self.add_loss(self.weight * ops.mean(ops.relu(current - previous)))
        return current

    def compute_output_shape(self, previous_shape, current_shape=None):
        return current_shape

    def get_config(self):
        config = super().get_config()
        config.update(weight=self.weight)
        return config
