"""Acceptance: mmoe trained from a CSV + spec written here, exported with raw inputs, ONNX == Keras on raw rows."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import yaml

import zoo
from export.raw_inputs import onnx_feed, to_onnx_raw
from zoo.data.preprocessing import Preprocessor
from zoo.data.sources import load_source

SPEC = """
features:
  - {name: age, kind: dense, missing_indicator: true}
  - {name: hours, kind: dense, normalize: minmax, fill: 0}
  - {name: job, kind: categorical, min_count: 2}
  - {name: city, kind: categorical, column: town}
  - {name: tags, kind: sequence, separator: "|", max_len: 3}
tasks:
  - {name: income, kind: binary, column: income, positive: ">50K"}
  - {name: spend, kind: regression}
  - {name: tier, kind: multiclass, classes: [gold, silver, bronze]}
"""


def write_csv(path, n=400, seed=0):
    rng = np.random.default_rng(seed)
    jobs = ["Private", "Self-emp", "Gov", "Never worked", "rare-job"]
    tags = ["a", "b", "c", "d"]
    lines = ["id,age,hours,job,town,tags,income,spend,tier,ignored"]
    for i in range(n):
        age = "" if i % 11 == 0 else f"{rng.uniform(18, 80):.3f}"
        hours = "NA" if i % 13 == 0 else str(int(rng.integers(1, 80)))
        job = "rare-job" if i == 5 else ("" if i % 17 == 0 else jobs[i % 4])
        town = f'"Town, {i % 6}"'
        tg = "|".join(rng.choice(tags, int(rng.integers(0, 5))).tolist())
        income = "" if i % 10 == 0 else (">50K" if rng.random() < 0.4 else "<=50K")
        spend = "" if i % 9 == 0 else f"{rng.normal(3, 1):.4f}"
        tier = ["gold", "silver", "bronze", ""][i % 4]
        lines.append(f"{i},{age},{hours},{job},{town},{tg},{income},{spend},{tier},zzz")
    path.write_text("\n".join(lines) + "\n")


def test_mmoe_from_csv_exports_raw_inputs_with_parity(tmp_path):
    csv_path = tmp_path / "table.csv"
    write_csv(csv_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    spec = yaml.safe_load((tmp_path / "spec.yaml").read_text())
    bundle = load_source("tabular", path=str(csv_path), features=spec["features"], tasks=spec["tasks"],
                         splits={"train": 0.7, "validation": 0.15, "test": 0.15}, seed=3, key="id")
    pre = bundle.extras["preprocessor"]
    job = next(e for e in pre.encoders if e.name == "job")
    assert "rare-job" not in job.vocabulary and "" not in job.vocabulary
    rows = bundle.stats["rows"]
    assert rows["train"] + rows["validation"] + rows["test"] == 400 and rows["train"] > 200

    labels = [y for _, y in bundle.train.take(400).as_numpy_iterator()]
    assert any(np.isnan(y["income"][0]) for y in labels)  # missing label stays missing
    assert any(y["tier"][0] == -1 for y in labels)

    model = zoo.create("mmoe", features=bundle.features, tasks=bundle.tasks, num_experts=3)
    model.compile(optimizer="adam")
    history = model.fit(bundle.train.batch(64), validation_data=bundle.validation.batch(64), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    state = json.loads(json.dumps(pre.to_dict()))
    raw = pa.csv.read_csv(csv_path, convert_options=pa.csv.ConvertOptions(
        column_types={c: pa.string() for c in ("job", "town", "tags")}, strings_can_be_null=True))
    report = to_onnx_raw(model, state, tmp_path / "raw.onnx", rows=raw)
    assert report.max_error <= 1e-5

    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "raw.onnx"), providers=["CPUExecutionProvider"])
    assert {i.name for i in session.get_inputs()} == {"age", "hours", "job", "town", "tags"}
    restored = Preprocessor.from_dict(state)
    feats, _ = restored.transform(raw)
    keras_out = model(feats, training=False)
    onnx_out = dict(zip([o.name for o in session.get_outputs()], session.run(None, onnx_feed(restored, raw)), strict=True))
    for task in ("income", "spend", "tier"):
        np.testing.assert_allclose(onnx_out[task], np.asarray(keras_out[task]), atol=1e-5)
    unseen = pa.table({"age": pa.array([None], pa.float64()), "hours": pa.array([1e6]),
                       "job": ["never-seen"], "town": [None], "tags": ["zz|a||b|c|d"]})
    out = session.run(None, onnx_feed(restored, unseen))
    assert all(np.isfinite(o).all() for o in out)


def test_parquet_folder_and_split_files(tmp_path):
    import pyarrow.parquet as pq

    csv_path = tmp_path / "t.csv"
    write_csv(csv_path, n=120)
    table = pa.csv.read_csv(csv_path)
    (tmp_path / "pq").mkdir()
    pq.write_table(table.slice(0, 60), tmp_path / "pq" / "part-0.parquet")
    pq.write_table(table.slice(60), tmp_path / "pq" / "part-1.parquet")
    spec = yaml.safe_load(SPEC)
    bundle = load_source("tabular", path=str(tmp_path / "pq"), features=spec["features"], tasks=spec["tasks"],
                         batch_rows=32)
    n = sum(bundle.stats["rows"].values())
    assert n == 120
    again = load_source("tabular", path=str(tmp_path / "pq"), features=spec["features"], tasks=spec["tasks"],
                        batch_rows=32)
    assert bundle.stats["rows"] == again.stats["rows"]  # deterministic split
    split = load_source("tabular", splits={"train": str(csv_path), "test": str(csv_path), "validation": 0.2},
                        features=spec["features"], tasks=spec["tasks"])
    assert split.stats["rows"]["train"] + split.stats["rows"]["validation"] == 120
    assert sum(1 for _ in split.test) == 120


def test_bad_spec_key_is_named():
    with pytest.raises(ValueError, match="normalise"):
        Preprocessor([{"name": "a", "normalise": "standard"}], [{"name": "y"}])


def test_raw_export_multi_column_dense_generated_rows_and_atomic_failure(tmp_path):
    table = pa.table({
        "n1": [1.0, 2.0, None, 4.0] * 5, "n2": [10, 20, 30, 40] * 5, "k": [1, 2, 3, None] * 5,
        "y": [0, 1, None, 1] * 5,
    })
    pre = Preprocessor(
        [{"name": "nums", "columns": ["n1", "n2"], "missing_indicator": True},
         {"name": "k", "kind": "categorical"}],
        [{"name": "y"}],
    ).fit(table.to_batches(max_chunksize=7))
    model = zoo.create("mmoe", features=pre.feature_specs, tasks=pre.task_specs, num_experts=2)
    report = to_onnx_raw(model, pre, tmp_path / "raw.onnx")  # parity on generated raw rows
    assert report.max_error <= 1e-5 and (tmp_path / "raw.onnx").exists()
    bad = Preprocessor([{"name": "n1"}, {"name": "n1_text", "kind": "categorical", "column": "n1"}],
                       [{"name": "y"}]).fit([table])
    model = zoo.create("mmoe", features=bad.feature_specs, tasks=bad.task_specs, num_experts=2)
    with pytest.raises(ValueError, match="column 'n1'"):
        to_onnx_raw(model, bad, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()
