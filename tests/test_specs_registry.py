"""Specs round-trip and reject bad fields by name; the registry lists and validates."""

from __future__ import annotations

import pytest
import yaml

import zoo
from zoo.specs import FeatureSpec, SpecError, TaskSpec, parse_features


def test_feature_spec_round_trips_through_yaml():
    specs = [
        FeatureSpec(name="age", kind="dense", dim=3),
        FeatureSpec(name="city", kind="categorical", vocabulary=["a", "b", "c"], num_oov=2, embedding_dim=5),
        FeatureSpec(name="tags", kind="sequence", vocab_size=50, max_len=6, pooling="sum"),
    ]
    for s in specs:
        again = FeatureSpec.from_dict(yaml.safe_load(yaml.safe_dump(s.to_dict())))
        assert again == s
    assert specs[1].vocab_size == 3 and specs[1].table_size == 5


def test_task_spec_round_trips_and_defaults_follow_the_kind():
    t = TaskSpec(name="rating", kind="regression", loss="huber", weight=0.5)
    assert TaskSpec.from_dict(yaml.safe_load(yaml.safe_dump(t.to_dict()))) == t
    assert TaskSpec(name="c", kind="binary").metrics == ("auc", "logloss")
    assert TaskSpec(name="k", kind="multiclass", num_classes=4).loss == "categorical_crossentropy"


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"name": "x", "kind": "dense", "dimm": 3}, "unknown key 'dimm'"),
        ({"name": "x", "kind": "categorical"}, "needs vocab_size"),
        ({"name": "x", "kind": "sequence", "vocab_size": 9}, "max_len"),
        ({"name": "x", "kind": "blob"}, "kind must be one of"),
        ({"name": "1x", "kind": "dense"}, "must start with a letter"),
        ({"name": "zoo__x", "kind": "dense"}, "reserved prefix"),
        ({"name": "x", "kind": "sequence", "vocab_size": 9, "max_len": 2, "pooling": "max"}, "pooling"),
    ],
)
def test_bad_feature_spec_names_the_field(data, fragment):
    with pytest.raises(SpecError, match=fragment):
        FeatureSpec.from_dict(data)


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"name": "t", "kind": "multiclass"}, "num_classes"),
        ({"name": "t", "kind": "binary", "loss": "mse"}, "loss must be one of"),
        ({"name": "t", "kind": "regression", "metrics": ["auc"]}, "metric 'auc'"),
        ({"name": "t", "kind": "binary", "weight": -1}, "weight"),
        ({"name": "t", "kind": "binary", "wieght": 1}, "unknown key 'wieght'"),
    ],
)
def test_bad_task_spec_names_the_field(data, fragment):
    with pytest.raises(SpecError, match=fragment):
        TaskSpec.from_dict(data)


def test_shared_embedding_must_exist_and_match():
    base = {"name": "u", "kind": "categorical", "vocab_size": 5}
    with pytest.raises(SpecError, match="shared_embedding 'nope'"):
        parse_features([base, {"name": "h", "kind": "sequence", "vocab_size": 5, "max_len": 2, "shared_embedding": "nope"}])
    with pytest.raises(SpecError, match="another table size"):
        parse_features([base, {"name": "h", "kind": "sequence", "vocab_size": 9, "max_len": 2, "shared_embedding": "u"}])


def test_list_models_has_every_ranking_architecture():
    for name in ["single_task", "shared_bottom", "omoe", "mmoe", "cgc", "ple", "esmm", "aitm", "cross_stitch"]:
        assert name in zoo.list_models()


def test_unknown_model_and_hyperparameter_list_the_valid_ones():
    feats = [{"name": "x", "kind": "dense", "dim": 2}]
    tasks = [{"name": "y", "kind": "regression"}]
    with pytest.raises(ValueError, match="unknown model 'mmeo'.*mmoe"):
        zoo.create("mmeo", feats, tasks)
    with pytest.raises(ValueError, match="unknown hyperparameter 'experts'.*num_experts"):
        zoo.create("mmoe", feats, tasks, experts=4)


def test_task_and_feature_names_must_differ():
    with pytest.raises(ValueError, match="same name"):
        zoo.create("shared_bottom", [{"name": "y", "kind": "dense", "dim": 2}], [{"name": "y", "kind": "regression"}])


def test_hyperparameter_defaults_are_the_papers():
    hp = zoo.hyperparameters("mmoe")
    assert hp["num_experts"] == 8 and tuple(hp["expert_units"]) == (16,) and tuple(hp["tower_units"]) == (8,)
    assert zoo.hyperparameters("aitm")["calibrator_weight"] == 0.6


def test_load_refuses_a_file_that_is_not_a_zoo_model(tmp_path):
    import keras

    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "plain.keras"
    plain.save(path)
    with pytest.raises(ValueError, match="not a zoo model"):
        zoo.load(str(path))
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    with pytest.raises(ValueError, match="not a loadable"):
        zoo.load(str(junk))
