"""Pieces shared by the dense-vision builders: spec checks, encoders, per-task decoders and heads."""

from __future__ import annotations

import keras

from zoo.layers.vision import ConvBlock, ImagenetInput, ResidualBlock, UnitNormalize, UpsampleBlock
from zoo.models.common import check_specs
from zoo.specs import FeatureSpec, TaskSpec

VISION_KINDS = ("segmentation", "depth", "normals")

#: encoder name -> (keras.applications constructor name, input mode of ImagenetInput)
BACKBONES = {
    "resnet50": ("ResNet50", "caffe"),
    "mobilenet_v3_small": ("MobileNetV3Small", "raw255"),
    "efficientnet_v2_b0": ("EfficientNetV2B0", "raw255"),
}
ENCODERS = ("compact", *BACKBONES)


def check_vision_specs(features, tasks, downsample: int) -> tuple[FeatureSpec, list[TaskSpec]]:
    """One RGB image feature and per-pixel tasks; height and width must divide by ``downsample``."""
    features, tasks = check_specs(features, tasks, kinds=VISION_KINDS)
    if len(features) != 1 or features[0].kind != "image":
        raise ValueError("dense models take exactly one feature, of kind 'image'")
    image = features[0]
    h, w, c = image.shape
    if c != 3:
        raise ValueError(f"feature {image.name!r}: dense models need 3 channels (RGB), got {c}")
    if h % downsample or w % downsample:
        raise ValueError(
            f"feature {image.name!r}: height and width must be multiples of {downsample} for this encoder, "
            f"got {h}x{w}"
        )
    return image, tasks


def compact_encoder(x, widths, blocks: int, prefix: str = ""):
    """A small ResNet: stride-1 stem then one stride-2 stage per further width.

    Returns the feature maps from full resolution down, one per width (strides 1, 2, 4, ...).
    """
    x = ConvBlock(widths[0], name=f"zoo__{prefix}stem")(x)
    feats = [x]
    for i, w in enumerate(widths[1:], start=1):
        for b in range(blocks):
            x = ResidualBlock(w, strides=2 if b == 0 else 1, name=f"zoo__{prefix}enc{i}_{b}")(x)
        feats.append(x)
    return feats


def backbone_encoder(image_input, encoder: str, weights, shape):
    """A ``keras.applications`` backbone as one nested model returning its stride-2..32 features.

    ``weights``: None (random init), ``"imagenet"`` (downloads where possible) or a weights file path.
    Returns the feature maps and their strides, from full resolution down.
    """
    ctor_name, mode = BACKBONES[encoder]
    ctor = getattr(keras.applications, ctor_name)
    base = ctor(include_top=False, weights=weights, input_shape=tuple(shape))
    height = shape[0]
    picked: dict[int, keras.KerasTensor] = {}
    for layer in base.layers[1:]:
        out = layer.output
        if isinstance(out, (list, tuple)) or len(out.shape) != 4 or out.shape[1] is None:
            continue
        stride = height // out.shape[1]
        if stride in (2, 4, 8, 16, 32) and height == out.shape[1] * stride:
            picked[stride] = out  # keep the last layer at each resolution
    strides = sorted(picked)
    features_model = keras.Model(base.input, [picked[s] for s in strides], name="zoo__backbone")
    x = ImagenetInput(mode, name="zoo__backbone_input")(image_input)
    feats = features_model(x)
    return list(feats), strides


def task_decoder(feats, strides, widths, task: TaskSpec, prefix: str = ""):
    """U-Net style decoder for one task: upsample the deepest map, fuse skips, reach full resolution, head."""
    x = feats[-1]
    level = len(feats) - 1
    for i in range(len(feats) - 2, -1, -1):
        scale = strides[i + 1] // strides[i]
        x = UpsampleBlock(widths[i], scale, name=f"zoo__{prefix}{task.name}_up{level}")([x, feats[i]])
        level -= 1
    stride = strides[0]
    while stride > 1:
        x = UpsampleBlock(widths[0], 2, name=f"zoo__{prefix}{task.name}_upfull{stride}")(x)
        stride //= 2
    return task_output(x, task, prefix)


def task_output(x, task: TaskSpec, prefix: str = ""):
    """The per-pixel output layer named after the task: softmax, softplus depth, or unit normals."""
    if task.kind == "segmentation":
        return keras.layers.Conv2D(task.num_classes, 1, activation="softmax", name=task.name, dtype="float32")(x)
    if task.kind == "depth":
        return keras.layers.Conv2D(1, 1, activation="softplus", name=task.name, dtype="float32")(x)
    x = keras.layers.Conv2D(3, 1, name=f"zoo__{prefix}{task.name}_raw")(x)
    return UnitNormalize(name=task.name, dtype="float32")(x)


def decoder_widths(widths, decoder: tuple | None, levels: int) -> list[int]:
    """Decoder width per level (full resolution first); defaults to the encoder widths."""
    chosen = list(decoder) if decoder else list(widths)
    if len(chosen) < levels:
        chosen += [chosen[-1]] * (levels - len(chosen))
    return chosen
