"""The cross-stitch unit of Misra et al. (CVPR 2016): learned linear mixing of task columns."""

from __future__ import annotations

import keras

from zoo.layers._register import register


@register
class CrossStitch(keras.layers.Layer):
    """Mixes T same-shaped activations: ``out_i = sum_j alpha_ij x_j``.

    ``alpha`` starts at ``self_weight`` on the diagonal and shares ``1 - self_weight``
    over the other columns (the paper's 0.9/0.1 initialisation). Works on vectors and
    feature maps alike.
    """

    def __init__(self, num_tasks: int, self_weight: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = int(num_tasks)
        self.self_weight = float(self_weight)

    def build(self, input_shape):
        t = self.num_tasks
        off = (1.0 - self.self_weight) / max(t - 1, 1)
        init = [[self.self_weight if i == j else off for j in range(t)] for i in range(t)]
        self.alpha = self.add_weight(
            name="alpha", shape=(t, t), initializer=keras.initializers.Constant(init)
        )
        self.built = True

    def call(self, columns):
        columns = list(columns)
        outputs = []
        for i in range(self.num_tasks):
            mixed = columns[0] * self.alpha[i, 0]
            for j in range(1, self.num_tasks):
                mixed = mixed + columns[j] * self.alpha[i, j]
            outputs.append(mixed)
        return outputs

    def compute_output_shape(self, input_shape):
        return list(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(num_tasks=self.num_tasks, self_weight=self.self_weight)
        return config
