"""Real-data loaders on small fixtures written in the exact upstream formats (no network)."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data.aliccp import CATEGORICAL_FIELDS, DENSE_FIELDS, parse_feature_lists
from zoo.data.census import COLUMNS
from zoo.data.errors import DataError
from zoo.data.movielens import movielens_tasks
from zoo.data.sources import load_source


def _census_line(rng, i: int) -> str:
    values = []
    for col in COLUMNS:
        if col == "age":
            values.append(str(int(rng.integers(0, 90))))
        elif col == "instance_weight":
            values.append(f"{rng.uniform(100, 5000):.2f}")
        elif col in ("wage_per_hour", "capital_gains", "capital_losses", "dividends_from_stocks",
                     "num_persons_worked_for_employer", "weeks_worked_in_year"):
            values.append(str(int(rng.integers(0, 52))))
        elif col == "education":
            values.append(["Bachelors degree(BA AB BS)", "High school graduate", "Children",
                           "Masters degree(MA MS MEng MEd MSW MBA)"][i % 4])
        elif col == "marital_stat":
            values.append(["Never married", "Married-civilian spouse present", "Divorced"][i % 3])
        elif col == "income":
            values.append("50000+." if i % 5 == 0 else "- 50000.")
        elif col == "year":
            values.append(str(94 + i % 2))
        else:
            values.append(["Not in universe", "?", "Private", "Nonfiler"][int(rng.integers(0, 4))])
    return ",".join(" " + v for v in values)


def test_census_income_groups(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "census-income.data").write_text("\n".join(_census_line(rng, i) for i in range(60)) + "\n")
    (tmp_path / "census-income.test").write_text("\n".join(_census_line(rng, i) for i in range(40)) + "\n")
    bundle = load_source("census_income", path=str(tmp_path), group="income")
    names = {f.name for f in bundle.features}
    assert "instance_weight" not in names and "income" not in names and "marital_stat" not in names
    assert "education" in names and len(names) == 42 - 3
    assert [t.name for t in bundle.tasks] == ["income", "never_married"]
    labels = [y for _, y in bundle.train.as_numpy_iterator()]
    assert len(labels) == 60
    assert sum(y["income"][0] for y in labels) == 12 and sum(y["never_married"][0] for y in labels) == 20
    n_val, n_test = (sum(1 for _ in d) for d in (bundle.validation, bundle.test))
    assert n_val + n_test == 40 and 0 < n_val < 40
    edu = load_source("census_income", path=str(tmp_path / "census-income.data"), group="education")
    assert {f.name for f in edu.features} >= {"income"} and "education" not in {f.name for f in edu.features}
    assert sum(y["education"][0] for _, y in edu.train.as_numpy_iterator()) == 30


def _entries(pairs) -> str:
    return "\x01".join(f"{field}\x02{fid}\x03{value}" for field, fid, value in pairs)


def test_ali_ccp_joins_skeleton_and_common_features(tmp_path):
    user_fields = ["101", "121", "122", "124", "125", "126", "127", "128", "129", "109_14", "110_14", "127_14", "150_14"]
    item_fields = [f for f in CATEGORICAL_FIELDS if f not in user_fields]
    for split, n in (("train", 40), ("test", 10)):
        common, skeleton = [], []
        for u in range(5):
            pairs = [(f, 1000 * k + u, 1.0) for k, f in enumerate(user_fields)]
            pairs.append(("109_14", 99999, 7.5))  # second entry of a multi-valued field: ignored
            common.append(f"cf{split}{u},{len(pairs)},{_entries(pairs)}")
        for i in range(n):
            pairs = [(f, 50000 + 10 * k + i % 3, 0.5 * (i % 4)) for k, f in enumerate(item_fields)]
            skeleton.append(f"{i},{i % 2},{int(i % 4 == 0)},cf{split}{i % 5},{len(pairs)},{_entries(pairs)}")
        (tmp_path / f"common_features_{split}.csv").write_text("\n".join(common) + "\n")
        (tmp_path / f"sample_skeleton_{split}.csv").write_text("\n".join(skeleton) + "\n")
    bundle = load_source("ali_ccp", path=str(tmp_path), validation_fraction=0.2)
    pre = bundle.extras["preprocessor"]
    vocab = {e.name: e.vocabulary for e in pre.encoders if hasattr(e, "vocabulary")}
    assert sorted(vocab["f_101"]) == [str(u) for u in range(5)]  # joined from the common features
    assert "99999" not in vocab["f_109_14"]
    assert len(vocab["f_205"]) == 3
    dense = {e.name: e.state["mean"][0] for e in pre.encoders if e.name.startswith("v_")}
    assert dense["v_109_14"] == pytest.approx(1.0) and len(dense) == len(DENSE_FIELDS)
    rows = bundle.stats["rows"]
    assert rows["train"] + rows["validation"] == 40
    assert sum(1 for _ in bundle.test) == 10
    x, y = next(iter(bundle.train.as_numpy_iterator()))
    assert set(y) == {"click", "purchase"} and x["f_101"].dtype == np.int64


def test_feature_list_parser_handles_missing_fields():
    import pyarrow as pa

    ids, values = parse_feature_lists(pa.array([_entries([("101", 7, 1.0)]), "", None]), ["101", "205"])
    assert ids["101"].to_pylist() == ["7", None, None]
    assert ids["205"].to_pylist() == [None, None, None]
    assert values["101"][0] == 1.0 and np.isnan(values["101"][1])


def test_aliexpress_country_folder(tmp_path):
    rng = np.random.default_rng(1)
    header = ["search_id"] + [f"categorical_{i}" for i in range(1, 17)] + [f"numerical_{i}" for i in range(1, 64)]
    header += ["click", "conversion"]
    for split, n in (("train", 50), ("test", 20)):
        lines = [",".join(header)]
        for i in range(n):
            cats = [str(int(rng.integers(0, 30))) for _ in range(16)]
            nums = [f"{rng.normal():.6f}" for _ in range(63)]
            click = int(rng.random() < 0.3)
            lines.append(",".join([str(i // 3)] + cats + nums + [str(click), str(click * int(rng.random() < 0.5))]))
        (tmp_path / f"{split}.csv").write_text("\n".join(lines) + "\n")
    bundle = load_source("aliexpress", path=str(tmp_path))
    assert {f.name: f.dim for f in bundle.features if f.kind == "dense"} == {"numerical": 63}
    assert sum(f.kind == "categorical" for f in bundle.features) == 16
    assert bundle.stats["rows"]["train"] + bundle.stats["rows"]["validation"] == 50
    x, y = next(iter(bundle.test.as_numpy_iterator()))
    assert x["numerical"].shape == (63,) and set(y) == {"click", "conversion"}


def test_movielens_with_tfds_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=60):
        # mock ratings are random floats, so the whole-star class task is left out here
        bundle = load_source("movielens", seed=1, tasks=movielens_tasks("movielens/100k-ratings")[:2])
        batches = list(bundle.train.batch(16).as_numpy_iterator())
        with pytest.raises(DataError, match="user_rating.*stars"):
            load_source("movielens")
    assert {t["name"] for t in movielens_tasks("movielens/100k-ratings")} == {"rating", "liked", "stars"}
    kinds = {f.name: f.kind for f in bundle.features}
    assert kinds["genres"] == "sequence" and kinds["user_id"] == "categorical"
    x, y = batches[0]
    assert x["genres"].shape[1] == 6 and y["liked"].dtype == np.float32
    rows = bundle.stats["rows"]
    assert sum(rows.values()) == 60
