"""``tabular`` source: any CSV or Parquet table (one file, a glob, a folder) with a feature/task spec.

Files are streamed in record batches (pyarrow) into tf.data; nothing is loaded whole. The
preprocessing (vocabularies, normalisation, missing values) is fitted on the training split only and
travels in ``bundle.extras["preprocessor"]``. Columns the spec does not name are ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from zoo.data.preprocessing import Preprocessor
from zoo.data.readers import (
    NULL_VALUES,
    Chunk,
    detect_format,
    iter_csv,
    iter_parquet,
    resolve_files,
)
from zoo.data.sources import DataBundle
from zoo.data.streaming import RowSource, SplitPlan, build_bundle, fraction_plan

DEFAULT_SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def file_source(path, columns: list[str], format: str | None = None, batch_rows: int = 65536,
                skip_bad_rows: bool = False, delimiter: str = ",", column_names: list[str] | None = None,
                null_values=NULL_VALUES) -> RowSource:
    """A RowSource over CSV/Parquet files, reading only ``columns``."""
    files = resolve_files(path)
    fmt = detect_format(files, format)

    def chunks(on_skip) -> Iterator[Chunk]:
        for i, file in enumerate(files):
            if fmt == "parquet":
                yield from iter_parquet(file, i, columns, batch_rows)
            else:
                yield from iter_csv(
                    file, i, columns, column_names=column_names, delimiter=delimiter, null_values=null_values,
                    block_size=max(1 << 20, batch_rows * 64), skip_bad_rows=skip_bad_rows, on_skip=on_skip,
                )

    return chunks


def _plan(path, splits, make) -> tuple[dict[str, RowSource], SplitPlan]:
    splits = dict(splits or DEFAULT_SPLITS)
    paths = {k: v for k, v in splits.items() if isinstance(v, (str, list, tuple))}
    for name in splits:
        if name not in ("train", "validation", "test"):
            raise ValueError(f"splits: unknown split {name!r} (valid: train, validation, test)")
    if not paths:
        if path is None:
            raise ValueError("tabular: give path (with fractions in splits) or a file per split in splits")
        return {"main": make(path)}, fraction_plan(splits)
    if "train" not in paths:
        raise ValueError("splits: with files per split, 'train' must be a file")
    sources = {name: make(p) for name, p in paths.items()}
    plan: SplitPlan = {name: [(name, 0.0, 1.0)] for name in paths}
    for name, value in splits.items():
        if name not in paths and value:
            # a fraction carved out of the training files by hash
            frac = float(value)
            lo, hi = plan["train"][0][1], plan["train"][0][2]
            plan["train"] = [("train", lo, hi - frac)]
            plan[name] = [("train", hi - frac, hi)]
    return sources, plan


def tabular_source(
    path=None,
    features: list[dict] | None = None,
    tasks: list[dict] | None = None,
    format: str | None = None,
    splits: dict | None = None,
    seed: int = 0,
    batch_rows: int = 65536,
    skip_bad_rows: bool = False,
    key: str | None = None,
    min_count: int = 1,
    delimiter: str = ",",
    column_names: list[str] | None = None,
    null_values: list[str] | None = None,
    shuffle_buffer: int = 10000,
) -> DataBundle:
    """A DataBundle from CSV/Parquet files and a spec.

    ``splits``: fractions ``{train: .8, validation: .1, test: .1}`` of ``path`` (hash of ``key`` column
    or of the row index, with ``seed``), or files per split (``{train: a.csv, test: b.csv,
    validation: 0.1}``, a number meaning a fraction of the training files). ``skip_bad_rows`` skips
    malformed or unparsable rows and counts them in ``bundle.stats``; otherwise the first one raises
    a one-line DataError naming file, line and column.
    """
    if not features or not tasks:
        raise ValueError("tabular: features and tasks are required")
    pre = Preprocessor(features, tasks, min_count=min_count)
    columns = pre.columns + ([key] if key and key not in pre.columns else [])
    make = functools.partial(
        file_source, columns=columns, format=format, batch_rows=batch_rows, skip_bad_rows=skip_bad_rows,
        delimiter=delimiter, column_names=column_names, null_values=tuple(null_values or NULL_VALUES),
    )
    sources, plan = _plan(path, splits, make)
    return build_bundle(sources, plan, pre, seed=seed, skip_bad_rows=skip_bad_rows, key=key,
                        shuffle_buffer=shuffle_buffer, description=f"tabular: {path or splits}")
