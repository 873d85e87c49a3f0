"""Every ranking model exports to ONNX and SavedModel with verified parity, names, batch axis and metadata."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import export
import zoo
from export.runtime import Predictor
from export.verify import ParityError, edge_case_inputs, keras_outputs, row_magnitude

RANKING = zoo.list_models("ranking")
VOCAB = 7
FEATURES = [
    {"name": "dense", "kind": "dense", "dim": 3},
    {"name": "cat", "kind": "categorical", "vocab_size": VOCAB, "embedding_dim": 4},
    {"name": "tags", "kind": "sequence", "vocab_size": VOCAB, "embedding_dim": 4, "max_len": 4,
     "shared_embedding": "cat"},
]


def tasks_for(name: str) -> list[dict]:
    """Tasks each architecture accepts; a task called ``gate`` must not collide with gate layers."""
    if name == "esmm":
        return [{"name": "gate", "kind": "binary"}, {"name": "cvr", "kind": "binary"}]
    if name == "aitm":
        return [{"name": "gate", "kind": "binary"}, {"name": "buy", "kind": "binary"}]
    return [
        {"name": "gate", "kind": "binary"},
        {"name": "y", "kind": "regression"},
        {"name": "cls", "kind": "multiclass", "num_classes": 3},
    ]


def tiny(name: str) -> dict:
    """Shrink every width hyperparameter so that the whole suite stays fast."""
    hp = {}
    for key, default in zoo.hyperparameters(name).items():
        if key.endswith("_units"):
            hp[key] = (4,) * min(len(default), 2)
        elif key in ("num_experts", "info_dim"):
            hp[key] = 2 if key == "num_experts" else 4
    return hp


def build(name: str, **feature_overrides):
    features = [dict(f, **feature_overrides.get(f["name"], {})) for f in FEATURES]
    return zoo.create(name, features, tasks_for(name), **tiny(name))


@pytest.fixture(scope="module", params=RANKING)
def exported(request, tmp_path_factory):
    """A tiny model of each architecture with both of its verified exports."""
    model = build(request.param)
    out = tmp_path_factory.mktemp(request.param)
    onnx_report = export.to_onnx(model, out / "model.onnx")
    sm_report = export.to_saved_model(model, out / "saved_model")
    return model, onnx_report, sm_report


def test_both_formats_verify_within_1e5(exported):
    model, onnx_report, sm_report = exported
    tasks = {t.name for t in model.task_specs}
    for report in (onnx_report, sm_report):
        assert set(report.errors) == tasks
        assert all(0.0 <= e <= 1e-5 for e in report.errors.values()), report.errors
        assert report.size_bytes > 0 and report.precision == "float32"
    assert export.verify(model, onnx_report.path) == pytest.approx(onnx_report.errors)


def test_onnx_names_batch_axis_metadata_and_checker(exported):
    model, onnx_report, _ = exported
    proto = onnx.load(onnx_report.path)
    onnx.checker.check_model(proto, full_check=True)
    assert sorted(i.name for i in proto.graph.input) == sorted(f.name for f in model.feature_specs)
    assert sorted(o.name for o in proto.graph.output) == sorted(t.name for t in model.task_specs)
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch", value.name
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["mtlzoo_version"] == zoo.__version__
    assert props["model_name"] == model.name == props["architecture"]
    assert json.loads(props["feature_specs"]) == [f.to_dict() for f in model.feature_specs]
    assert json.loads(props["task_specs"]) == [t.to_dict() for t in model.task_specs]


def test_saved_model_signature_names(exported):
    import tensorflow as tf

    model, _, sm_report = exported
    signature = tf.saved_model.load(sm_report.path).signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    assert sorted(inputs) == sorted(f.name for f in model.feature_specs)
    assert sorted(signature.structured_outputs) == sorted(t.name for t in model.task_specs)
    assert all(spec.dtype == tf.float32 for spec in signature.structured_outputs.values())


def test_oov_negative_and_padding_rows_match_keras_in_onnx(exported):
    model, onnx_report, _ = exported
    x = {
        "dense": np.array([[0, 0, 0], [1e4, -1e4, 3], [0.5, 0.5, 0.5], [1, 2, 3]], dtype=np.float32),
        "cat": np.array([[VOCAB], [VOCAB + 1000], [-5], [np.iinfo(np.int64).max]], dtype=np.int64),
        "tags": np.array([[0, 0, 0, 0], [VOCAB, -1, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0]], dtype=np.int64),
    }
    want = keras_outputs(model, x)
    got = Predictor(onnx_report.path)(x)
    for name in want:
        scale = np.maximum(np.abs(want[name]), row_magnitude(x).reshape(-1, 1))  # the parity rule of export.verify
        assert (np.abs(got[name] - want[name]) <= 1e-5 * scale).all(), name
    # all OOV ids of a single-bucket feature share one embedding row
    same = {k: np.repeat(v[:1], 2, axis=0) for k, v in x.items()}
    same["cat"] = np.array([[VOCAB], [-123]], dtype=np.int64)
    out = Predictor(onnx_report.path)(same)
    for name, value in out.items():
        np.testing.assert_allclose(value[0], value[1], atol=1e-6, err_msg=name)


def test_verify_names_the_failing_output(tmp_path):
    a, b = build("mmoe"), build("mmoe")
    path = tmp_path / "a.onnx"
    export.to_onnx(a, path)
    with pytest.raises(ParityError, match=r"output '(gate|y|cls)'"):
        export.verify(b, path)


def test_edge_cases_cover_oov_negative_padding_zeros_and_large():
    x = edge_case_inputs(build("shared_bottom"))
    assert (x["cat"] >= VOCAB).any() and (x["cat"] < 0).any()
    assert (x["cat"] == np.iinfo(np.int64).max).any() and (x["cat"] == np.iinfo(np.int64).min).any()
    assert (x["tags"] == 0).all(axis=1).any() and (x["tags"] < 0).any() and (x["tags"] >= VOCAB).any()
    assert (x["dense"] == 0).all(axis=1).any() and np.abs(x["dense"]).max() >= 1e4


def test_multi_bucket_oov_parity(tmp_path):
    """Negative and huge ids spread over several OOV buckets identically in Keras and ONNX."""
    model = build("mmoe", cat={"num_oov": 3}, tags={"num_oov": 3})
    report = export.to_onnx(model, tmp_path / "m.onnx")
    assert report.max_error <= 1e-5


def test_punctuated_names_survive_onnx_and_are_refused_by_saved_model(tmp_path):
    model = zoo.create("mmoe", [{"name": "user.age-x", "kind": "dense", "dim": 2}],
                       [{"name": "gate", "kind": "binary"}, {"name": "t.v-2", "kind": "regression"}],
                       num_experts=2, expert_units=(4,), tower_units=(2,))
    report = export.to_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(report.path)
    assert [i.name for i in proto.graph.input] == ["user.age-x"]
    assert sorted(o.name for o in proto.graph.output) == ["gate", "t.v-2"]
    with pytest.raises(ValueError, match=r"feature 'user.age-x': a SavedModel signature would rename"):
        export.to_saved_model(model, tmp_path / "sm")
    assert not (tmp_path / "sm").exists()
