"""Score replies in batches, optionally across worker processes, keeping input order.

`classify_files` is `griefguard classify` as a library call: inputs checked first, rows written atomically, a
warning for everything repaired or skipped. `classify_records` scores a stream of records (from `reading`) into a
writer and returns the counts. Memory stays flat: at most a few batches are in flight. Worker processes get the
model itself (its arrays), never a path to load again; they ignore Ctrl-C, so an interrupt reaches only the
parent, which stops them at once.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from griefguard.atomic import atomic_writer, check_output
from griefguard.errors import GriefguardError, InputError, Interrupted, OutputError, os_reason
from griefguard.reading import InputFile, Record, Skip, open_inputs, read_records
from griefguard.scorer import Scorer
from griefguard.writing import jsonl_line, make_writer, output_row

__all__ = ["ClassifyOptions", "Summary", "classify_files", "classify_records"]

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


@dataclass(frozen=True)
class ClassifyOptions:
    """How `classify_files` reads its inputs and what it writes (the `griefguard classify` options)."""

    output: Path | None = None
    output_format: str = "jsonl"  # jsonl, csv, tsv or table
    input_format: str | None = None  # None: by extension
    whole_file: bool = False
    text_column: str = "text"
    parent_column: str = "parent"
    post_column: str = "post"
    threshold: float | None = None
    only_flagged: bool = False
    explain: bool = False
    jobs: int = 1
    stop_on_skip: bool = False
    discard: bool = False  # write the rows nowhere (a pre-publish hook wants only the exit code)
    progress: bool = False  # a progress bar on a terminal's stderr for large files


def _stop_on_skip(items: Iterable[Record | Skip]) -> Iterator[Record | Skip]:
    for item in items:
        if isinstance(item, Skip):
            raise InputError(f"{item.source}:{item.line}: {item.reason} (stopped: --bad-lines stop)")
        yield item


def _progress(inputs: list[InputFile], enabled: bool) -> tuple[Any, Callable[[], None]]:
    """A byte-based progress bar on stderr for large inputs read from files; a no-op otherwise."""
    total = sum(i.path.stat().st_size for i in inputs if i.path is not None)
    if not enabled or total < 5_000_000 or not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    progress = Progress(
        "scoring", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True
    )
    task = progress.add_task("scoring", total=total)
    return progress, lambda: progress.update(task, completed=sum(i.bytes_read for i in inputs))


def _writer(options: ClassifyOptions, inputs: list[InputFile], stream: IO[str]) -> Any:
    on_terminal = options.output is None and not options.discard and sys.stdout.isatty()
    colour = on_terminal and not os.environ.get("NO_COLOR")  # https://no-color.org
    return make_writer(
        options.output_format,
        stream,
        extra_columns=[h for i in inputs for h in i.header if h != options.text_column],
        explain=options.explain,
        width=shutil.get_terminal_size().columns if on_terminal else None,
        color=colour,
        where_width=max((len(i.name) for i in inputs), default=8) + 7,
        thread=any(i.format == "jsonl" or options.parent_column in i.header or "parent_id" in i.header for i in inputs),
    )


def classify_files(
    files: list[str], scorer: Scorer, options: ClassifyOptions, warn: Callable[[str], None] = lambda _: None
) -> tuple[Summary, list[InputFile]]:
    """`griefguard classify` as a library call: check every input and the output first, score every reply in
    order (threads read under their parents), write the rows to `options.output` atomically (or to stdout), and
    `warn` about what was repaired or skipped. Returns the counts and the inputs read.

    Raises InputError or OutputError with one line; Interrupted on Ctrl-C or SIGTERM (the output is left as it
    was); BrokenPipeError when the reader of stdout goes away."""
    cut = scorer.check_threshold(options.threshold)
    inputs = open_inputs(files, options.input_format, options.text_column, options.whole_file)
    if options.output is not None:
        check_output(options.output)
    progress, tick = _progress(inputs, options.progress)
    records = read_records(inputs, options.text_column, options.whole_file, options.parent_column, options.post_column)
    if options.stop_on_skip:
        records = _stop_on_skip(records)
    try:
        with ExitStack() as stack:
            stream: IO[str]
            if options.output is not None:
                stream = stack.enter_context(atomic_writer(options.output, "w", encoding="utf-8", newline=""))
            elif options.discard:
                stream = stack.enter_context(open(os.devnull, "w", encoding="utf-8"))
            else:
                stream = sys.stdout
            writer = _writer(options, inputs, stream)
            if progress is not None:
                stack.enter_context(progress)
            # JSON Lines rows are encoded where they are scored (in the workers, with --jobs), the rest here.
            encode = jsonl_line if options.output_format == "jsonl" else None
            summary = classify_records(
                records,
                scorer,
                stream.write if encode else writer.write,
                threshold=cut,
                only_flagged=options.only_flagged,
                explain=options.explain,
                jobs=options.jobs,
                encode=encode,
                on_batch=tick,
            )
            if stream is sys.stdout:
                stream.flush()
    except KeyboardInterrupt:
        left = f"; {options.output} was left as it was" if options.output else ""
        raise Interrupted(f"interrupted{left}") from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            raise BrokenPipeError from None
        where = str(options.output) if options.output is not None else "standard output"
        raise OutputError(f"cannot write to {where}: {os_reason(exc)}") from None
    _warnings(inputs, summary, writer, options.output_format, warn)
    return summary, inputs


def _warnings(
    inputs: list[InputFile], summary: Summary, writer: Any, output_format: str, warn: Callable[[str], None]
) -> None:
    """What was repaired, guessed or left out, one line each."""
    for source in inputs:
        if source.bad_utf8_lines:
            warn(
                f"{source.name}: {source.bad_utf8_lines} line(s) were not valid UTF-8 (or held lone "
                "surrogates); decoded with replacement characters and scored"
            )
        if source.missing_parents:
            warn(
                f"{source.name}: {source.missing_parents} reply(s) name a parent_id that is not in the file; "
                "read as direct replies to the post"
            )
        if source.header_warning:
            warn(
                f"{source.name}: the first line looks like a CSV header, but the input is read as one reply "
                "per line; pass --input-format csv (or tsv) to read it by columns"
            )
    for skip in summary.skips:
        warn(f"{skip.source}:{skip.line}: skipped: {skip.reason}")
    if summary.skipped > len(summary.skips):
        warn(f"... and {summary.skipped - len(summary.skips)} more skipped records")
    if getattr(writer, "dropped", None):
        warn(f"fields not in the {output_format.upper()} header were left out: {', '.join(sorted(writer.dropped))}")
