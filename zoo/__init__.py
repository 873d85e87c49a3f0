"""mtlzoo: multi-task Keras 3 models for ranking and dense vision, exportable to SavedModel and ONNX."""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from zoo import layers, models  # noqa: E402,F401  (registers layers and architectures)
from zoo.metrics import delta_m  # noqa: E402
from zoo.pretrained import load_pretrained, pretrained_names  # noqa: E402
from zoo.registry import create, hyperparameters, list_models, load  # noqa: E402
from zoo.specs import FeatureSpec, SpecError, TaskSpec  # noqa: E402
from zoo.training import BALANCERS, MultiTaskModel, get_balancer  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BALANCERS", "FeatureSpec", "MultiTaskModel", "SpecError", "TaskSpec", "__version__",
    "create", "delta_m", "get_balancer", "hyperparameters", "list_models", "load", "load_pretrained",
    "pretrained_names",
]
