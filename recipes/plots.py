"""PNG plots for a run folder: training curves per task and the test metrics."""

from __future__ import annotations

from pathlib import Path

from zoo.metrics import is_loss_key


def save_run_plots(results: dict, output: Path) -> list[str]:
    """Write ``training_curves.png`` and ``test_metrics.png``; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    history = results.get("history", {})
    loss_keys = sorted(k for k in history if is_loss_key(k) and not k.startswith("val_"))
    if loss_keys:
        fig, axes = plt.subplots(1, len(loss_keys), figsize=(3.2 * len(loss_keys), 2.8), squeeze=False)
        for ax, key in zip(axes[0], loss_keys):
            ax.plot(range(1, len(history[key]) + 1), history[key], label="train")
            if f"val_{key}" in history:
                ax.plot(range(1, len(history[f"val_{key}"]) + 1), history[f"val_{key}"], label="validation")
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(output / "training_curves.png", dpi=90)
        plt.close(fig)
        written.append("training_curves.png")
    test = {k: v for k, v in results.get("test", {}).items() if not is_loss_key(k)}
    if test:
        fig, ax = plt.subplots(figsize=(max(3.0, 0.6 * len(test) + 1.5), 2.8))
        ax.bar(range(len(test)), list(test.values()))
        ax.set_xticks(range(len(test)), list(test), rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{results.get('recipe', '')}: test metrics")
        fig.tight_layout()
        fig.savefig(output / "test_metrics.png", dpi=90)
        plt.close(fig)
        written.append("test_metrics.png")
    return written
