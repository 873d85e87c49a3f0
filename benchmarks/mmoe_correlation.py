"""The MMoE paper's synthetic experiment (Ma et al., KDD 2018, section 4.3): shared-bottom,
OMoE and MMoE at equal parameter counts, task correlations 1.0 / 0.9 / 0.5, several seeds.

    .venv/bin/python benchmarks/mmoe_correlation.py [--seeds 5] [--out benchmarks/results]

Prints and writes a markdown table of the mean test MSE (averaged over the two tasks) and a
PNG of loss vs correlation like the paper's figure. Data: d = 100, c = 1, m = 10, n = 20000
(80/10/10 split), a fresh data set per seed; training: Adam 2e-3, batch 256, up to 40 epochs
with early stopping on validation loss (patience 4).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from zoo.data.synthetic import mmoe_synthetic_source  # noqa: E402

CORRELATIONS = (1.0, 0.9, 0.5)
MIXTURE = {"num_experts": 8, "expert_units": [16], "tower_units": [8]}


def matched_shared_bottom(features, tasks, budget: int) -> dict:
    """Shared-bottom hyperparameters whose parameter count is closest to ``budget``."""
    best = None
    for width in range(16, 400):
        n = zoo.create("shared_bottom", features, tasks, bottom_units=[width], tower_units=[8]).count_params()
        if best is None or abs(n - budget) < abs(best[1] - budget):
            best = (width, n)
        if n > budget:
            break
    return {"bottom_units": [best[0]], "tower_units": [8]}


def run_one(name: str, hparams: dict, bundle, seed: int) -> float:
    """Train one model; return the mean test MSE over the two tasks."""
    keras.utils.set_random_seed(seed)
    model = zoo.create(name, bundle.features, bundle.tasks, **hparams)
    model.compile(optimizer=keras.optimizers.Adam(0.002))
    train = bundle.train.shuffle(20000, seed=seed).batch(256)
    model.fit(train, validation_data=bundle.validation.batch(4096), epochs=40, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)])
    result = model.evaluate(bundle.test.batch(4096), return_dict=True, verbose=0)
    return (result["y1_mse"] + result["y2_mse"]) / 2.0


def main() -> None:
    """Run the grid, print the table, write markdown/json/PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    probe = mmoe_synthetic_source(n=100)
    budget = zoo.create("mmoe", probe.features, probe.tasks, **MIXTURE).count_params()
    configs = {
        "shared_bottom": matched_shared_bottom(probe.features, probe.tasks, budget),
        "omoe": MIXTURE,
        "mmoe": MIXTURE,
    }
    params = {k: zoo.create(k, probe.features, probe.tasks, **v).count_params() for k, v in configs.items()}
    scores: dict[str, dict[float, list[float]]] = {k: {p: [] for p in CORRELATIONS} for k in configs}
    start = time.perf_counter()
    for p in CORRELATIONS:
        for seed in range(args.seeds):
            bundle = mmoe_synthetic_source(n=args.n, p=p, seed=seed)
            for name, hp in configs.items():
                scores[name][p].append(run_one(name, hp, bundle, seed))
            print(f"p={p} seed={seed} " + " ".join(f"{k}={v[p][-1]:.4f}" for k, v in scores.items()), flush=True)
    minutes = (time.perf_counter() - start) / 60
    lines = [
        f"Mean test MSE over the two tasks (mean ± std over {args.seeds} seeds; lower is better). "
        f"Parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()) + ".",
        "",
        "| model | " + " | ".join(f"p = {p}" for p in CORRELATIONS) + " |",
        "|---|" + "---|" * len(CORRELATIONS),
    ]
    for name in configs:
        cells = [f"{np.mean(scores[name][p]):.4f} ± {np.std(scores[name][p]):.4f}" for p in CORRELATIONS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    print(f"({minutes:.1f} minutes on {os.cpu_count()} CPUs)")
    (out / "mmoe_correlation.md").write_text(table + "\n")
    (out / "mmoe_correlation.json").write_text(json.dumps(
        {"scores": {k: {str(p): v for p, v in s.items()} for k, s in scores.items()}, "params": params,
         "configs": configs, "seeds": args.seeds, "n": args.n, "minutes": minutes}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name in configs:
        means = [np.mean(scores[name][p]) for p in CORRELATIONS]
        stds = [np.std(scores[name][p]) for p in CORRELATIONS]
        ax.errorbar(CORRELATIONS, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set_xlabel("task correlation p")
    ax.set_ylabel("mean test MSE")
    ax.invert_xaxis()
    ax.set_title("MMoE synthetic experiment")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "mmoe_correlation.png", dpi=110)


if __name__ == "__main__":
    main()
