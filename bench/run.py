"""Benchmark griefguard against alt-profanity-check (same model family) and against itself, in one run.

    python bench/run.py                  # everything; writes bench/results/latest.md and prints it
    python bench/run.py --quick          # fewer repeats and a 200,000-line large file, for a smoke test

Measures (medians of interleaved runs; ratios matter more than absolute times on a shared machine):
1. cold start: `griefguard classify` on a one-line file vs the `profanity_check` command on one text;
2. throughput: replies/s through the library on 100,000 replies (every reply in data/ cycled and shuffled), vs
   alt-profanity-check's `predict_prob`, vs scikit-learn's own TfidfVectorizer and LogisticRegression with the
   bundled model's settings where they map, and the time of each stage of our scoring (tokenising, token ids,
   TF-IDF rows, the dot product);
   the chunk cache on replies it has not seen: built on data/train.csv, then the share of the chunks of
   data/everyday/test.csv and data/threads/test.csv (scored as `score_many` does, in batches of 2,048) already in
   it, and the throughput on those replies vs `predict_prob` on them (the table started again each time);
3. large file: `griefguard classify --format jsonl` on a 1,000,000-line file to /dev/null, wall time and peak
   RSS of the whole process tree, with --jobs 1 and 2, and the load average while it ran;
4. training: wall time of `griefguard train` (into a temporary folder).
The peer runs in its own virtual environment (bench/.peer-venv, created on first use with pip), so its pins
cannot clash with ours. Linux only (peak memory is read from /proc).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PEER_VENV = ROOT / "bench" / ".peer-venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_COMMAND = PEER_VENV / "bin" / "profanity_check"
OURS = Path(sys.executable).with_name("griefguard")


def corpus_texts() -> list[str]:
    """Every reply in data/: authored, realistic, targeted, dilution and real comments."""
    texts = []
    for path in sorted((ROOT / "data").rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle))
    return texts


def cycled(texts: list[str], n: int, seed: int = 0) -> list[str]:
    out = (texts * (n // len(texts) + 1))[:n]
    random.Random(seed).shuffle(out)
    return out


def ensure_peer() -> None:
    if PEER_COMMAND.exists():
        return
    print("creating bench/.peer-venv with alt-profanity-check (one time)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "alt-profanity-check"], check=True)


def wall(cmd: list[str], **kwargs) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def cold_start(repeats: int, work: Path) -> dict:
    one = work / "one.txt"
    one.write_text("Posting that is disgusting, she should have kept it private\n", encoding="utf-8")
    ours, peer = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        ours.append(wall([str(OURS), "classify", str(one), "--format", "jsonl"]))
        peer.append(wall([str(PEER_COMMAND), "Posting that is disgusting, she should have kept it private"]))
    return {"ours": statistics.median(ours), "peer": statistics.median(peer), "runs": repeats}


_PEER_THROUGHPUT = """
import json, sys, time
texts = json.load(open(sys.argv[1], encoding="utf-8"))
from profanity_check import predict_prob
predict_prob(texts[:100])
start = time.perf_counter(); predict_prob(texts); print(time.perf_counter() - start)
"""


def _stages(scorer, texts: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds spent in each stage of scoring `texts` in batches, as `Scorer.predict_batch` does it."""
    engine = scorer._engine
    spent = dict.fromkeys(("tokenise", "token ids", "TF-IDF rows", "dot product"), 0.0)
    for i in range(0, len(texts), 2048):
        batch = texts[i : i + 2048]
        t0 = time.perf_counter()
        tokens = engine.tokenize(batch)
        t1 = time.perf_counter()
        encoded = engine.encode(tokens)
        t2 = time.perf_counter()
        rows = engine.rows(encoded)
        t3 = time.perf_counter()
        scorer._probabilities(rows)
        t4 = time.perf_counter()
        for key, a, b in zip(spent, (t0, t1, t2, t3), (t1, t2, t3, t4), strict=True):
            spent[key] += b - a
    return spent


def sklearn_baseline(scorer):  # type: ignore[no-untyped-def]
    """scikit-learn's own TfidfVectorizer and LogisticRegression, fitted on the training rows with the bundled model's
    settings where they map: word n-gram range, min_df, sublinear tf, smooth IDF and L2 norm (the defaults, as ours),
    C, softmax or one-vs-rest, the weight of real comments. griefguard's normaliser has no counterpart: scikit-learn
    lower-cases and keeps words of two or more letters. Returns the fitted pipeline and a description."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    from griefguard.training import ModelParams, load_corpus

    params = ModelParams.from_dict(scorer.card["params"])
    low, high = params.ngram_range
    vectorizer = TfidfVectorizer(ngram_range=(low, high), min_df=params.min_df, sublinear_tf=params.sublinear_tf)
    if params.link == "ovr":
        classifier = OneVsRestClassifier(LogisticRegression(C=params.C, solver="liblinear", max_iter=1000))
    else:
        classifier = LogisticRegression(C=params.C, max_iter=3000)
    rows = load_corpus(ROOT / "data").training_rows()
    labels = list(scorer.labels)
    y = np.array([labels.index(x) for x in rows.labels])
    weight = np.where(rows.is_real, params.real_weight, 1.0)
    pipeline = Pipeline([("tfidf", vectorizer), ("classifier", classifier)])
    pipeline.fit(rows.texts, y, classifier__sample_weight=weight)
    unmapped = [
        name
        for name, used in (
            ("character n-grams", params.char_range is not None),
            ("negation scope", params.negation_scope > 0),
            ("sentence rule", params.sentence_rule.active),
            ("derived rows", params.augment),
        )
        if used
    ]
    tf = "sublinear" if params.sublinear_tf else "raw"
    about = f"word {low}-{high}-grams, min_df {params.min_df}, {tf} tf, C {params.C:g}"
    return pipeline, about + (f"; not mapped: {', '.join(unmapped)}" if unmapped else "")


def throughput(texts: list[str], repeats: int, work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from griefguard import load_scorer

    scorer = load_scorer(ROOT / "models" / "griefguard.npz")
    pipeline, about = sklearn_baseline(scorer)
    path = work / "texts.json"
    path.write_text(json.dumps(texts), encoding="utf-8")
    ours, peer, sk = [], [], []
    scorer.score_many(texts[:100])
    for _ in range(repeats):  # interleaved, so all three see the same machine load
        start = time.perf_counter()
        scorer.score_many(texts)
        ours.append(time.perf_counter() - start)
        out = subprocess.run(
            [str(PEER_PYTHON), "-c", _PEER_THROUGHPUT, str(path)], capture_output=True, text=True, check=True
        )
        peer.append(float(out.stdout))
        start = time.perf_counter()
        pipeline.predict_proba(texts)
        sk.append(time.perf_counter() - start)
    n = len(texts)
    stages = _stages(scorer, texts)
    return {
        "n": n,
        "ours": n / statistics.median(ours),
        "peer": n / statistics.median(peer),
        "sklearn": n / statistics.median(sk),
        "sklearn_about": about,
        "stages": {k: 1e6 * v / n for k, v in stages.items()},  # microseconds per reply
    }


def replies_of(*names: str) -> list[str]:
    """The replies (text column) of files in data/."""
    texts = []
    for name in names:
        with open(ROOT / "data" / name, encoding="utf-8", newline="") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle))
    return texts


def chunk_cache(repeats: int, work: Path) -> dict:
    """The chunk cache on replies it has not seen, and the throughput on them. Each time: a new scorer (its caches
    empty) and a new chunk table, the replies of data/train.csv scored three times (as a process that has been
    running: its n-gram hash tables built), then the everyday and thread test replies scored once, timed."""
    sys.path.insert(0, str(ROOT / "src"))
    from griefguard import chunks, load_scorer

    seen = replies_of("train.csv")
    unseen = replies_of("everyday/test.csv", "threads/test.csv")
    path = work / "unseen.json"
    path.write_text(json.dumps(unseen), encoding="utf-8")
    ours, peer, figures = [], [], {}
    for _ in range(repeats):
        scorer = load_scorer(ROOT / "models" / "griefguard.npz")
        table = chunks.new_chunk_table()
        for _ in range(3):
            scorer.score_many(seen)
        before = dataclasses.replace(table.stats)
        start = time.perf_counter()
        scorer.score_many(unseen)
        ours.append(time.perf_counter() - start)
        after = table.stats
        figures = {name: getattr(after, name) - getattr(before, name) for name in ("chunks", "known", "new")}
        figures |= {name: getattr(after, name) - getattr(before, name) for name in ("whole", "whole_sentences")}
        out = subprocess.run(
            [str(PEER_PYTHON), "-c", _PEER_THROUGHPUT, str(path)], capture_output=True, text=True, check=True
        )
        peer.append(float(out.stdout))
    n = len(unseen)
    return {
        "n": n,
        "seen": len(seen),
        "hit_rate": figures["known"] / figures["chunks"],
        "reuse_rate": 1 - figures["new"] / figures["chunks"],
        **figures,
        "ours": n / statistics.median(ours),
        "peer": n / statistics.median(peer),
        "runs": repeats,
    }


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def large_file(texts: list[str], lines: int, work: Path) -> list[dict]:
    path = work / "large.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for text in cycled(texts, lines, seed=1):
            handle.write(" ".join(text.split()) + "\n")
    results = []
    for jobs in (1, 2, 1, 2):  # interleaved; the medians of two runs each are reported
        cmd = [str(OURS), "classify", str(path), "--format", "jsonl", "--jobs", str(jobs), "--quiet"]
        start = time.perf_counter()
        with open(os.devnull, "w") as devnull:
            proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.DEVNULL)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, _tree_rss_kib(proc.pid))
                time.sleep(0.05)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
        results.append(
            {"jobs": jobs, "lines": lines, "seconds": elapsed, "peak_rss_mb": peak / 1024, "load": os.getloadavg()[0]}
        )
    merged = []
    for jobs in (1, 2):
        runs = [r for r in results if r["jobs"] == jobs]
        merged.append(
            {
                "jobs": jobs,
                "lines": lines,
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "load": max(r["load"] for r in runs),
            }
        )
    return merged


def training_time(work: Path) -> float:
    return wall([str(OURS), "train", "--quiet", "--model", str(work / "model" / "m.npz")], cwd=ROOT)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller large file")
    args = parser.parse_args()
    if not OURS.exists():
        raise SystemExit(f"{OURS} not found: install griefguard in this environment first (pip install -e .)")
    ensure_peer()
    repeats = 3 if args.quick else 7
    texts = corpus_texts()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("cold start...", file=sys.stderr)
        cold = cold_start(repeats, work)
        print("chunk cache on unseen replies...", file=sys.stderr)
        cache = chunk_cache(max(repeats, 5), work)
        print("throughput...", file=sys.stderr)
        thr = throughput(cycled(texts, 100_000), repeats, work)
        print("large file...", file=sys.stderr)
        large = large_file(texts, 200_000 if args.quick else 1_000_000, work)
        print("training...", file=sys.stderr)
        train_s = training_time(work)
    one, two = large
    rows = [
        "| measurement | griefguard | peer / baseline | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| cold start, one reply (median of {cold['runs']}) | {cold['ours']:.3f} s | {cold['peer']:.3f} s "
        f"(profanity_check) | {cold['ours'] / cold['peer']:.2f}x the time | at most 0.35x |",
        f"| throughput, {thr['n']:,} replies, one process | {thr['ours']:,.0f}/s | {thr['peer']:,.0f}/s "
        f"(predict_prob) | {thr['ours'] / thr['peer']:.2f}x | at least 1.5x |",
        f"| throughput vs scikit-learn TfidfVectorizer + LogisticRegression ({thr['sklearn_about']}) | "
        f"{thr['ours']:,.0f}/s | {thr['sklearn']:,.0f}/s (predict_proba) | {thr['ours'] / thr['sklearn']:.2f}x | - |",
        f"| throughput on {cache['n']:,} unseen replies (everyday + threads test; caches built on train.csv; "
        f"median of {cache['runs']}) | "
        f"{cache['ours']:,.0f}/s | {cache['peer']:,.0f}/s (predict_prob) | {cache['ours'] / cache['peer']:.2f}x | - |",
        f"| large file, {one['lines']:,} lines, --jobs 1 | {one['seconds']:.1f} s, {one['peak_rss_mb']:.0f} MB | "
        "- | - | under 250 MB |",
        f"| large file, {two['lines']:,} lines, --jobs 2 | {two['seconds']:.1f} s, {two['peak_rss_mb']:.0f} MB | "
        f"- | {one['seconds'] / two['seconds']:.2f}x faster than --jobs 1 | at least 1.7x |",
        f"| training, griefguard train | {train_s:.1f} s | - | - | under 180 s |",
        "",
        f"Load average (1 min) during the large-file runs: {one['load']:.2f} (--jobs 1), {two['load']:.2f} (--jobs 2).",
        "",
        f"Chunk cache on unseen replies: built on the {cache['seen']:,} replies of data/train.csv, then "
        f"{cache['n']:,} replies of data/everyday/test.csv and data/threads/test.csv ({cache['chunks']:,} chunks): "
        f"{100 * cache['hit_rate']:.1f}% of the chunks were in the table already, {100 * cache['reuse_rate']:.1f}% "
        f"were not tokenised again (found, or repeated in their batch); {cache['whole_sentences']:,} stretches of "
        f"a sentence (quotes, spaced letters) and {cache['whole']:,} replies (whitespace above U+007F) were "
        "tokenised whole.",
        "",
        "Where the library's time goes, per reply: "
        + ", ".join(f"{k} {v:.1f} µs" for k, v in thr["stages"].items())
        + f" (total {sum(thr['stages'].values()):.1f} µs).",
    ]
    report = "\n".join([f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}.", "", *rows, ""])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
