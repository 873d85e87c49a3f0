"""``mtlzoo compare``: train a recipe with several balancers and seeds against the single-task baseline."""

from __future__ import annotations

import json
import math
from pathlib import Path

from recipes.errors import UsageError

HELP = "Compare balancers on a recipe: per-task metrics (mean ± std over seeds) and Δm vs single-task."

BASELINE = "single_task"


def add_arguments(parser) -> None:
    """RECIPE, --balancers, --seeds, --smoke/--profile, --output, --set."""
    parser.add_argument("recipe", help="recipe name (see `mtlzoo list`) or path to a YAML file")
    parser.add_argument("--balancers", default="static,uncertainty,pcgrad",
                        help="comma-separated balancer names (default: static,uncertainty,pcgrad)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per balancer: 0 .. N-1 (default 3)")
    parser.add_argument("--smoke", action="store_true", help="use the recipe's tiny `smoke` profile")
    parser.add_argument("--profile", help="use this profile of the recipe")
    parser.add_argument("--output", "-o", help="folder for the runs and the table (default: runs/compare_<recipe>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override applied to every run")


def _metric_keys(test: dict) -> list[str]:
    return sorted(k for k in test if k != "loss" and not k.endswith("_loss"))


def summarize(runs: dict[str, list[dict]]) -> dict:
    """``{label: {"metrics": {key: (mean, std)}, "delta_m": (mean, std)}}`` from each label's test dicts.

    Δm is paired: seed i of a balancer against seed i of the baseline (same data, same
    initialisation seed), so the spread shows the method's effect rather than how hard each
    seed's data set happens to be.
    """
    from zoo.metrics import delta_m

    if BASELINE not in runs:
        raise UsageError("compare: the single-task baseline did not run")
    baseline = runs[BASELINE]
    keys = _metric_keys(baseline[0])
    table = {}
    for label, tests in runs.items():
        metrics = {k: _mean_std([t[k] for t in tests if k in t]) for k in keys}
        deltas = [delta_m({k: t[k] for k in keys if k in t}, {k: base[k] for k in keys})
                  for t, base in zip(tests, baseline)]
        table[label] = {"metrics": metrics, "delta_m": _mean_std(deltas), "seeds": len(tests)}
    return table


def _mean_std(values: list[float]) -> tuple[float, float]:
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not values:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def to_markdown(table: dict, title: str) -> str:
    """The comparison as a markdown table: one row per balancer, one column per metric, then Δm."""
    keys = list(next(iter(table.values()))["metrics"])
    lines = [f"### {title}", "", "| balancer | " + " | ".join(keys) + " | Δm (%) |",
             "|---|" + "---:|" * (len(keys) + 1)]
    for label, row in table.items():
        cells = [f"{m:.4f} ± {s:.4f}" for m, s in (row["metrics"][k] for k in keys)]
        dm, ds = row["delta_m"]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {dm:+.2f} ± {ds:.2f} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    """Train every (balancer, seed) and the baseline, then print and save the table."""
    from recipes.runner import train_recipe
    from zoo.training.balancers import BALANCERS

    balancers = [b.strip() for b in args.balancers.split(",") if b.strip()]
    unknown = [b for b in balancers if b not in BALANCERS]
    if unknown:
        raise UsageError(f"compare: unknown balancer(s) {', '.join(unknown)} (valid: {', '.join(BALANCERS)})")
    if args.seeds < 1:
        raise UsageError("compare: --seeds must be >= 1")
    output = Path(args.output or Path("runs") / f"compare_{Path(args.recipe).stem}")
    plan = [(BASELINE, [f"model.name={BASELINE}", "model.params={}", "balancer=static"])]
    plan += [(b, [f"balancer={b}"]) for b in balancers]
    runs: dict[str, list[dict]] = {}
    for label, extra in plan:
        for seed in range(args.seeds):
            run_dir = output / label / f"seed_{seed}"
            overrides = [*args.overrides, f"seed={seed}", *extra]
            print(f"compare: {label} seed {seed} -> {run_dir}", flush=True)
            results = train_recipe(args.recipe, run_dir, overrides=overrides, smoke=args.smoke,
                                   profile=args.profile, verbose=0, export=False)
            runs.setdefault(label, []).append(results["test"])
    table = summarize(runs)
    title = f"{Path(args.recipe).stem}: {args.seeds} seed(s){' (smoke)' if args.smoke else ''}"
    markdown = to_markdown(table, title)
    output.mkdir(parents=True, exist_ok=True)
    (output / "comparison.md").write_text(markdown)
    (output / "comparison.json").write_text(json.dumps(
        {"recipe": args.recipe, "seeds": args.seeds, "smoke": bool(args.smoke), "runs": runs, "table": table},
        indent=2))
    print(markdown)
    print(f"compare: wrote {output / 'comparison.md'} and {output / 'comparison.json'}")
    return 0
