"""The MMoE paper's synthetic generator (Ma et al., KDD 2018, section 4): two regression tasks
whose correlation is controlled by ``p``."""

from __future__ import annotations

import numpy as np

from zoo.data.arrays import split_arrays, to_dataset
from zoo.data.sources import DataBundle
from zoo.specs import FeatureSpec, TaskSpec


def mmoe_synthetic(n: int, d: int = 100, p: float = 0.5, c: float = 1.0, m: int = 10,
                   noise_var: float = 0.01, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x [n, d], y1 [n], y2 [n])``.

    u1, u2 are orthogonal unit vectors; w1 = c u1, w2 = c (p u1 + sqrt(1 - p^2) u2);
    y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + eps with alpha_i, beta_i ~ N(0, 1)
    shared by both tasks and eps ~ N(0, noise_var). With m = 0 the label correlation is p.
    """
    if not -1.0 <= p <= 1.0:
        raise ValueError(f"mmoe_synthetic: p must be in [-1, 1], got {p}")
    if d < 2 or n < 1 or m < 0:
        raise ValueError("mmoe_synthetic: need d >= 2, n >= 1, m >= 0")
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, 2)))
    u1, u2 = q[:, 0], q[:, 1]
    w1 = c * u1
    w2 = c * (p * u1 + np.sqrt(1.0 - p * p) * u2)
    alpha = rng.normal(size=m)
    beta = rng.normal(size=m)
    x = rng.normal(size=(n, d))
    ys = []
    for w in (w1, w2):
        z = x @ w
        y = z + np.sin(np.outer(z, alpha) + beta).sum(axis=1) + rng.normal(scale=np.sqrt(noise_var), size=n)
        ys.append(y)
    return x.astype(np.float32), ys[0].astype(np.float32), ys[1].astype(np.float32)


def mmoe_synthetic_source(n: int = 20000, d: int = 100, p: float = 0.5, c: float = 1.0, m: int = 10,
                          noise_var: float = 0.01, seed: int = 0,
                          splits=(0.8, 0.1, 0.1)) -> DataBundle:
    """DataBundle of the generator: feature ``x`` (dense, width d), regression tasks ``y1``, ``y2``."""
    x, y1, y2 = mmoe_synthetic(n, d, p, c, m, noise_var, seed)
    parts = split_arrays({"x": x, "y1": y1[:, None], "y2": y2[:, None]}, splits, seed)
    datasets = [to_dataset({"x": s["x"]}, {"y1": s["y1"], "y2": s["y2"]}) for s in parts]
    return DataBundle(
        features=[FeatureSpec(name="x", kind="dense", dim=d)],
        tasks=[TaskSpec(name="y1", kind="regression"), TaskSpec(name="y2", kind="regression")],
        train=datasets[0],
        validation=datasets[1],
        test=datasets[2],
        description=f"MMoE synthetic data (Ma et al. 2018): n={n}, d={d}, p={p}, c={c}, m={m}, noise var {noise_var}, seed {seed}",
    )
