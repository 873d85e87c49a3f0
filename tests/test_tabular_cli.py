"""The tabular path through the CLI: a YAML recipe over a CSV, `mtlzoo train`, then
`mtlzoo export --raw-inputs`; ONNX Runtime on raw rows equals Keras + Python preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import yaml

import zoo
from export.raw_inputs import onnx_feed
from recipes.cli import main
from tests.test_tabular import SPEC, write_csv
from zoo.data.preprocessing import Preprocessor


def test_train_then_export_raw_inputs_from_the_cli(tmp_path, capsys):
    csv_path = tmp_path / "table.csv"
    write_csv(csv_path, n=300)
    spec = yaml.safe_load(SPEC)
    recipe = {
        "name": "table_mmoe",
        "data": {"source": "tabular", "batch_size": 64,
                 "params": {"path": str(csv_path), "key": "id", **spec}},
        "model": {"name": "mmoe", "params": {"num_experts": 3}},
        "train": {"epochs": 1},
        "export": {"formats": ["onnx"]},
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "recipe.yaml"), "--quiet", "--output", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert sum(metrics["data"]["stats"]["rows"].values()) == 300
    assert (run / "preprocessing.json").exists()

    assert main(["export", str(run / "model.keras"), "--raw-inputs", "--output", str(tmp_path / "raw.onnx")]) == 0
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "raw.onnx"), providers=["CPUExecutionProvider"])
    pre = Preprocessor.from_dict(json.loads((run / "preprocessing.json").read_text()))
    raw = pa.csv.read_csv(csv_path, convert_options=pa.csv.ConvertOptions(
        column_types={c: pa.string() for c in ("job", "town", "tags")}, strings_can_be_null=True))
    feats, _ = pre.transform(raw)
    model = zoo.load(str(run / "model.keras"))
    expected = model(feats, training=False)
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, onnx_feed(pre, raw))))
    for task in ("income", "spend", "tier"):
        np.testing.assert_allclose(got[task], np.asarray(expected[task]), atol=1e-5)


def test_raw_inputs_without_preprocessing_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "mmoe_synthetic", "--smoke", "--quiet", "--no-export", "--output", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    code = main(["export", str(tmp_path / "r" / "model.keras"), "--raw-inputs", "--output", str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "preprocessing.json" in err and "\n" not in err
    assert not (tmp_path / "x.onnx").exists()
