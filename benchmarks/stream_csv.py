"""Streaming benchmark: one mmoe epoch over a generated ~2 GB CSV, printing the peak RSS.

Run: ``.venv/bin/python benchmarks/stream_csv.py --gb 2``. The CSV goes to a temporary folder
that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FEATURES = (
    [{"name": f"x{i}", "kind": "dense"} for i in range(8)]
    + [{"name": f"c{i}", "kind": "categorical", "min_count": 5} for i in range(6)]
    + [{"name": "tags", "kind": "sequence", "max_len": 4}]
)
TASKS = [{"name": "click", "positive": "yes"}, {"name": "value", "kind": "regression"}]


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path: str, target_bytes: int, chunk_rows: int = 200_000, seed: int = 0) -> int:
    """Append random chunks until the file reaches ``target_bytes``; returns the row count."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(2000)])
    rows = 0
    with open(path, "wb") as sink:
        while os.path.getsize(path) < target_bytes if os.path.exists(path) else True:
            cols = {"id": np.arange(rows, rows + chunk_rows)}
            for i in range(8):
                x = rng.normal(i, 1 + i, chunk_rows)
                cols[f"x{i}"] = pa.array(x, mask=rng.random(chunk_rows) < 0.02)
            for i in range(6):
                cols[f"c{i}"] = words[rng.zipf(1.3, chunk_rows) % (300 * (i + 1)) % 2000]
            tags = rng.integers(0, 50, (chunk_rows, 3)).astype(str)
            cols["tags"] = np.char.add(np.char.add(np.char.add("t", tags[:, 0]), "|t"), tags[:, 1])
            cols["click"] = np.where(rng.random(chunk_rows) < 0.3, "yes", "no")
            cols["value"] = rng.normal(0, 1, chunk_rows)
            table = pa.table(cols)
            pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(include_header=rows == 0))
            sink.flush()
            rows += chunk_rows
    return rows


def main() -> None:
    """Generate, stream-train one epoch, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="mtlzoo-stream-")
    try:
        path = os.path.join(tmp, "big.csv")
        t0 = time.time()
        rows = write_csv(path, int(args.gb * (1 << 30)))
        size = os.path.getsize(path)
        print(f"generated {size / (1 << 30):.2f} GB, {rows:,} rows in {time.time() - t0:.0f} s; "
              f"peak RSS so far {peak_rss_mb():.0f} MB", flush=True)

        import zoo
        from zoo.data.sources import load_source

        t0 = time.time()
        bundle = load_source("tabular", path=path, features=FEATURES, tasks=TASKS,
                             splits={"train": 0.98, "validation": 0.01, "test": 0.01})
        print(f"fitted preprocessing in {time.time() - t0:.0f} s; rows {bundle.stats['rows']}; "
              f"peak RSS {peak_rss_mb():.0f} MB", flush=True)
        model = zoo.create("mmoe", features=bundle.features, tasks=bundle.tasks)
        model.compile(optimizer="adam")
        t0 = time.time()
        model.fit(bundle.train.batch(args.batch).prefetch(2), epochs=1, verbose=2)
        print(f"trained one epoch in {time.time() - t0:.0f} s", flush=True)
        print(f"PEAK RSS: {peak_rss_mb():.0f} MB over a {size / (1 << 30):.2f} GB CSV ({rows:,} rows)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
