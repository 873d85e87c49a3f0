"""``mtlzoo list``: models, recipes and pretrained entries."""

from __future__ import annotations

import json

HELP = "List the registered models, the shipped recipes and the pretrained zoo entries."


def add_arguments(parser) -> None:
    """--json for machine-readable output."""
    parser.add_argument("--json", action="store_true", help="print one JSON object with keys models, recipes, pretrained")


def collect() -> dict:
    """Everything ``mtlzoo list`` shows, as plain data."""
    import zoo
    from recipes.config import recipe_names

    try:
        from zoo.pretrained import pretrained_entries

        pretrained = pretrained_entries()
    except ImportError:
        pretrained = []
    return {"models": zoo.list_models(), "recipes": recipe_names(), "pretrained": pretrained}


def run(args) -> int:
    """Print the listing."""
    data = collect()
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print("models:   " + ", ".join(data["models"]))
    print("recipes:  " + ", ".join(data["recipes"]))
    print("pretrained:")
    for e in data["pretrained"]:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in list(e.get("metrics", {}).items())[:4])
        print(f"  {e['name']:<28} {e['model']:<14} {metrics}")
    if not data["pretrained"]:
        print("  (none)")
    return 0
