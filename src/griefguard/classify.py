"""Score a stream of input records in batches, optionally across worker processes, keeping input order.

This is the library function behind `griefguard classify`: it takes records (from `reading`), a scorer and
a writer, and returns the counts the command reports. Memory stays flat: at most a few batches are in flight.
Worker processes get the model itself (its arrays), never a path to load again; they ignore Ctrl-C, so an
interrupt reaches only the parent, which stops them at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from griefguard.errors import GriefguardError
from griefguard.reading import Record, Skip
from griefguard.scorer import Scorer
from griefguard.writing import output_row

__all__ = ["Summary", "classify_records"]

BATCH = 1024


@dataclass
class Summary:
    """What a classify run did: every record read was either scored or skipped (with a reason)."""

    read: int = 0
    scored: int = 0
    flagged: int = 0
    skipped: int = 0
    skips: list[Skip] = field(default_factory=list)  # the first few, for the report


@dataclass(frozen=True)
class _Job:
    """What to do with each batch; sent to worker processes with every batch."""

    threshold: float
    explain: bool
    only_flagged: bool
    encode: Callable[[dict[str, Any]], Any] | None  # e.g. the JSON Lines encoder: done where the scoring is


_Item = tuple[str, int, str, dict[str, Any] | None, str, str]  # a record as a plain tuple: cheap to send to a worker


def _process(scorer: Scorer, records: list[_Item], job: _Job) -> tuple[list[bool], Any]:
    """Score a batch: whether each record is flagged, and the output rows (--only-flagged drops the others).

    Replies with a parent comment are read under it. With `job.encode` the rows come back as one encoded
    string, so a worker sends one object per batch.
    """
    texts = [r[2] for r in records]
    parents = [r[4] for r in records]
    posts = [r[5] for r in records]
    thread = any(parents)
    batch = scorer.predict_batch(texts, parents=parents if thread else None, posts=posts if thread else None)
    explanations = None
    if job.explain:
        contexts = zip(texts, parents, posts, strict=True)
        explanations = [scorer.explain(t, 5, job.threshold, parent=p, post=q) for t, p, q in contexts]
    predictions = scorer.predictions(texts, batch, job.threshold, explanations=explanations)
    rows: list[Any] = []
    for (source, line, text, fields, _, _), prediction in zip(records, predictions, strict=True):
        if job.only_flagged and not prediction.flagged:
            continue
        row = output_row(source, line, text, prediction.record(), fields)
        rows.append(job.encode(row) if job.encode is not None else row)
    flagged = [p.flagged for p in predictions]
    return flagged, ("".join(rows) if job.encode is not None else rows)


# -- worker processes ------------------------------------------------------------------------------------
_worker_scorer: Scorer | None = None


def _worker_init(scorer: Scorer) -> None:
    global _worker_scorer  # one scorer per worker process, handed over once
    # Ctrl-C and SIGTERM often reach the whole process group; the parent handles them and shuts the workers
    # down cleanly (a worker killed mid-message would leave the pool's pipes stuck). A worker still ends when
    # the parent is gone: its task pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _worker_scorer = scorer


def _worker_process(records: list[_Item], job: _Job) -> tuple[list[bool], Any]:
    assert _worker_scorer is not None
    return _process(_worker_scorer, records, job)


def _batches(items: Iterable[Record | Skip], size: int) -> Iterator[list[Record | Skip]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _plain(batch: list[Record | Skip]) -> list[_Item]:
    return [(r.source, r.line, r.text, r.fields, r.parent, r.post) for r in batch if isinstance(r, Record)]


class _Interrupts:
    """Ctrl-C and SIGTERM while worker processes run: an interrupt becomes KeyboardInterrupt in the main thread as
    usual, except inside the executor's own bookkeeping (`protect`), where it is held until the call returns, so
    the pool is never left half-updated and can be shut down cleanly. Only the main thread can install handlers;
    elsewhere this does nothing."""

    def __init__(self) -> None:
        self.pending = False
        self.protected = 0
        self.previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: object) -> None:
        self.pending = True
        if not self.protected:
            raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    @contextmanager
    def protect(self) -> Iterator[None]:
        self.protected += 1
        try:
            yield
        finally:
            self.protected -= 1
        if self.pending and not self.protected:
            raise KeyboardInterrupt


def _processed_batches(
    items: Iterable[Record | Skip], scorer: Scorer, job: _Job, jobs: int
) -> Iterator[tuple[list[Record | Skip], list[bool], Any]]:
    """Batches with their results, in input order; with jobs > 1 a bounded window of batches runs in a pool.

    On an interrupt the batches not started are cancelled and the few running ones finish (a batch takes a
    fraction of a second), so every worker ends cleanly and nothing is left for the interpreter to wait on.
    """
    if jobs <= 1:
        for batch in _batches(items, BATCH):
            yield batch, *_process(scorer, _plain(batch), job)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with _Interrupts() as interrupts:
        with interrupts.protect():
            executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init, initargs=(scorer,))
        pending: deque[tuple[list[Record | Skip], Future[tuple[list[bool], Any]]]] = deque()
        try:
            for batch in _batches(items, BATCH):
                with interrupts.protect():
                    pending.append((batch, executor.submit(_worker_process, _plain(batch), job)))
                if len(pending) >= 2 * jobs:  # bounded: the reader never runs far ahead of the writer
                    done, future = pending.popleft()
                    yield done, *future.result()
            while pending:
                done, future = pending.popleft()
                yield done, *future.result()
        except BrokenProcessPool:
            raise GriefguardError("a worker process died (out of memory, or killed); nothing more was scored") from None
        finally:
            interrupts.protected += 1  # a second Ctrl-C must not break the shutdown
            executor.shutdown(wait=True, cancel_futures=True)


def classify_records(
    items: Iterable[Record | Skip],
    scorer: Scorer,
    write: Callable[[Any], None],
    *,
    threshold: float | None = None,
    only_flagged: bool = False,
    explain: bool = False,
    jobs: int = 1,
    encode: Callable[[dict[str, Any]], Any] | None = None,
    keep_skips: int = 20,
    on_batch: Callable[[], None] | None = None,
) -> Summary:
    """Score every record and pass each output row to `write`, in input order; return the counts.

    With `encode`, rows are encoded (in the worker processes, with jobs > 1) and `write` gets each batch's
    encoded rows joined into one string.
    """
    job = _Job(scorer.check_threshold(threshold), explain, only_flagged, encode)
    summary = Summary()
    for batch, flagged, outputs in _processed_batches(items, scorer, job, jobs):
        for item in batch:
            summary.read += 1
            if isinstance(item, Skip):
                summary.skipped += 1
                if len(summary.skips) < keep_skips:
                    summary.skips.append(item)
        summary.scored += len(flagged)
        summary.flagged += sum(flagged)
        if encode is not None:
            if outputs:
                write(outputs)
        else:
            for row in outputs:
                write(row)
        if on_batch is not None:
            on_batch()
    return summary
