"""``dense_cross_stitch`` (Misra et al., CVPR 2016): one compact encoder column per task, the columns
mixed by a cross-stitch unit after every stage, then one decoder per task."""

from __future__ import annotations

from zoo.layers.cross_stitch import CrossStitch
from zoo.layers.vision import ConvBlock, ResidualBlock
from zoo.models.common import finish, make_inputs
from zoo.models.dense_common import check_vision_specs, decoder_widths, task_decoder


def dense_cross_stitch(features, tasks, widths=(16, 32, 64, 128), blocks=1, decoder=None, self_weight=0.9):
    """Per-task columns (stem + strided residual stages) linked by cross-stitch units at every stage."""
    image, tasks = check_vision_specs(features, tasks, 2 ** (len(widths) - 1))
    inputs = make_inputs([image])
    x = inputs[image.name]
    cols = [ConvBlock(widths[0], name=f"zoo__{t.name}_stem")(x) for t in tasks]
    stitch = len(tasks) > 1
    if stitch:
        cols = CrossStitch(len(tasks), self_weight, name="zoo__stitch0")(cols)
    feats = [[c] for c in cols]
    for i, w in enumerate(widths[1:], start=1):
        for b in range(blocks):
            cols = [
                ResidualBlock(w, strides=2 if b == 0 else 1, name=f"zoo__{t.name}_enc{i}_{b}")(c)
                for t, c in zip(tasks, cols, strict=True)
            ]
        if stitch:
            cols = CrossStitch(len(tasks), self_weight, name=f"zoo__stitch{i}")(cols)
        for f, c in zip(feats, cols, strict=True):
            f.append(c)
    strides = [2**i for i in range(len(widths))]
    dec = decoder_widths(widths, decoder, len(widths))
    outputs = {t.name: task_decoder(f, strides, dec, t, prefix=f"{t.name}_") for t, f in zip(tasks, feats, strict=True)}
    hp = dict(widths=list(widths), blocks=blocks, decoder=list(decoder) if decoder else None,
              self_weight=self_weight)
    return finish("dense_cross_stitch", inputs, outputs, [image], tasks, hp)
