"""The ``mtlzoo`` command line: one module per subcommand under ``recipes/commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from recipes.errors import UsageError

#: Subcommands in the order ``mtlzoo --help`` shows them.
COMMANDS = ("list", "train", "demo", "evaluate", "compare", "export", "predict", "bench")


def _load(name: str):
    return importlib.import_module(f"recipes.commands.{name}_cmd")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="mtlzoo",
        description="Multi-task model zoo: train recipes, export to SavedModel/ONNX/Triton, serve with ONNX Runtime.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = _load(name)
        except ModuleNotFoundError as e:
            if e.name == f"recipes.commands.{name}_cmd":
                continue
            raise
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _silence_native_stderr() -> None:
    """Send TensorFlow's C++ log lines (written straight to fd 2) to /dev/null while Python's
    ``sys.stderr`` keeps the real terminal, so errors stay one line. MTLZOO_DEBUG=1 keeps them."""
    if os.environ.get("MTLZOO_DEBUG"):
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = os.fdopen(original, "w", buffering=1)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input ends with ``mtlzoo: error: ...`` and exit status 2, never a traceback."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if argv is None:
        _silence_native_stderr()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("mtlzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI never shows a bare traceback
        if os.environ.get("MTLZOO_DEBUG"):
            raise
        from zoo.specs import SpecError
        from zoo.training.guards import NonFiniteLoss

        user_error = isinstance(e, (UsageError, SpecError, ValueError, FileNotFoundError, PermissionError))
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if user_error:
            print(f"mtlzoo: error: {message}", file=sys.stderr)
            return 2
        if isinstance(e, NonFiniteLoss):
            print(f"mtlzoo: training stopped: {message}", file=sys.stderr)
            return 1
        print(f"mtlzoo: internal error: {type(e).__name__}: {message} (MTLZOO_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
