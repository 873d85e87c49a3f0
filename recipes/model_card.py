"""The model card of a run: data, config, metrics, Δm, time, hardware, export parity, command."""

from __future__ import annotations

from pathlib import Path

import yaml


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_model_card(config: dict, results: dict) -> str:
    """Markdown text of the model card."""
    lines = [
        f"# {results['recipe']} — {results['model']}",
        "",
        config.get("description") or "",
        "",
        "## Data",
        f"- source: `{results['data']['source']}` — {results['data']['description']}",
    ]
    for k, v in (results["data"].get("stats") or {}).items():
        lines.append(f"- {k}: {_fmt(v)}")
    lines += ["", "## Test metrics", "", "| metric | value |", "|---|---|"]
    for k, v in results["test"].items():
        lines.append(f"| {k} | {_fmt(v)} |")
    for k, v in (results.get("test_extra") or {}).items():
        lines.append(f"| {k} | {_fmt(v)} |")
    if "delta_m" in results:
        lines += ["", f"Multi-task gain vs single-task baseline: Δm = {results['delta_m']:+.2f}%"]
    hw = results["hardware"]
    lines += [
        "",
        "## Training",
        f"- balancer: `{results['balancer']}`",
        f"- parameters: {results['parameters']:,}",
        f"- epochs run: {results['epochs_run']}, training time {results['train_seconds']:.1f} s",
        f"- hardware: {hw['platform']}, {hw['cpus']} CPUs, GPUs: {', '.join(hw['gpus']) or 'none'}; "
        f"TensorFlow {hw['tensorflow']}, Keras {hw['keras']}",
    ]
    if results.get("export"):
        lines += ["", "## Exports (parity against the Keras model)"]
        for fmt, rep in results["export"].items():
            errors = rep.get("max_abs_error") or rep.get("errors") or {}
            worst = max(errors.values()) if errors else float("nan")
            lines.append(f"- {fmt}: `{rep.get('path')}` — max abs error {worst:.2e}")
    lines += [
        "",
        "## Reproduce",
        "```",
        results["command"],
        "```",
        "",
        "## Resolved config",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_model_card(path: Path, config: dict, results: dict) -> None:
    """Write the model card next to the model."""
    path.write_text(render_model_card(config, results))
