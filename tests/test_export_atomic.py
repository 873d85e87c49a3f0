"""Exports are atomic: a failed or interrupted export leaves nothing at the target, old artifacts survive."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

import export
import export.onnx_export
import zoo
from export.atomic import atomic_path
from export.verify import ParityError

VERIFY_MODULE = sys.modules["export.verify"]  # the attribute export.verify is the public function


@pytest.fixture(scope="module")
def model():
    return zoo.create("mmoe", [{"name": "x", "kind": "dense", "dim": 4}],
                      [{"name": "a", "kind": "binary"}, {"name": "b", "kind": "regression"}],
                      num_experts=2, expert_units=(4,), tower_units=(2,))


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def fail_parity(*args, **kwargs):
    raise ParityError("output 'a': injected failure")


def test_failed_onnx_export_leaves_nothing(model, tmp_path, monkeypatch):
    monkeypatch.setattr(VERIFY_MODULE, "verify", fail_parity)
    target = tmp_path / "new" / "deep" / "m.onnx"
    with pytest.raises(ParityError, match="output 'a'"):
        export.to_onnx(model, target)
    assert not (tmp_path / "new").exists()  # not even the parent folders it created


def test_failed_export_keeps_the_previous_artifact(model, tmp_path, monkeypatch):
    target = tmp_path / "m.onnx"
    first = export.to_onnx(model, target)
    before = digest(target)
    monkeypatch.setattr(VERIFY_MODULE, "verify", fail_parity)
    with pytest.raises(ParityError):
        export.to_onnx(model, target)
    assert digest(target) == before and first.path == str(target)
    assert leftovers(tmp_path, {"m.onnx"}) == []


def test_interrupt_during_conversion_leaves_nothing(model, tmp_path, monkeypatch):
    def interrupted(model, path, opset=None):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(export.onnx_export, "convert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.to_onnx(model, tmp_path / "m.onnx")
    assert leftovers(tmp_path, set()) == []


def test_saved_model_version_replaced_only_by_a_verified_one(model, tmp_path, monkeypatch):
    base = tmp_path / "sm"
    report = export.to_saved_model(model, base, version=3)
    assert Path(report.path) == base / "3" and (base / "3" / "saved_model.pb").is_file()
    before = digest(base / "3")
    monkeypatch.setattr(VERIFY_MODULE, "verify", fail_parity)
    with pytest.raises(ParityError):
        export.to_saved_model(model, base, version=3)
    assert digest(base / "3") == before
    assert leftovers(base, {"3"}) == []
    monkeypatch.undo()
    export.to_saved_model(model, base, version=3)  # a verified export does replace it
    assert (base / "3" / "saved_model.pb").is_file() and leftovers(base, {"3"}) == []


def test_atomic_path_replaces_directories_and_refuses_kind_mismatch(tmp_path):
    target = tmp_path / "d"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target, "dir") as staged:
        staged.mkdir()
        (staged / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    with pytest.raises(ValueError, match="is a directory"):
        with atomic_path(target, "file"):
            pass
    with pytest.raises(RuntimeError, match="produced nothing"):
        with atomic_path(tmp_path / "empty.onnx", "file"):
            pass
    assert leftovers(tmp_path, {"d"}) == []
