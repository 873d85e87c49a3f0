"""Loss-balancing and gradient-surgery methods, chosen by name."""

from __future__ import annotations

from zoo.training.balancers.base import Balancer
from zoo.training.balancers.cagrad import CAGrad
from zoo.training.balancers.dwa import DWA
from zoo.training.balancers.famo import FAMO
from zoo.training.balancers.gradnorm import GradNorm
from zoo.training.balancers.mgda import MGDA
from zoo.training.balancers.nash_mtl import NashMTL
from zoo.training.balancers.pcgrad import PCGrad
from zoo.training.balancers.static import Static
from zoo.training.balancers.uncertainty import Uncertainty

BALANCERS: dict[str, type[Balancer]] = {
    cls.name: cls for cls in (Static, Uncertainty, DWA, GradNorm, PCGrad, CAGrad, MGDA, NashMTL, FAMO)
}


def get_balancer(spec, **params) -> Balancer:
    """A balancer from a name (plus parameters), a ``{"name": ..., **params}`` dict or an instance."""
    if isinstance(spec, Balancer):
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        params = {**spec, **params}
        spec = params.pop("name", "static")
    if spec not in BALANCERS:
        raise ValueError(f"unknown balancer {spec!r} (valid: {', '.join(BALANCERS)})")
    cls = BALANCERS[spec]
    try:
        return cls(**params)
    except TypeError as e:
        raise ValueError(f"balancer {spec!r}: {e}") from None


__all__ = ["BALANCERS", "Balancer", "get_balancer"]
