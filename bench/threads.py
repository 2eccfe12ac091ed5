"""The cost of reading replies under their parents: time per reply with and without parents, in one run.

    python bench/threads.py [--model PATH] [--repeats 7]

Replies are every thread reply in data/threads/ (cycled to 20,000). Three ways, interleaved, medians of the
repeats: the replies alone; each with its own parent (as in a thread export, parents shared the way they are in
the data); and the worst case, every reply with a parent no other reply has.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from griefguard import load_scorer
from griefguard.dataset import load_labeled

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--replies", type=int, default=20_000)
    args = parser.parse_args()
    scorer = load_scorer(args.model)
    rows = [e for name in ("train.csv", "test.csv") for e in load_labeled(ROOT / "data/threads" / name).examples]
    rows = [e for e in rows if e.parent]
    rows = (rows * (args.replies // len(rows) + 1))[: args.replies]
    texts = [e.text for e in rows]
    shared = [e.parent for e in rows]
    distinct = [f"{e.parent} ({i})" for i, e in enumerate(rows)]
    ways = {"alone": None, "with parents (as in the data)": shared, "with a distinct parent each": distinct}
    times: dict[str, list[float]] = {name: [] for name in ways}
    scorer.score_many(texts[:2000], parents=shared[:2000])  # warm the caches
    for _ in range(args.repeats):
        for name, parents in ways.items():
            started = time.perf_counter()
            scorer.score_many(texts, parents=parents)
            times[name].append(time.perf_counter() - started)
    alone = statistics.median(times["alone"])
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"{len(texts)} thread replies, median of {args.repeats}; {machine}")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"{name:<32} {1e6 * t / len(texts):7.1f} µs/reply  {t / alone:4.2f}x the time alone")


if __name__ == "__main__":
    main()
