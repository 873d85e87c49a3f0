"""Serializable blocks for dense prediction: conv blocks, residual and upsampling blocks, MTAN
attention, unit normalisation and ImageNet input scaling."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers._register import register


@register
class ConvBlock(keras.layers.Layer):
    """Conv2D (same padding, no bias) -> BatchNorm -> activation."""

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, activation: str | None = "relu",
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.activation = activation
        self.conv = keras.layers.Conv2D(self.filters, self.kernel_size, self.strides, padding="same",
                                        use_bias=False, name="conv")
        self.norm = keras.layers.BatchNormalization(name="bn")
        self.act = keras.layers.Activation(activation or "linear", name="act")

    def build(self, input_shape):
        self.conv.build(input_shape)
        out = self.conv.compute_output_shape(input_shape)
        self.norm.build(out)
        self.built = True

    def call(self, x, training=None):
        return self.act(self.norm(self.conv(x), training=training))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      activation=self.activation)
        return config


@register
class ResidualBlock(keras.layers.Layer):
    """A ResNet basic block: two 3x3 ConvBlocks plus a (projected when the shape changes) shortcut."""

    def __init__(self, filters: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = int(filters), int(strides)
        self.conv1 = ConvBlock(self.filters, 3, self.strides, name="conv1")
        self.conv2 = ConvBlock(self.filters, 3, 1, activation=None, name="conv2")
        self.project = None

    def build(self, input_shape):
        self.conv1.build(input_shape)
        mid = self.conv1.compute_output_shape(input_shape)
        self.conv2.build(mid)
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.project = ConvBlock(self.filters, 1, self.strides, activation=None, name="project")
            self.project.build(input_shape)
        self.built = True

    def call(self, x, training=None):
        y = self.conv2(self.conv1(x, training=training), training=training)
        shortcut = self.project(x, training=training) if self.project is not None else x
        return ops.relu(y + shortcut)

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides)
        return config


@register
class UpsampleBlock(keras.layers.Layer):
    """Bilinear x``scale`` upsampling, optional concatenation with a skip tensor, then a ConvBlock."""

    def __init__(self, filters: int, scale: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.scale = int(filters), int(scale)
        self.up = keras.layers.UpSampling2D(self.scale, interpolation="bilinear", name="up")
        self.conv = ConvBlock(self.filters, 3, 1, name="conv")

    def _shapes(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0]), tuple(input_shape[1])
        return tuple(input_shape), None

    def build(self, input_shape):
        x_shape, skip_shape = self._shapes(input_shape)
        up = self.up.compute_output_shape(x_shape)
        channels = up[-1] + (skip_shape[-1] if skip_shape is not None else 0)
        self.conv.build(tuple(up[:-1]) + (channels,))
        self.built = True

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)):
            x, skip = inputs
            x = ops.concatenate([self.up(x), skip], axis=-1)
        else:
            x = self.up(inputs)
        return self.conv(x, training=training)

    def compute_output_shape(self, input_shape):
        x_shape, _ = self._shapes(input_shape)
        return tuple(self.up.compute_output_shape(x_shape)[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, scale=self.scale)
        return config


@register
class TaskAttention(keras.layers.Layer):
    """MTAN attention (Liu, Johns & Davison, CVPR 2019): ``g(u) * p`` with
    g = 1x1 conv-BN-ReLU -> 1x1 conv-BN-sigmoid, a soft per-task mask over shared features ``p``.

    Called on ``[u, p]``: ``u`` is what the mask is computed from (shared features, concatenated
    with the task's previous attended features), ``p`` the shared features being selected.
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.hidden = ConvBlock(self.filters, 1, 1, name="hidden")
        self.mask = ConvBlock(self.filters, 1, 1, activation="sigmoid", name="mask")

    def build(self, input_shape):
        u_shape = tuple(input_shape[0])
        self.hidden.build(u_shape)
        self.mask.build(u_shape[:-1] + (self.filters,))
        self.built = True

    def call(self, inputs, training=None):
        u, p = inputs
        return self.mask(self.hidden(u, training=training), training=training) * p

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters)
        return config


@register
class UnitNormalize(keras.layers.Layer):
    """Scales vectors along the last axis to unit length: ``x / sqrt(sum(x^2) + eps)``."""

    def __init__(self, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return x / ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


@register
class ImagenetInput(keras.layers.Layer):
    """Maps ``[0, 1]`` RGB images to what a ``keras.applications`` backbone expects.

    ``mode="caffe"``: x*255, RGB -> BGR, minus the ImageNet channel means (ResNet50).
    ``mode="raw255"``: x*255 (backbones with built-in preprocessing: MobileNetV3, EfficientNetV2).
    """

    _BGR_MEANS = (103.939, 116.779, 123.68)

    def __init__(self, mode: str = "raw255", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("caffe", "raw255"):
            raise ValueError(f"ImagenetInput: mode must be 'caffe' or 'raw255', got {mode!r}")
        self.mode = mode

    def call(self, x):
        x = x * 255.0
        if self.mode == "caffe":
            x = ops.stack([x[..., 2], x[..., 1], x[..., 0]], axis=-1) - ops.convert_to_tensor(self._BGR_MEANS)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
