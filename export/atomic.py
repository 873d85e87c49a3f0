"""Atomic artifact writes: build in a temporary sibling, verify there, then rename into place.

An existing artifact at the target is only replaced by a complete one (the caller verifies
the staged copy inside the ``with`` block); a failure or Ctrl-C leaves nothing new behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def _missing_parents(path: Path) -> list[Path]:
    """Ancestors of ``path`` that do not exist yet, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _swap_in(staged: Path, target: Path, scratch: Path) -> None:
    """Move ``staged`` to ``target``; an existing target is moved aside first and dropped after."""
    if not target.exists() and not target.is_symlink():
        os.replace(staged, target)
        return
    if staged.is_file() and target.is_file():
        os.replace(staged, target)  # atomic on POSIX
        return
    old = scratch / "previous"
    os.replace(target, old)
    try:
        os.replace(staged, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)


def size_of(path: str | os.PathLike) -> int:
    """Size in bytes of a file, or of all files under a directory."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, kind: str = "file") -> Iterator[Path]:
    """Yield a staging path next to ``target``; it replaces ``target`` only if the block succeeds.

    ``kind`` is ``"file"`` or ``"dir"``; a target of the other kind is refused before any work.
    On an exception (KeyboardInterrupt included) the staging copy and any parent directories
    created for it are removed and the exception propagates.
    """
    target = Path(os.path.abspath(target))
    if kind not in ("file", "dir"):
        raise ValueError(f"atomic_path: kind must be 'file' or 'dir', got {kind!r}")
    if kind == "file" and target.is_dir():
        raise ValueError(f"{target}: is a directory; expected a file path")
    if kind == "dir" and target.exists() and not target.is_dir():
        raise ValueError(f"{target}: is a file; expected a directory path")
    created = _missing_parents(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    staged = scratch / target.name
    ok = False
    try:
        yield staged
        if not staged.exists():
            raise RuntimeError(f"{target}: the export produced nothing")
        _swap_in(staged, target, scratch)
        ok = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not ok:
            for parent in created:
                with contextlib.suppress(OSError):
                    parent.rmdir()
