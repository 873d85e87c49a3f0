"""Dense multi-task vision: ``dense_shared`` (hard sharing) and ``dense_single_task`` (the Δm baseline)."""

from __future__ import annotations

from zoo.models.common import finish, make_inputs
from zoo.models.dense_common import (
    BACKBONES,
    ENCODERS,
    backbone_encoder,
    check_vision_specs,
    compact_encoder,
    decoder_widths,
    task_decoder,
)


def dense_shared(features, tasks, encoder="compact", widths=(16, 32, 64, 128), blocks=1, decoder=None,
                 backbone_weights=None):
    """One shared encoder (compact ResNet or a ``keras.applications`` backbone), one decoder per task.

    ``encoder``: ``compact`` | ``resnet50`` | ``mobilenet_v3_small`` | ``efficientnet_v2_b0``;
    ``backbone_weights``: None | ``"imagenet"`` | path to a weights file (backbones only);
    ``decoder``: decoder widths per level, full resolution first (default: ``widths``).
    """
    if encoder not in ENCODERS:
        raise ValueError(f"dense_shared: encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
    if encoder == "compact" and backbone_weights is not None:
        raise ValueError("dense_shared: backbone_weights only applies to keras.applications encoders")
    down = 2 ** (len(widths) - 1) if encoder == "compact" else 32
    image, tasks = check_vision_specs(features, tasks, down)
    inputs = make_inputs([image])
    x = inputs[image.name]
    if encoder == "compact":
        feats = compact_encoder(x, widths, blocks)
        strides = [2**i for i in range(len(feats))]
        dec = decoder_widths(widths, decoder, len(feats))
    else:
        feats, strides = backbone_encoder(x, encoder, backbone_weights, image.shape)
        dec = decoder_widths((16, 32, 64, 128, 256), decoder, len(feats))
    outputs = {t.name: task_decoder(feats, strides, dec, t) for t in tasks}
    hp = dict(encoder=encoder, widths=list(widths), blocks=blocks, decoder=list(decoder) if decoder else None,
              backbone_weights=backbone_weights)
    return finish("dense_shared", inputs, outputs, [image], tasks, hp)


def dense_single_task(features, tasks, widths=(16, 32, 64, 128), blocks=1, decoder=None):
    """One independent compact encoder-decoder per task: nothing is shared (the baseline for Δm)."""
    image, tasks = check_vision_specs(features, tasks, 2 ** (len(widths) - 1))
    inputs = make_inputs([image])
    outputs = {}
    for t in tasks:
        feats = compact_encoder(inputs[image.name], widths, blocks, prefix=f"{t.name}_")
        strides = [2**i for i in range(len(feats))]
        dec = decoder_widths(widths, decoder, len(feats))
        outputs[t.name] = task_decoder(feats, strides, dec, t, prefix=f"{t.name}_")
    hp = dict(widths=list(widths), blocks=blocks, decoder=list(decoder) if decoder else None)
    return finish("dense_single_task", inputs, outputs, [image], tasks, hp)


__all__ = ["BACKBONES", "dense_shared", "dense_single_task"]
