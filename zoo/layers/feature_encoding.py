"""Id handling for categorical inputs: OOV bucketing and masked sequence pooling."""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers._register import register


@register
class OOVBucket(keras.layers.Layer):
    """Maps ids outside the vocabulary to OOV rows so that no id ever indexes out of range.

    In-vocabulary ids are ``0 .. vocab_size-1`` (``1 .. vocab_size-1`` plus padding ``0``
    when ``padding`` is true); any other id, negative or too large, goes to row
    ``vocab_size + (id mod num_oov)``. Output dtype is int32 (embedding row indices).
    """

    def __init__(self, vocab_size: int, num_oov: int = 1, padding: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.num_oov = int(num_oov)
        self.padding = bool(padding)

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        # Written with clip/equal and a non-negative modulo so that TensorFlow, SavedModel and
        # ONNX (where tf2onnx compares in float and truncates Mod) agree on every int64 id.
        in_vocab = ops.equal(ops.clip(ids, 0, self.vocab_size - 1), ids)
        if self.num_oov == 1:
            oov = ops.full_like(ids, self.vocab_size)
        else:
            oov = self.vocab_size + ops.mod(ops.mod(ids, self.num_oov) + self.num_oov, self.num_oov)
        return ops.cast(ops.where(in_vocab, ids, oov), "int32")

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, num_oov=self.num_oov, padding=self.padding)
        return config


@register
class SequencePooling(keras.layers.Layer):
    """Mean or sum of the embeddings of a multi-hot sequence, ignoring padding (id 0).

    An all-padding row pools to zeros.
    """

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("mean", "sum"):
            raise ValueError(f"SequencePooling: mode must be 'mean' or 'sum', got {mode!r}")
        self.mode = mode

    def call(self, embeddings, ids):
        mask = ops.cast(ops.not_equal(ids, 0), embeddings.dtype)[..., None]
        total = ops.sum(embeddings * mask, axis=1)
        if self.mode == "sum":
            return total
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)
        return total / count

    def compute_output_shape(self, embeddings_shape, ids_shape=None):
        return (embeddings_shape[0], embeddings_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
