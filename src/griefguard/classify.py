"""Score a stream of input records in batches, optionally across worker processes, keeping input order.

This is the library function behind `griefguard classify`: it takes records (from `reading`), a scorer
and a writer, and returns the counts the command reports. Memory stays flat: at most a few batches are
in flight at any time, whatever the size of the input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from griefguard.reading import Record, Skip
from griefguard.scorer import Scorer, load_scorer
from griefguard.writing import output_row

__all__ = ["Summary", "classify_records", "explanation_fields"]

BATCH = 1024


@dataclass
class Summary:
    """What a classify run did: every record read was either scored or skipped (with a reason)."""

    read: int = 0
    scored: int = 0
    flagged: int = 0
    skipped: int = 0
    skips: list[Skip] = field(default_factory=list)  # the first few, for the report


def explanation_fields(scorer: Scorer, text: str, threshold: float) -> dict[str, Any]:
    """The output fields `--explain` adds: top raising terms and the most critical sentence."""
    exp = scorer.explain(text, top=5, threshold=threshold)
    return {
        "reasons": [[term, round(weight, 3)] for term, weight in exp.raising],
        "sentence": exp.sentence,
        "sentence_score": None if exp.sentence_score is None else round(exp.sentence_score, 6),
    }


def _score_texts(scorer: Scorer, texts: list[str], explain: bool, threshold: float) -> tuple[list[float], list[Any]]:
    scores = scorer.score_many(texts, batch_size=max(1, len(texts))).tolist()
    explanations = [explanation_fields(scorer, t, threshold) for t in texts] if explain else []
    return scores, explanations


# -- worker processes ------------------------------------------------------------------------------------
_worker_scorer: Scorer | None = None


def _worker_init(model_path: str) -> None:
    global _worker_scorer  # one scorer per worker process, loaded once
    _worker_scorer = load_scorer(model_path)


def _worker_score(args: tuple[list[str], bool, float]) -> tuple[list[float], list[Any]]:
    assert _worker_scorer is not None
    texts, explain, threshold = args
    return _score_texts(_worker_scorer, texts, explain, threshold)


def _batches(items: Iterable[Record | Skip], size: int) -> Iterator[list[Record | Skip]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _scored_batches(
    items: Iterable[Record | Skip], scorer: Scorer, threshold: float, explain: bool, jobs: int, model_path: Path | None
) -> Iterator[tuple[list[Record | Skip], list[float], list[Any]]]:
    """Batches with their scores, in input order; with jobs > 1 a bounded window of batches runs in a pool."""
    if jobs <= 1:
        for batch in _batches(items, BATCH):
            texts = [r.text for r in batch if isinstance(r, Record)]
            yield batch, *_score_texts(scorer, texts, explain, threshold)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork" if hasattr(__import__("os"), "fork") else "spawn")
    with context.Pool(jobs, initializer=_worker_init, initargs=(str(model_path),)) as pool:
        pending: deque[tuple[list[Record | Skip], Any]] = deque()
        for batch in _batches(items, BATCH):
            texts = [r.text for r in batch if isinstance(r, Record)]
            pending.append((batch, pool.apply_async(_worker_score, ((texts, explain, threshold),))))
            if len(pending) >= 2 * jobs:  # bounded: the reader never runs far ahead of the writer
                done, result = pending.popleft()
                yield done, *result.get()
        while pending:
            done, result = pending.popleft()
            yield done, *result.get()


def classify_records(
    items: Iterable[Record | Skip],
    scorer: Scorer,
    write: Callable[[dict[str, Any]], None],
    *,
    threshold: float | None = None,
    only_flagged: bool = False,
    explain: bool = False,
    jobs: int = 1,
    keep_skips: int = 20,
    on_batch: Callable[[], None] | None = None,
) -> Summary:
    """Score every record and pass each output row to `write`, in input order; return the counts."""
    cut = scorer.threshold if threshold is None else threshold
    summary = Summary()
    for batch, scores, explanations in _scored_batches(items, scorer, cut, explain, jobs, scorer.path):
        k = 0
        for item in batch:
            summary.read += 1
            if isinstance(item, Skip):
                summary.skipped += 1
                if len(summary.skips) < keep_skips:
                    summary.skips.append(item)
                continue
            score = scores[k]
            exp = explanations[k] if explain else None
            k += 1
            summary.scored += 1
            if score >= cut:
                summary.flagged += 1
            elif only_flagged:
                continue
            write(output_row(item.source, item.line, item.text, score, cut, item.fields, exp))
        if on_batch is not None:
            on_batch()
    return summary
