"""``mtlzoo evaluate``: recompute a pretrained entry's (or a model file's) test metrics."""

from __future__ import annotations

HELP = ("Recompute the test metrics of a pretrained entry (compared with its manifest) "
        "or of a .keras model on a recipe's test split.")

TOLERANCE = 1e-4


def add_arguments(parser) -> None:
    """MODEL, --recipe, --profile."""
    parser.add_argument("model", help="pretrained name (see `mtlzoo list`) or a .keras file")
    parser.add_argument("--recipe", help="recipe whose test split to use (default: the entry's recipe)")
    parser.add_argument("--profile", help="recipe profile for the data (default: the recipe's full profile)")


def evaluate(model, config: dict) -> dict:
    """Test metrics of ``model`` on the recipe's evaluation split (as the runner computes them)."""
    from recipes.runner import _batches, load_data
    from zoo.metrics import is_loss_key

    bundle = load_data(config)
    split = bundle.test if config["evaluation"]["split"] == "test" else bundle.validation
    model.compile()
    result = model.evaluate(_batches(split, config["data"]["eval_batch_size"]), return_dict=True, verbose=0)
    return {k: float(v) for k, v in result.items() if not is_loss_key(k)}


def run(args) -> int:
    """Print recomputed metrics (and the manifest's); exit 1 when a pretrained entry disagrees."""
    import os

    import zoo
    from recipes import config as recipe_config
    from recipes.errors import UsageError
    from zoo.pretrained import get_entry, pretrained_names

    entry = None
    if not os.path.exists(args.model):
        if args.model not in pretrained_names():
            raise UsageError(f"{args.model!r} is neither a model file nor a pretrained name "
                             f"(valid: {', '.join(pretrained_names()) or 'none'})")
        entry = get_entry(args.model)
    recipe = args.recipe or (entry and entry["recipe"])
    if not recipe:
        raise UsageError("--recipe is required for a model file")
    overrides = entry.get("overrides", []) if entry else []
    config = recipe_config.resolve(recipe, args.profile, overrides)
    model = zoo.load(args.model)
    metrics = evaluate(model, config)
    expected = entry["metrics"] if entry else {}
    worst = 0.0
    print(f"{'metric':<22}{'recomputed':>12}" + (f"{'manifest':>12}" if entry else ""))
    for key, value in metrics.items():
        line = f"{key:<22}{value:>12.6f}"
        if key in expected:
            line += f"{expected[key]:>12.6f}"
            worst = max(worst, abs(value - expected[key]))
        print(line)
    if entry:
        ok = worst <= TOLERANCE
        print(f"{'match' if ok else 'MISMATCH'}: largest difference {worst:.2e} (tolerance {TOLERANCE:g})")
        return 0 if ok else 1
    return 0
