"""mtlzoo export / predict / bench through recipes.cli.main, including their one-line errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import onnx
import pandas as pd
import pytest

import zoo
from export.verify import keras_outputs
from recipes.cli import main

FEATURES = [
    {"name": "dense", "kind": "dense", "dim": 2},
    {"name": "cat", "kind": "categorical", "vocab_size": 6, "embedding_dim": 3},
    {"name": "tags", "kind": "sequence", "vocab_size": 6, "embedding_dim": 3, "max_len": 3},
]
TASKS = [{"name": "click", "kind": "binary"}, {"name": "genre", "kind": "multiclass", "num_classes": 3}]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A saved .keras zoo model and its ONNX export made by the CLI."""
    root = tmp_path_factory.mktemp("cli")
    model = zoo.create("mmoe", FEATURES, TASKS, num_experts=2, expert_units=(4,), tower_units=(2,))
    model.save(root / "m.keras")
    assert main(["export", str(root / "m.keras"), "--format", "onnx", "--output", str(root / "m.onnx")]) == 0
    return root, model


def rows() -> dict:
    return {
        "dense": np.array([[0.1, -2.0], [3.0, 0.0], [0.0, 0.0]], dtype=np.float32),
        "cat": np.array([[1], [9], [-1]], dtype=np.int64),
        "tags": np.array([[3, 2, 0], [0, 0, 0], [1, 7, 5]], dtype=np.int64),
    }


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("mtlzoo: error: ")
    return err[0]


def test_export_onnx_report_and_graph(work, capsys):
    root, _ = work
    assert main(["export", str(root / "m.keras"), "--output", str(root / "j.onnx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "onnx" and set(report["errors"]) == {"click", "genre"}
    assert max(report["errors"].values()) <= 1e-5
    assert sorted(o.name for o in onnx.load(root / "m.onnx").graph.output) == ["click", "genre"]


def test_export_saved_model_and_triton(work, capsys):
    root, _ = work
    assert main(["export", str(root / "m.keras"), "--format", "saved_model", "--output", str(root / "sm")]) == 0
    assert (root / "sm" / "1" / "saved_model.pb").is_file()
    assert main(["export", str(root / "m.keras"), "--format", "triton", "--output", str(root / "repo"),
                 "--name", "ranker", "--max-batch", "256"]) == 0
    config = (root / "repo" / "ranker" / "config.pbtxt").read_text()
    assert (root / "repo" / "ranker" / "1" / "model.onnx").is_file()
    assert 'name: "ranker"' in config and 'platform: "onnxruntime_onnx"' in config
    assert "max_batch_size: 256" in config and "dynamic_batching {" in config
    for name, dtype, dims in [("dense", "TYPE_FP32", "2"), ("cat", "TYPE_INT64", "1"), ("tags", "TYPE_INT64", "3"),
                              ("click", "TYPE_FP32", "1"), ("genre", "TYPE_FP32", "3")]:
        assert f'name: "{name}"\n    data_type: {dtype}\n    dims: [ {dims} ]' in config
    assert "parity" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_predict_tables_match_keras(work, suffix):
    root, model = work
    x = rows()
    want = keras_outputs(model, x)
    table = pd.DataFrame({"dense": list(x["dense"]), "cat": x["cat"][:, 0], "tags": list(x["tags"]), "id": [7, 8, 9]})
    src, dst = root / f"in.{suffix}", root / f"out.{suffix}"
    if suffix == "csv":  # one row as space-separated ids, the others as JSON lists; dense as split columns
        table = pd.DataFrame({"dense_0": x["dense"][:, 0], "dense_1": x["dense"][:, 1], "cat": x["cat"][:, 0],
                              "tags": ["3 2", "[]", "[1, 7, 5]"]})
        table.to_csv(src, index=False)
    elif suffix == "parquet":
        table.to_parquet(src)
    else:
        table.to_json(src, orient="records", lines=True)
    assert main(["predict", str(root / "m.onnx"), "--input", str(src), "--output", str(dst)]) == 0
    out = {"csv": pd.read_csv, "parquet": pd.read_parquet, "jsonl": lambda p: pd.read_json(p, lines=True)}[suffix](dst)
    assert list(out.columns) == ["click", "genre_0", "genre_1", "genre_2"]
    np.testing.assert_allclose(out["click"], want["click"][:, 0], atol=1e-5)
    np.testing.assert_allclose(out[["genre_0", "genre_1", "genre_2"]].to_numpy(), want["genre"], atol=1e-5)


def test_bench_prints_latency_and_throughput(work, capsys):
    root, _ = work
    assert main(["bench", str(root / "m.onnx"), "--batch-sizes", "1,1024", "--seconds", "0.05"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "p50 ms" in lines[1] and "p99 ms" in lines[1] and "rows/s" in lines[1]
    table = [line.split() for line in lines[2:]]
    assert [int(r[0]) for r in table] == [1, 1024]
    assert all(0 < float(r[1]) <= float(r[2]) and float(r[3]) > 0 for r in table)


def test_predict_rejects_a_file_that_is_not_onnx(work, capsys):
    root, _ = work
    fake = root / "fake.onnx"
    fake.write_text("hello")
    pd.DataFrame({"cat": [1]}).to_csv(root / "one.csv", index=False)
    assert main(["predict", str(fake), "--input", str(root / "one.csv"), "--output", str(root / "o1.csv")]) == 2
    assert "not a loadable ONNX model" in one_error_line(capsys)
    assert not (root / "o1.csv").exists()


def test_export_rejects_a_keras_file_that_is_not_a_zoo_model(work, capsys):
    root, _ = work
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    plain.save(root / "plain.keras")
    assert main(["export", str(root / "plain.keras"), "--output", str(root / "plain.onnx")]) == 2
    assert "not a zoo model" in one_error_line(capsys)
    assert not (root / "plain.onnx").exists()


def test_predict_missing_column_and_text_in_numeric_column(work, capsys):
    root, _ = work
    pd.DataFrame({"dense_0": [1.0], "dense_1": [2.0], "tags": ["1 2"]}).to_csv(root / "nocat.csv", index=False)
    assert main(["predict", str(root / "m.onnx"), "--input", str(root / "nocat.csv"), "--output", str(root / "o2.csv")]) == 2
    assert "missing feature 'cat'" in one_error_line(capsys)
    pd.DataFrame({"dense_0": ["high"], "dense_1": [2.0], "cat": [1], "tags": ["1 2"]}).to_csv(root / "text.csv", index=False)
    assert main(["predict", str(root / "m.onnx"), "--input", str(root / "text.csv"), "--output", str(root / "o3.csv")]) == 2
    assert "feature 'dense': expected numbers, got text 'high'" in one_error_line(capsys)
    assert not (root / "o2.csv").exists() and not (root / "o3.csv").exists()


def test_bad_options_are_usage_errors(work, capsys):
    root, _ = work
    assert main(["export", str(root / "m.keras"), "--output", str(root / "x.onnx"), "--precision", "fp16",
                 "--quantize", "int8"]) == 2
    assert "not both" in one_error_line(capsys)
    assert main(["predict", str(root / "m.onnx"), "--input", str(root / "in.csv"), "--output", str(root / "o.xlsx")]) == 2
    assert "unknown table format" in one_error_line(capsys)
    assert main(["bench", str(root / "m.onnx"), "--batch-sizes", "1,x"]) == 2
    assert "--batch-sizes" in one_error_line(capsys)
    assert not (root / "x.onnx").exists() and not (root / "o.xlsx").exists()
