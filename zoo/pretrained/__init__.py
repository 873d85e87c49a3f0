"""The pretrained zoo: a manifest of weight files trained by our own recipes, checked by sha256."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"


def cache_dir() -> Path:
    """Where downloaded weight files live: ``$MTLZOO_HOME`` or ``~/.cache/mtlzoo``."""
    return Path(os.environ.get("MTLZOO_HOME") or Path.home() / ".cache" / "mtlzoo")


def pretrained_entries() -> list[dict]:
    """All manifest entries (name, model, recipe, file, sha256, metrics, command, ...)."""
    if not MANIFEST.exists():
        return []
    return json.loads(MANIFEST.read_text())["entries"]


def pretrained_names() -> list[str]:
    """Names accepted by :func:`load_pretrained`."""
    return [e["name"] for e in pretrained_entries()]


def get_entry(name: str) -> dict:
    """The manifest entry of a name; an unknown name lists the valid ones."""
    for entry in pretrained_entries():
        if entry["name"] == name:
            return entry
    raise ValueError(f"unknown pretrained model {name!r} (valid: {', '.join(pretrained_names()) or 'none'})")


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, expected: str) -> None:
    """Fetch ``url`` into ``target`` atomically, refusing content whose sha256 differs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            shutil.copyfileobj(response, out)
        if sha256(Path(tmp)) != expected:
            raise ValueError(f"download of {url} does not match its sha256 {expected[:12]}...")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def weight_path(name: str) -> Path:
    """The verified local file of an entry (downloaded once into the cache for URL entries)."""
    entry = get_entry(name)
    local = HERE / entry["file"]
    if not local.exists():
        local = cache_dir() / entry["file"]
        if not local.exists():
            if not entry.get("url"):
                raise ValueError(f"pretrained {name!r}: weight file {entry['file']!r} is missing and has no URL")
            _download(entry["url"], local, entry["sha256"])
    actual = sha256(local)
    if actual != entry["sha256"]:
        raise ValueError(
            f"pretrained {name!r}: checksum mismatch for {local} (expected {entry['sha256'][:12]}..., "
            f"got {actual[:12]}...); the file is corrupted"
        )
    return local


def load_pretrained(name: str):
    """Load a pretrained zoo model by name after verifying its sha256."""
    from zoo.registry import load_file

    return load_file(str(weight_path(name)))


__all__ = ["cache_dir", "get_entry", "load_pretrained", "pretrained_entries", "pretrained_names", "weight_path"]
