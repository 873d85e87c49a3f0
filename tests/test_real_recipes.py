"""Every shipped recipe resolves; the real-data recipes train end to end on fixture files in the
upstream formats (census, Ali-CCP, AliExpress) pointed at with --set data.params.path=..."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recipes.cli import main
from recipes.config import recipe_names, resolve
from tests.test_loaders import _census_line, _entries
from zoo.data.aliccp import CATEGORICAL_FIELDS


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_resolves_in_every_profile(name):
    config = resolve(name)
    for profile in config["profiles"]:
        resolved = resolve(name, profile)
        assert resolved["model"]["name"] and resolved["data"]["source"]


def _census(folder):
    rng = np.random.default_rng(0)
    (folder / "census-income.data").write_text("\n".join(_census_line(rng, i) for i in range(80)) + "\n")
    (folder / "census-income.test").write_text("\n".join(_census_line(rng, i) for i in range(40)) + "\n")


def _ali_ccp(folder):
    for split, n in (("train", 60), ("test", 20)):
        common = [f"c{u},{len(CATEGORICAL_FIELDS[:9])},"
                  + _entries([(f, 100 * k + u, 1.0) for k, f in enumerate(CATEGORICAL_FIELDS[:9])]) for u in range(4)]
        skeleton = []
        for i in range(n):
            pairs = [(f, 10 * k + i % 3, 0.5) for k, f in enumerate(CATEGORICAL_FIELDS[9:])]
            skeleton.append(f"{i},{i % 2},{int(i % 4 == 0)},c{i % 4},{len(pairs)},{_entries(pairs)}")
        (folder / f"common_features_{split}.csv").write_text("\n".join(common) + "\n")
        (folder / f"sample_skeleton_{split}.csv").write_text("\n".join(skeleton) + "\n")


def _aliexpress(folder):
    rng = np.random.default_rng(1)
    header = ["search_id", *[f"categorical_{i}" for i in range(1, 17)], *[f"numerical_{i}" for i in range(1, 64)],
              "click", "conversion"]
    for split, n in (("train", 60), ("test", 20)):
        lines = [",".join(header)]
        for i in range(n):
            click = int(rng.random() < 0.4)
            lines.append(",".join([str(i), *[str(int(rng.integers(0, 9))) for _ in range(16)],
                                   *[f"{rng.normal():.4f}" for _ in range(63)], str(click), str(click * (i % 2))]))
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("recipe, writer, outputs", [
    ("census_income_mmoe", _census, {"income", "never_married"}),
    ("ali_ccp_esmm", _ali_ccp, {"ctr", "cvr", "ctcvr"}),
    ("aliexpress_ple", _aliexpress, {"click", "conversion"}),
])
def test_real_recipe_trains_on_upstream_format_fixture(recipe, writer, outputs, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    writer(data)
    run = tmp_path / "run"
    code = main(["train", recipe, "--smoke", "--quiet", "--no-export", "--output", str(run),
                 "--set", f"data.params.path={data}"])
    assert code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["test_by_task"]) == outputs
    assert (run / "preprocessing.json").exists()


def test_a_data_path_that_does_not_exist_is_one_line_exit_2(tmp_path, capsys):
    code = main(["train", "census_income_mmoe", "--smoke", "--output", str(tmp_path / "run"),
                 "--set", f"data.params.path={tmp_path / 'nope'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "nope" in err and "\n" not in err
    assert not (tmp_path / "run").exists()
