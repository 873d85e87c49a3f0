"""Bad data: a one-line error naming file, line and column; or, with skip_bad_rows, skipped and counted."""

from __future__ import annotations

import pytest

from zoo.data.errors import DataError
from zoo.data.sources import load_source

FEATURES = [{"name": "age", "kind": "dense"}, {"name": "job", "kind": "categorical"}]
TASKS = [{"name": "label", "kind": "multiclass", "classes": ["a", "b"]}]
GOOD = ["age,job,label"] + [f"{20 + i},j{i % 3},{'ab'[i % 2]}" for i in range(20)]


def _load(path, **kw):
    return load_source("tabular", path=str(path), features=FEATURES, tasks=TASKS, **kw)


def _write(tmp_path, lines, name="data.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n" if lines else "")
    return path


def _one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


CASES = {
    "malformed": (GOOD[:5] + ["33,j1"] + GOOD[5:], 6, "label", "missing"),
    "extra_field": (GOOD[:3] + ["33,j1,a,zzz"] + GOOD[3:], 4, "label", "malformed row"),
    "wrong_type": (GOOD[:8] + ["thirty,j1,a"] + GOOD[8:], 9, "age", "'thirty' is not a number"),
    "unknown_class": (GOOD[:10] + ["40,j2,c"] + GOOD[10:], 11, "label", "'c' is not a valid label of task 'label'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_row_error_names_file_line_column(tmp_path, case):
    lines, line, column, why = CASES[case]
    path = _write(tmp_path, lines)
    with pytest.raises(DataError) as error:
        _load(path)
    text = _one_line(error)
    assert str(path) in text and f"line {line}:" in text and f"column {column!r}" in text and why in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_rows_skipped_and_counted(tmp_path, case):
    lines = CASES[case][0]
    bundle = _load(_write(tmp_path, lines + [lines[6]]), skip_bad_rows=True)
    assert bundle.stats["skipped_rows"] == 1
    assert sum(bundle.stats["rows"].values()) == 21
    assert sum(1 for _ in bundle.train) == bundle.stats["rows"]["train"]


def test_missing_column(tmp_path):
    path = _write(tmp_path, ["age,task"] + ["1,a"] * 3)
    with pytest.raises(DataError) as error:
        _load(path)
    text = _one_line(error)
    assert str(path) in text and "column 'job'" in text and "not found" in text


def test_missing_column_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"age": [1.0], "label": ["a"]}), path)
    with pytest.raises(DataError, match=r"t\.parquet: column 'job': not found"):
        _load(path)


def test_wrong_type_parquet_reports_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"age": ["1", "2", "x"], "job": ["a", "b", "c"], "label": ["a", "b", "a"]}), path)
    with pytest.raises(DataError, match=r"t\.parquet: row 3: column 'age': value 'x' is not a number"):
        _load(path)


@pytest.mark.parametrize("content", [[], ["age,job,label"]])
def test_empty_file(tmp_path, content):
    path = _write(tmp_path, content)
    with pytest.raises(DataError) as error:
        _load(path)
    assert str(path) in _one_line(error) and "empty file" in str(error.value)


def test_no_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        _load(tmp_path / "nope*.csv")


def test_bad_binary_label(tmp_path):
    path = _write(tmp_path, ["x,y", "1,0", "2,1", "3,7"])
    with pytest.raises(DataError, match=r"line 4: column 'y': value '7' is not a valid label of task 'y' \(not 0 or 1"):
        load_source("tabular", path=str(path), features=[{"name": "x"}], tasks=[{"name": "y"}])
