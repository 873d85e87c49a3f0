"""export.runtime.Predictor: input forms, validation errors, coercions, batching, threads, no TF import."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import export
import zoo
from export.runtime import InputError, Predictor
from export.verify import keras_outputs

FEATURES = [
    {"name": "dense", "kind": "dense", "dim": 3},
    {"name": "cat", "kind": "categorical", "vocab_size": 5, "embedding_dim": 4},
    {"name": "seq", "kind": "sequence", "vocab_size": 5, "embedding_dim": 4, "max_len": 4},
]
TASKS = [{"name": "p", "kind": "binary"}, {"name": "k", "kind": "multiclass", "num_classes": 3}]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = zoo.create("shared_bottom", FEATURES, TASKS, bottom_units=(8,), tower_units=(4,))
    path = tmp_path_factory.mktemp("rt") / "m.onnx"
    export.to_onnx(model, path)
    return model, str(path)


@pytest.fixture(scope="module")
def predictor(exported):
    return Predictor(exported[1])


def sample(n: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "dense": rng.normal(size=(n, 3)).astype(np.float32),
        "cat": rng.integers(-2, 8, size=(n, 1)).astype(np.int64),
        "seq": rng.integers(0, 7, size=(n, 4)).astype(np.int64),
    }


def close(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=atol, err_msg=k)


def test_import_loads_neither_tensorflow_nor_keras():
    code = "import export.runtime, sys; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_auto_providers_load_quietly(exported):
    code = f"from export.runtime import Predictor; p = Predictor({exported[1]!r}); print(p.providers[0])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert done.stderr == ""  # no provider fallback warnings


def test_dict_matches_keras_and_returns_float_arrays(exported, predictor):
    model, _ = exported
    x = sample()
    out = predictor(x)
    assert list(out) == ["p", "k"] and out["k"].shape == (5, 3) and out["p"].dtype == np.float32
    close(out, keras_outputs(model, x), atol=1e-5)


def test_dataframe_and_records_give_the_same_result(predictor):
    x = sample(4)
    want = predictor(x)
    frame = pd.DataFrame({"dense": list(x["dense"]), "cat": x["cat"][:, 0], "seq": list(x["seq"]), "id": range(4)})
    close(predictor(frame), want)  # the extra "id" column of a table is ignored
    split = pd.DataFrame({f"dense_{i}": x["dense"][:, i] for i in range(3)} | {"cat": x["cat"][:, 0], "seq": list(x["seq"])})
    close(predictor(split), want)
    records = [{"dense": x["dense"][i].tolist(), "cat": int(x["cat"][i, 0]), "seq": x["seq"][i].tolist()} for i in range(4)]
    close(predictor(records), want)


def test_short_sequences_are_padded_with_zero(predictor):
    x = sample(2)
    x["seq"] = np.array([[3, 1, 0, 0], [0, 0, 0, 0]], dtype=np.int64)
    records = [{"dense": x["dense"][i], "cat": x["cat"][i, 0], "seq": s} for i, s in enumerate([[3, 1], []])]
    close(predictor(records), predictor(x))


def test_safe_coercions(predictor):
    x = sample(6)
    want = predictor(x)
    close(predictor({**x, "cat": x["cat"].astype(np.int32), "seq": x["seq"].astype(np.int32)}), want)
    close(predictor({**x, "dense": x["dense"].astype(np.float64)}), want)
    close(predictor({**x, "cat": x["cat"].astype(np.float64)}), want)  # whole-number float ids
    close(predictor({**x, "cat": x["cat"][:, 0]}), want)  # 1-D for a width-1 feature
    close(predictor({**x, "dense": x["dense"].tolist()}), want)


def test_nan_in_dense_passes_through(predictor):
    x = sample(2)
    x["dense"][0, 1] = np.nan
    out = predictor(x)
    assert np.isnan(out["p"][0]).all() and np.isfinite(out["p"][1]).all()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x: x.pop("cat"), r"missing feature 'cat'"),
        (lambda x: x.update(extra=np.zeros((5, 1))), r"unknown feature 'extra'"),
        (lambda x: x.update(dense=np.array([["a", "b", "c"]] * 5)), r"feature 'dense': expected numbers, got text 'a'"),
        (lambda x: x.update(cat=np.array(["x"] * 5, dtype=object)), r"feature 'cat': expected numbers, got text 'x'"),
        (lambda x: x.update(dense=np.zeros((5, 4), np.float32)), r"feature 'dense': expected shape \[batch, 3\], got \[5, 4\]"),
        (lambda x: x.update(seq=np.zeros((5, 4, 1), np.int64)), r"feature 'seq': expected shape \[batch, 4\], got \[5, 4, 1\]"),
        (lambda x: x.update(dense=np.zeros(5, np.float32)), r"feature 'dense': expected shape \[batch, 3\], got \[5\]"),
        (lambda x: x.update(cat=np.full((5, 1), 1.5)), r"feature 'cat': ids must be integers, got 1.5"),
        (lambda x: x.update(cat=np.full((5, 1), np.nan)), r"feature 'cat': ids must be integers, got NaN"),
        (lambda x: x.update(cat=np.ones((5, 1), bool)), r"feature 'cat': expected numbers, got booleans"),
        (lambda x: x.update(cat=np.ones((4, 1), np.int64)), r"different numbers of rows"),
        (lambda x: x.update({k: v[:0] for k, v in x.items()}), r"empty input"),
    ],
)
def test_bad_inputs_give_one_line_errors_naming_the_feature(predictor, change, message):
    x = sample()
    change(x)
    with pytest.raises(InputError, match=message) as info:
        predictor(x)
    assert "\n" not in str(info.value)


def test_bad_tables_and_records(predictor):
    x = sample(2)
    with pytest.raises(InputError, match=r"missing feature 'seq': no column 'seq'"):
        predictor(pd.DataFrame({"dense": list(x["dense"]), "cat": x["cat"][:, 0]}))
    with pytest.raises(InputError, match=r"record 1: missing feature 'cat'"):
        predictor([{"dense": [0, 0, 0], "cat": 1, "seq": [1]}, {"dense": [0, 0, 0], "seq": [1]}])
    with pytest.raises(InputError, match=r"feature 'seq': row 0 has 5 ids, more than max_len 4"):
        predictor([{"dense": [0, 0, 0], "cat": 1, "seq": [1, 2, 3, 4, 1]}])
    with pytest.raises(InputError, match="inputs must be"):
        predictor("dense=1")


def test_not_an_onnx_file(tmp_path):
    bad = tmp_path / "m.onnx"
    bad.write_text("not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        Predictor(bad)
    with pytest.raises(FileNotFoundError):
        Predictor(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="max_batch"):
        Predictor(bad, max_batch=0)


class CountingSession:
    """Wraps a session and records the batch size of each run call."""

    def __init__(self, session):
        self.session, self.sizes = session, []

    def run(self, names, feed):
        self.sizes.append(len(next(iter(feed.values()))))
        return self.session.run(names, feed)


def test_large_inputs_are_split_at_max_batch(exported, predictor):
    x = sample(23, seed=3)
    small = Predictor(exported[1], max_batch=7)
    small._session = counting = CountingSession(small._session)
    close(small(x), predictor(x))
    assert counting.sizes == [7, 7, 7, 2]


def test_thread_safe(predictor):
    inputs = [sample(1 + i % 9, seed=i) for i in range(24)]
    expected = [predictor(x) for x in inputs]
    results: dict[int, dict] = {}

    def worker(offset: int) -> None:
        for i in range(offset, len(inputs), 4):
            for _ in range(5):
                results[i] = predictor(inputs[i])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, want in enumerate(expected):
        close(results[i], want, atol=0)


def test_example_inputs_follow_the_metadata(predictor):
    x = predictor.example_inputs(50)
    assert x["dense"].shape == (50, 3) and x["seq"].dtype == np.int64
    assert 0 <= x["cat"].min() and x["cat"].max() < 5
    assert predictor.feature_specs[0]["name"] == "dense" and predictor.output_names == ("p", "k")
