"""Small serializable Keras layers the zoo's models are built from."""

from zoo.layers.aitm import FunnelCalibrator, InfoTransferAttention
from zoo.layers.cross_stitch import CrossStitch
from zoo.layers.experts import ExpertBank, ExpertGate, MixExperts, StackExperts
from zoo.layers.feature_encoding import OOVBucket, SequencePooling
from zoo.layers.mlp import MLP

__all__ = [
    "CrossStitch", "ExpertBank", "ExpertGate", "FunnelCalibrator", "InfoTransferAttention",
    "MLP", "MixExperts", "OOVBucket", "SequencePooling", "StackExperts",
]
