"""Loss-balancing and gradient-surgery methods, chosen by name."""

from __future__ import annotations

from zoo.training.balancers.base import Balancer
from zoo.training.balancers.static import Static

BALANCERS: dict[str, type[Balancer]] = {
    Static.name: Static,
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
