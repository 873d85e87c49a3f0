"""Multi-task training: the model class, masked losses and balancers."""

from zoo.training.balancers import BALANCERS, Balancer, get_balancer
from zoo.training.losses import masked_mean_loss
from zoo.training.model import MultiTaskModel

__all__ = ["BALANCERS", "Balancer", "MultiTaskModel", "get_balancer", "masked_mean_loss"]
