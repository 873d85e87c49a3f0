"""fp16 and int8 ONNX variants: smaller files, float32 I/O, names kept, and a measured error vs float32."""

from __future__ import annotations

import keras
import numpy as np
import onnx
import pytest

import export
import zoo
from export.runtime import Predictor


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """One model with enough weights for size to matter, exported three ways."""
    root = tmp_path_factory.mktemp("variants")
    keras.utils.set_random_seed(0)
    model = zoo.create("mmoe", [{"name": "x", "kind": "dense", "dim": 64}],
                       [{"name": "a", "kind": "binary"}, {"name": "b", "kind": "regression"}],
                       num_experts=4, expert_units=(64,), tower_units=(32,))
    reports = {
        "float32": export.to_onnx(model, root / "f32.onnx"),
        "fp16": export.to_onnx(model, root / "f16.onnx", precision="fp16"),
        "int8": export.to_onnx(model, root / "q8.onnx", quantize="int8"),
    }
    return model, reports


@pytest.mark.parametrize("label, max_size_ratio, max_error", [("fp16", 0.7, 2e-3), ("int8", 0.5, 0.05)])
def test_variant_is_smaller_with_a_measured_nonzero_error(variants, label, max_size_ratio, max_error):
    _, reports = variants
    report = reports[label]
    assert report.precision == label and set(report.errors) == {"a", "b"}
    assert report.size_bytes < max_size_ratio * reports["float32"].size_bytes
    assert 0 < report.max_error < max_error  # measured against float32 Keras: not zero, but small
    assert report.max_error > reports["float32"].max_error
    assert set(report.edge_case_errors) == {"a", "b"}
    assert all(np.isfinite(v) and v > 0 for v in report.edge_case_errors.values())
    if label == "int8":  # activation scales are per batch: 1e4 rows next to ~0 rows are its worst case
        assert max(report.edge_case_errors.values()) > report.max_error
    assert reports["float32"].edge_case_errors is None


@pytest.mark.parametrize("label", ["fp16", "int8"])
def test_variant_keeps_names_io_types_and_metadata(variants, label):
    model, reports = variants
    proto = onnx.load(reports[label].path)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["precision"] == label and props["model_name"] == "mmoe"
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    x = {"x": np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)}
    out = Predictor(reports[label].path)(x)
    assert set(out) == {"a", "b"} and all(v.dtype == np.float32 and v.shape == (5, 1) for v in out.values())


@pytest.mark.parametrize("label, atol", [("fp16", 2e-3), ("int8", 0.05)])
def test_variant_error_on_typical_inputs(variants, label, atol):
    model, reports = variants
    x = {"x": np.random.default_rng(1).normal(size=(256, 64)).astype(np.float32)}
    want = {k: np.asarray(v) for k, v in model(x, training=False).items()}
    got = Predictor(reports[label].path)(x)
    worst = max(float(np.abs(got[k] - want[k]).max()) for k in want)
    assert 0 < worst < atol


def test_verify_measures_the_variant_again(variants):
    model, reports = variants
    again = export.verify(model, reports["fp16"].path, atol=None)  # edge cases + typical batches
    report = reports["fp16"]
    assert again == pytest.approx({k: max(report.errors[k], report.edge_case_errors[k]) for k in again})


def test_unknown_or_combined_variants_are_refused(variants, tmp_path):
    model, _ = variants
    with pytest.raises(ValueError, match="not both"):
        export.to_onnx(model, tmp_path / "x.onnx", precision="fp16", quantize="int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        export.to_onnx(model, tmp_path / "x.onnx", precision="bf16")
    assert not (tmp_path / "x.onnx").exists()
