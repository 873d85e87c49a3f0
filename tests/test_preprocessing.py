"""Preprocessor: vocabularies with min_count/OOV, normalisation, missing values, label rules, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from zoo.data.errors import DataError
from zoo.data.preprocessing import Preprocessor
from zoo.specs import SpecError

TABLE = pa.table({
    "x": [1.0, 2.0, None, 5.0, 2.0, 8.0],
    "c": ["a", "a", "b", None, "a", "z"],
    "n": [10, 10, 11, 12, 10, 11],
    "s": ["p|q", "q", None, "", "q|q|p|r", "q|zz"],
    "y": ["yes", "no", None, "yes", "no", "no"],
    "r": [1.5, 4.0, 4.5, None, 3.9, 5.0],
})
FEATURES = [
    {"name": "x", "missing_indicator": True},
    {"name": "x_mm", "column": "x", "normalize": "minmax", "fill": -1},
    {"name": "c", "kind": "categorical", "min_count": 2},
    {"name": "n", "kind": "categorical"},
    {"name": "s", "kind": "sequence", "max_len": 3},
]
TASKS = [
    {"name": "y", "positive": "yes"},
    {"name": "liked", "column": "r", "threshold": 4},
    {"name": "r", "kind": "regression"},
    {"name": "band", "kind": "multiclass", "column": "r", "classes": {1.5: 0, 4: 1, 4.5: 1, 3.9: 0, 5: 2}},
]


def fitted(batches=None):
    return Preprocessor(FEATURES, TASKS).fit(batches or TABLE.to_batches(max_chunksize=2))


def test_vocabulary_min_count_and_oov():
    pre = fitted()
    x, _ = pre.transform(TABLE)
    c = next(e for e in pre.encoders if e.name == "c")
    assert c.vocabulary == ["a"] and c.oov_id == 1
    assert x["c"].ravel().tolist() == [0, 0, 1, 1, 0, 1]  # rare, missing and unseen -> OOV
    n = next(e for e in pre.encoders if e.name == "n")
    assert n.vocabulary == ["10", "11", "12"] and x["n"].ravel().tolist() == [0, 0, 1, 2, 0, 1]


def test_sequence_ids_padding_and_truncation():
    pre = fitted()
    s = next(e for e in pre.encoders if e.name == "s")
    assert s.vocabulary == ["q", "p", "r", "zz"]  # by count, then value
    x, _ = pre.transform(TABLE)
    assert x["s"].tolist() == [[2, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 2], [1, 4, 0]]
    assert {f.name: f for f in pre.feature_specs}["s"].vocab_size == 5


def test_dense_fill_normalise_and_indicator():
    pre = fitted()
    x, _ = pre.transform(TABLE)
    values = np.array([1, 2, 5, 2, 8.0])
    mean, std = values.mean(), values.std()
    np.testing.assert_allclose(x["x"].ravel(), (np.array([1, 2, mean, 5, 2, 8]) - mean) / std, rtol=1e-6)
    assert x["x_missing"].ravel().tolist() == [0, 0, 1, 0, 0, 0]
    np.testing.assert_allclose(x["x_mm"].ravel(), (np.array([1, 2, -1, 5, 2, 8]) - 1) / 7, rtol=1e-6)
    assert x["x"].dtype == np.float32 and x["x"].shape == (6, 1)


def test_label_rules_keep_missing_missing():
    _, y = fitted().transform(TABLE)
    assert np.array_equal(y["y"].ravel(), [1, 0, np.nan, 1, 0, 0], equal_nan=True)
    assert np.array_equal(y["liked"].ravel(), [0, 1, 1, np.nan, 0, 1], equal_nan=True)
    assert np.array_equal(y["r"].ravel(), np.array([1.5, 4, 4.5, np.nan, 3.9, 5], np.float32), equal_nan=True)
    assert y["band"].ravel().tolist() == [0, 1, 1, -1, 0, 2] and y["band"].dtype == np.int64


def test_streamed_fit_equals_one_batch_fit_and_json_round_trip():
    one = fitted([TABLE])
    many = fitted(TABLE.to_batches(max_chunksize=1))
    assert one.to_dict() == many.to_dict()
    back = Preprocessor.from_dict(json.loads(json.dumps(one.to_dict())))
    a, b = one.transform(TABLE), back.transform(TABLE)
    for got, want in ((a[0], b[0]), (a[1], b[1])):
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
    assert [f.to_dict() for f in back.feature_specs] == [f.to_dict() for f in one.feature_specs]
    assert [t.name for t in back.task_specs] == ["y", "liked", "r", "band"]


def test_label_outside_classes_and_bad_config():
    pre = fitted()
    bad = TABLE.set_column(5, "r", pa.array([1.5, 2.0, None, None, None, None]))
    with pytest.raises(DataError, match=r"row 2: column 'r': value 2.0 is not a valid label of task 'band'"):
        pre.transform(bad)
    with pytest.raises(SpecError, match="threshold"):
        Preprocessor([{"name": "x"}], [{"name": "r", "kind": "regression", "threshold": 1}])
    with pytest.raises(SpecError, match="used twice"):
        Preprocessor([{"name": "x", "missing_indicator": True}, {"name": "x_missing"}], [{"name": "y"}])
