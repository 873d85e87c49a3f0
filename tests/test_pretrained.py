"""The pretrained zoo: checksums, loading by name, URL entries, evaluate and export by name."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import zoo
import zoo.pretrained as pretrained
from recipes.cli import main


def test_every_entry_matches_its_sha256_and_records_how_it_was_made():
    entries = pretrained.pretrained_entries()
    assert entries
    for e in entries:
        path = pretrained.HERE / e["file"]
        assert pretrained.sha256(path) == e["sha256"], e["name"]
        assert e["command"].startswith("mtlzoo train ") and e["metrics"]
        assert path.stat().st_size < 5_000_000


def test_the_zoo_covers_every_ranking_model():
    models = {e["model"] for e in pretrained.pretrained_entries()}
    assert set(zoo.list_models("ranking")) <= models
    assert len(pretrained.pretrained_entries()) >= 10


def test_load_by_name_gives_the_recorded_architecture():
    model = zoo.load("mmoe-synthetic")
    assert isinstance(model, zoo.MultiTaskModel) and model.architecture == "mmoe"
    out = model.predict({"x": np.zeros((2, 100), "float32")}, verbose=0)
    assert set(out) == {"y1", "y2"}


@pytest.fixture
def private_zoo(tmp_path, monkeypatch):
    """A copy of one entry in a temporary manifest folder."""
    entry = dict(pretrained.get_entry("shared-bottom-synthetic"))
    shutil.copy(pretrained.HERE / entry["file"], tmp_path / entry["file"])
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": [entry]}))
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    monkeypatch.setattr(pretrained, "MANIFEST", manifest)
    monkeypatch.setenv("MTLZOO_HOME", str(tmp_path / "cache"))
    return tmp_path, entry


def test_a_corrupted_weight_file_is_refused(private_zoo):
    folder, entry = private_zoo
    with open(folder / entry["file"], "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="checksum mismatch"):
        zoo.load_pretrained(entry["name"])


def test_a_url_entry_is_downloaded_once_and_checked(private_zoo):
    folder, entry = private_zoo
    source = folder / "remote" / entry["file"]
    source.parent.mkdir()
    shutil.move(folder / entry["file"], source)
    entry = {**entry, "url": source.as_uri()}
    (folder / "manifest.json").write_text(json.dumps({"entries": [entry]}))
    model = zoo.load_pretrained(entry["name"])
    assert model.architecture == "shared_bottom"
    cached = folder / "cache" / entry["file"]
    assert cached.exists()
    source.unlink()  # a second load uses the cache, no download
    assert zoo.load_pretrained(entry["name"]).architecture == "shared_bottom"


def test_a_download_with_the_wrong_checksum_leaves_nothing(private_zoo):
    folder, entry = private_zoo
    bad = folder / "remote.keras"
    bad.write_bytes(b"not the weights")
    (folder / entry["file"]).unlink()
    entry = {**entry, "url": bad.as_uri()}
    (folder / "manifest.json").write_text(json.dumps({"entries": [entry]}))
    with pytest.raises(ValueError, match="does not match its sha256"):
        zoo.load_pretrained(entry["name"])
    assert not any((folder / "cache").glob("*"))


def test_cli_export_and_evaluate_by_name(tmp_path, capsys):
    assert main(["export", "mmoe-synthetic", "--format", "onnx", "--output", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").exists()
    assert main(["evaluate", "mmoe-synthetic"]) == 0
    assert "match: largest difference" in capsys.readouterr().out


def test_unknown_pretrained_name_is_one_line_exit_2(capsys):
    assert main(["evaluate", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no-such-model" in err and "\n" not in err
    assert main(["export", "no-such-model", "--output", "x.onnx"]) == 2
