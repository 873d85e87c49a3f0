"""``mtlzoo train``: run a recipe into a run folder."""

from __future__ import annotations

HELP = "Train a recipe (a name from recipes/ or a YAML path) into a run folder."


def add_arguments(parser) -> None:
    """RECIPE, --smoke/--profile, --output, --set key=value."""
    parser.add_argument("recipe", help="recipe name (see `mtlzoo list`) or path to a YAML file")
    parser.add_argument("--smoke", action="store_true", help="use the recipe's tiny `smoke` profile")
    parser.add_argument("--profile", help="use this profile of the recipe (default: `full` when present)")
    parser.add_argument("--output", "-o", help="run folder (default: runs/<recipe>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key, e.g. --set model.params.num_experts=4 or --set balancer=pcgrad")
    parser.add_argument("--strategy", choices=["auto", "default", "mirrored", "multi_worker"],
                        help="tf.distribute strategy (auto: multi_worker when TF_CONFIG names several workers, "
                             "mirrored when several GPUs are visible)")
    parser.add_argument("--precision", choices=["float32", "mixed_float16", "mixed_bfloat16"],
                        help="Keras dtype policy; exports stay float32")
    parser.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel/ONNX exports")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    """Train and print the test metrics."""
    from pathlib import Path

    from recipes.runner import train_recipe

    output = args.output or str(Path("runs") / Path(args.recipe).stem)
    overrides = list(args.overrides)
    if args.strategy:
        overrides.append(f"train.strategy={args.strategy}")
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    if args.jit_compile:
        overrides.append("train.jit_compile=true")
    results = train_recipe(
        args.recipe, output, overrides=overrides, smoke=args.smoke, profile=args.profile,
        verbose=0 if args.quiet else None, export=False if args.no_export else None,
    )
    print_metrics(results)
    if results.get("resumed_from_epoch"):
        print(f"resumed from the checkpoint after epoch {results['resumed_from_epoch']}")
    print(f"weights sha256: {results['weights_sha256']}")
    print(f"run folder: {output}")
    return 0


def print_metrics(results: dict) -> None:
    """Per-task test metrics, one line per task."""
    print(f"test metrics ({results['recipe']}, {results['model']}, {results['train_seconds']:.1f}s training):")
    for task, metrics in results["test_by_task"].items():
        parts = [f"{m}={v:.4f}" if v is not None else f"{m}=n/a" for m, v in metrics.items()]
        print(f"  {task:<12} " + "  ".join(parts))
    for key, value in (results.get("test_extra") or {}).items():
        print(f"  {key}: {value:.4f}")
