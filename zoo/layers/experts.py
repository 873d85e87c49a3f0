"""Mixture-of-experts blocks: a fused expert bank, softmax gates and the gated sum."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers._register import register


@register
class ExpertBank(keras.layers.Layer):
    """``num_experts`` MLP experts evaluated together: one matmul per layer for all experts.

    Input ``[B, d]``, output ``[B, num_experts, units[-1]]``. The first layer is a single
    ``[d, E*u]`` matmul; deeper layers are one batched contraction over the experts.
    """

    def __init__(self, num_experts: int, units, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.num_experts = int(num_experts)
        self.units = [int(u) for u in units]
        if self.num_experts < 1 or not self.units:
            raise ValueError("ExpertBank: num_experts >= 1 and at least one layer of units are required")
        self.activation = activation
        self._act = keras.activations.get(activation)

    def build(self, input_shape):
        d = int(input_shape[-1])
        e, u0 = self.num_experts, self.units[0]
        self.kernels = [self.add_weight(name="kernel_0", shape=(d, e * u0), initializer="glorot_uniform")]
        self.biases = [self.add_weight(name="bias_0", shape=(e * u0,), initializer="zeros")]
        for i in range(1, len(self.units)):
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{i}",
                    shape=(e, self.units[i - 1], self.units[i]),
                    initializer="glorot_uniform",
                )
            )
            self.biases.append(self.add_weight(name=f"bias_{i}", shape=(e, self.units[i]), initializer="zeros"))
        self.built = True

    def call(self, inputs):
        h = self._act(ops.matmul(inputs, self.kernels[0]) + self.biases[0])
        h = ops.reshape(h, (-1, self.num_experts, self.units[0]))
        for kernel, bias in zip(self.kernels[1:], self.biases[1:]):
            h = self._act(ops.einsum("beu,euv->bev", h, kernel) + bias)
        return h

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_experts, self.units[-1])

    def get_config(self):
        config = super().get_config()
        config.update(num_experts=self.num_experts, units=self.units, activation=self.activation)
        return config


@register
class ExpertGate(keras.layers.Layer):
    """A softmax gate: one linear map from the gate input to a distribution over experts."""

    def __init__(self, num_experts: int, **kwargs):
        super().__init__(**kwargs)
        self.num_experts = int(num_experts)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(int(input_shape[-1]), self.num_experts), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.num_experts,), initializer="zeros")
        self.built = True

    def call(self, inputs):
        return ops.softmax(ops.matmul(inputs, self.kernel) + self.bias, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_experts)

    def get_config(self):
        config = super().get_config()
        config.update(num_experts=self.num_experts)
        return config


@register
class MixExperts(keras.layers.Layer):
    """The gated sum of expert outputs: ``[B, E]`` weights x ``[B, E, u]`` experts -> ``[B, u]``."""

    def call(self, weights, experts):
        return ops.sum(ops.expand_dims(weights, -1) * experts, axis=1)

    def compute_output_shape(self, weights_shape, experts_shape=None):
        return (experts_shape[0], experts_shape[-1])


@register
class StackExperts(keras.layers.Layer):
    """Concatenates expert banks along the expert axis (``[B, E_i, u]`` -> ``[B, sum E_i, u]``)."""

    def call(self, banks):
        return ops.concatenate(list(banks), axis=1)

    def compute_output_shape(self, shapes):
        return (shapes[0][0], sum(int(s[1]) for s in shapes), shapes[0][-1])
