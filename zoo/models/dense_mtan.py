"""``dense_mtan`` (Liu, Johns & Davison, CVPR 2019): a shared encoder with per-task soft-attention
modules at every stage, and one decoder per task reading its attended features."""

from __future__ import annotations

import keras

from zoo.layers.vision import ConvBlock, ResidualBlock, TaskAttention
from zoo.models.common import finish, make_inputs
from zoo.models.dense_common import check_vision_specs, decoder_widths, task_decoder


def dense_mtan(features, tasks, widths=(16, 32, 64, 128), decoder=None):
    """Shared stages ``u_j = ConvBlock(stride 2)``, ``p_j = ResidualBlock(u_j)``; task i attends
    ``a_j = g_j([u_j, f_j(a_{j-1})]) * p_j`` where ``f_j`` is a strided ConvBlock matching stage j."""
    image, tasks = check_vision_specs(features, tasks, 2 ** (len(widths) - 1))
    inputs = make_inputs([image])
    x = inputs[image.name]
    attended: dict[str, list] = {t.name: [] for t in tasks}
    for j, w in enumerate(widths):
        u = ConvBlock(w, 3, 1 if j == 0 else 2, name=f"zoo__shared{j}_u")(x)
        p = ResidualBlock(w, name=f"zoo__shared{j}_p")(u)
        for t in tasks:
            mask_in = u
            if j > 0:
                prev = ConvBlock(w, 3, 2, name=f"zoo__att{j}_{t.name}_f")(attended[t.name][-1])
                mask_in = keras.layers.Concatenate(name=f"zoo__att{j}_{t.name}_in")([u, prev])
            attended[t.name].append(TaskAttention(w, name=f"zoo__att{j}_{t.name}")([mask_in, p]))
        x = p
    strides = [2**i for i in range(len(widths))]
    dec = decoder_widths(widths, decoder, len(widths))
    outputs = {t.name: task_decoder(attended[t.name], strides, dec, t) for t in tasks}
    hp = dict(widths=list(widths), decoder=list(decoder) if decoder else None)
    return finish("dense_mtan", inputs, outputs, [image], tasks, hp)
