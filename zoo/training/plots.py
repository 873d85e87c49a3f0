"""PNG plots of multi-task training diagnostics (balancer weights, gradient cosines, gate usage)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from zoo.training.diagnostics import (
    CONFLICT_PREFIX,
    COS_PREFIX,
    GATE_PREFIX,
    NORM_PREFIX,
    WEIGHT_PREFIX,
)


def _series(history: dict, prefix: str) -> dict[str, list[float]]:
    return {k[len(prefix) :]: [float(v) for v in vals] for k, vals in history.items() if k.startswith(prefix)}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _lines(ax, series: dict[str, list[float]], title: str, ylabel: str) -> None:
    for name, values in sorted(series.items()):
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return str(path)


def plot_weights(history: dict, path: Path) -> str | None:
    """Balancer task weights per epoch."""
    series = _series(history, WEIGHT_PREFIX)
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    _lines(ax, series, "balancer task weights", "weight")
    return _save(fig, path)


def plot_gradients(history: dict, path: Path) -> str | None:
    """Pairwise task-gradient cosines, conflict rates and gradient norms per epoch."""
    cos, conflict, norms = (_series(history, p) for p in (COS_PREFIX, CONFLICT_PREFIX, NORM_PREFIX))
    if not (cos or norms):
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    _lines(axes[0], cos, "task-gradient cosine (shared params)", "cosine")
    axes[0].axhline(0.0, color="black", linewidth=0.8)
    _lines(axes[1], conflict, "conflict rate (cosine < 0)", "share of measured batches")
    axes[1].set_ylim(-0.05, 1.05)
    _lines(axes[2], norms, "task-gradient norm (shared params)", "L2 norm")
    return _save(fig, path)


def plot_gates(history: dict, path: Path) -> str | None:
    """Each gate's expert usage over epochs (stacked) and its entropy."""
    gates: dict[str, dict[int, list[float]]] = {}
    entropy: dict[str, list[float]] = {}
    for key, values in _series(history, GATE_PREFIX).items():
        gate, _, rest = key.partition("/")
        if rest == "entropy":
            entropy[gate] = values
        elif rest.startswith("usage/"):
            gates.setdefault(gate, {})[int(rest.split("/")[1])] = values
    if not gates:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(gates) + 1, figsize=(4.5 * (len(gates) + 1), 4), squeeze=False)
    for ax, (gate, usage) in zip(axes[0], sorted(gates.items()), strict=False):
        experts = sorted(usage)
        epochs = np.arange(1, len(usage[experts[0]]) + 1)
        ax.stackplot(epochs, np.array([usage[e] for e in experts]), labels=[f"expert {e}" for e in experts])
        ax.set_title(f"{gate}: expert usage")
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1)
        if len(experts) <= 10:
            ax.legend(fontsize=7, loc="upper right")
    ax = axes[0][-1]
    _lines(ax, entropy, "gate entropy (nats)", "entropy")
    if gates:
        ax.axhline(np.log(len(next(iter(gates.values())))), color="gray", linestyle="--", linewidth=0.8)
    return _save(fig, path)


def save_training_plots(history, run_dir: str | os.PathLike) -> list[str]:
    """Write ``balancer_weights.png``, ``gradient_conflict.png`` and ``gate_usage.png`` into
    ``run_dir`` for whatever diagnostics ``history`` (a dict or a Keras History) holds; returns the paths."""
    history = getattr(history, "history", history) or {}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [
        plot_weights(history, run_dir / "balancer_weights.png"),
        plot_gradients(history, run_dir / "gradient_conflict.png"),
        plot_gates(history, run_dir / "gate_usage.png"),
    ]
    return [p for p in written if p]
