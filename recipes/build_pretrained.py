"""Train the full recipes and (re)write the pretrained zoo: weight files + manifest.json.

    .venv/bin/python -m recipes.build_pretrained [--only mmoe-synthetic,...] [--runs runs/pretrained]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

#: pretrained name -> recipe; every ranking model and the MTAN vision model.
ENTRIES = {
    "single-task-synthetic": "single_task_synthetic",
    "shared-bottom-synthetic": "shared_bottom_synthetic",
    "omoe-synthetic": "omoe_synthetic",
    "mmoe-synthetic": "mmoe_synthetic",
    "cgc-synthetic": "cgc_synthetic",
    "ple-synthetic": "ple_synthetic",
    "cross-stitch-synthetic": "cross_stitch_synthetic",
    "esmm-funnel": "esmm_synthetic",
    "aitm-funnel": "aitm_synthetic",
    "mmoe-synthetic-pcgrad": "mmoe_synthetic",
    "dense-mtan-scenes": "dense_mtan_scenes",
}
OVERRIDES = {
    "mmoe-synthetic-pcgrad": ["balancer=pcgrad"],
    # Narrower MTAN so that the shipped file stays small (~0.8M parameters, ~3 MB).
    "dense-mtan-scenes": ["model.params.widths=[12, 24, 48, 96]"],
}


def build(name: str, runs: Path) -> dict:
    """Train one entry's recipe, store its weights (without optimizer state) and return its manifest entry."""
    import keras

    from recipes.runner import train_recipe
    from zoo.metrics import is_loss_key
    from zoo.pretrained import HERE, sha256

    recipe = ENTRIES[name]
    overrides = OVERRIDES.get(name, [])
    results = train_recipe(recipe, runs / name, overrides=overrides, verbose=0, export=False)
    model = keras.saving.load_model(runs / name / "model.keras", safe_mode=True, compile=False)
    target = HERE / f"{name}.keras"
    model.save(target)
    command = shlex.join(["mtlzoo", "train", recipe, *sum([["--set", o] for o in overrides], [])])
    return {
        "name": name,
        "model": results["model"],
        "recipe": recipe,
        "overrides": overrides,
        "file": target.name,
        "sha256": sha256(target),
        "size_bytes": target.stat().st_size,
        "url": None,
        "metrics": {k: v for k, v in results["test"].items() if not is_loss_key(k)},
        "test_extra": results.get("test_extra", {}),
        "train_seconds": results["train_seconds"],
        "command": command,
    }


def main(argv=None) -> int:
    """Build the selected entries and merge them into the manifest."""
    from zoo.pretrained import MANIFEST, pretrained_entries

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated entry names (default: all)")
    parser.add_argument("--runs", default="runs/pretrained", help="where the training runs go")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(ENTRIES)
    unknown = [n for n in names if n not in ENTRIES]
    if unknown:
        print(f"unknown entries: {', '.join(unknown)} (valid: {', '.join(ENTRIES)})", file=sys.stderr)
        return 2
    entries = {e["name"]: e for e in pretrained_entries()}
    for name in names:
        print(f"training {name} ...", flush=True)
        entries[name] = build(name, Path(args.runs))
        ordered = [entries[n] for n in ENTRIES if n in entries]
        MANIFEST.write_text(json.dumps({"entries": ordered}, indent=1) + "\n")
        print(f"  {name}: {entries[name]['metrics']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
