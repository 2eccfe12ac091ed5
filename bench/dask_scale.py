"""Benchmark scoring on Dask: 1,000,000 replies on a LocalCluster with 1 and 2 worker processes, against the
single-process command line, and check that the scores are the CLI's.

    python bench/dask_scale.py            # writes bench/results/dask.md and prints it
    python bench/dask_scale.py --quick    # 200,000 replies

The replies (every reply in data/, cycled and shuffled) are written once as 8 Parquet files and once as JSON
Lines. Each configuration runs twice, interleaved; the medians are reported. Times include reading the input
and writing the scored Parquet partitions (or, for the CLI, JSON Lines to a file).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import corpus_texts, cycled, machine  # noqa: E402


def run_dask(source: Path, out: Path, workers: int) -> float:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from griefguard.dask import classify

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with Client(cluster):
            frame = dd.read_parquet(str(source / "*.parquet"))
            classify(frame.head(10, npartitions=1, compute=False)).compute()  # workers load the model (once each)
            start = time.perf_counter()
            classify(frame).to_parquet(out, write_index=False)
            return time.perf_counter() - start
    finally:
        cluster.close()


def run_cli(source: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "griefguard", "classify", str(source), "--format", "jsonl", "--quiet", "-o", str(out)],
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200_000 if args.quick else 1_000_000
    texts = [" ".join(t.split()) for t in cycled(corpus_texts(), n, seed=2)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "parquet"
        source.mkdir()
        frame = pd.DataFrame({"id": np.arange(n), "text": texts})
        for i, part in enumerate(np.array_split(np.arange(n), 8)):
            frame.iloc[part].to_parquet(source / f"part{i}.parquet", index=False)
        jsonl = work / "replies.jsonl"
        with open(jsonl, "w", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
        times: dict[str, list[float]] = {"cli": [], "dask 1 worker": [], "dask 2 workers": []}
        for round_ in range(2):
            times["cli"].append(run_cli(jsonl, work / f"cli{round_}.jsonl"))
            times["dask 1 worker"].append(run_dask(source, work / f"d1-{round_}", 1))
            times["dask 2 workers"].append(run_dask(source, work / f"d2-{round_}", 2))
        scored = pd.read_parquet(work / "d2-0").sort_values("id")
        cli = [json.loads(line) for line in (work / "cli0.jsonl").read_text(encoding="utf-8").splitlines()]
        max_diff = float(np.abs(scored["score"].round(6).to_numpy() - np.array([r["score"] for r in cli])).max())
        same_labels = scored["label"].tolist() == [r["label"] for r in cli]
    median = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; load average {os.getloadavg()[0]:.2f} at the end.",
        "",
        f"| {n:,} replies | seconds (median of 2) | replies/s | vs the CLI | vs 1 worker |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, seconds in median.items():
        lines.append(
            f"| {key} | {seconds:.1f} | {n / seconds:,.0f} | {median['cli'] / seconds:.2f}x | "
            f"{median['dask 1 worker'] / seconds:.2f}x |"
        )
    lines += [
        "",
        f"Dask scores against the CLI's (rounded to 6 places as the CLI writes them): largest difference "
        f"{max_diff:.1e}; labels identical: {same_labels}.",
        "",
    ]
    report = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dask.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
