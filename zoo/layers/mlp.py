"""A stack of Dense layers as one serializable layer."""

from __future__ import annotations

import keras

from zoo.layers._register import register


@register
class MLP(keras.layers.Layer):
    """Dense -> activation (-> dropout) for each width in ``units``; the last layer may differ."""

    def __init__(
        self,
        units,
        activation: str = "relu",
        dropout: float = 0.0,
        output_activation: str | None = None,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = [int(u) for u in units]
        self.activation = activation
        self.dropout = float(dropout)
        self.output_activation = output_activation
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        last = len(self.units) - 1
        self.dense_layers = [
            keras.layers.Dense(
                u,
                activation=(output_activation or activation) if i == last else activation,
                kernel_regularizer=self.kernel_regularizer,
                name=f"dense_{i}",
            )
            for i, u in enumerate(self.units)
        ]
        self.dropout_layer = keras.layers.Dropout(self.dropout) if self.dropout > 0 else None

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.dense_layers:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for i, layer in enumerate(self.dense_layers):
            x = layer(x)
            if self.dropout_layer is not None and i < len(self.dense_layers) - 1:
                x = self.dropout_layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units[-1],) if self.units else tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=self.activation,
            dropout=self.dropout,
            output_activation=self.output_activation,
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config
