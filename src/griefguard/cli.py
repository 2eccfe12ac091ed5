"""The `griefguard` command: classify replies, show the model card, evaluate on labeled data.

Each command parses its options and calls a library function; this module only adds printing and exit codes.
Exit codes: 0 success; 1 `classify --fail-on-flag` flagged something; 2 usage, input, data or model error;
130 interrupted (Ctrl-C). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import typer

from griefguard.errors import EXIT_FLAGGED, EXIT_INTERRUPTED, EXIT_USAGE, GriefguardError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Flag critical replies to posts about a loss; let supportive ones through.",
)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one error line to stderr and exit with `code`."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


class OutputFormat(StrEnum):
    auto = "auto"
    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"


class InputFormat(StrEnum):
    auto = "auto"
    text = "text"
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"


class BadLines(StrEnum):
    skip = "skip"
    stop = "stop"


ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model file to use (default: the bundled model, or $GRIEFGUARD_MODEL)."),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(min=0.0, max=1.0, help="Flag replies scoring at least this (0-1); default: the model's threshold."),
]


def _load(model: Path | None):  # type: ignore[no-untyped-def]
    from griefguard.scorer import load_scorer

    return load_scorer(model)


def _resolve_format(fmt: OutputFormat, output: Path | None) -> str:
    if fmt is not OutputFormat.auto:
        return fmt.value
    if output is not None:
        return {".csv": "csv", ".tsv": "tsv", ".txt": "table"}.get(output.suffix.lower(), "jsonl")
    return "table" if sys.stdout.isatty() else "jsonl"


def _stop_on_skip(items, policy: BadLines):  # type: ignore[no-untyped-def]
    from griefguard.errors import InputError
    from griefguard.reading import Skip

    for item in items:
        if policy is BadLines.stop and isinstance(item, Skip):
            raise InputError(f"{item.source}:{item.line}: {item.reason} (stopped: --bad-lines stop)")
        yield item


def _progress(inputs: list[Any], enabled: bool):  # type: ignore[no-untyped-def]
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


@app.command("classify")
def classify_cli(
    files: Annotated[list[str], typer.Argument(help="Files of replies; - reads standard input.", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write results here (atomically) instead of stdout.")
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", help="Output format; auto = table on a terminal, else jsonl (or by --output's extension)."
        ),
    ] = OutputFormat.auto,
    whole_file: Annotated[
        bool, typer.Option(help="Treat each file as one reply instead of one reply per line.")
    ] = False,
    text_column: Annotated[str, typer.Option(help="CSV column or JSON field holding the reply.")] = "text",
    input_format: Annotated[
        InputFormat, typer.Option(help="Input format; auto = by extension (.csv, .tsv, .jsonl), else one reply a line.")
    ] = InputFormat.auto,
    only_flagged: Annotated[bool, typer.Option(help="Output only the replies flagged as critical.")] = False,
    threshold: ThresholdOption = None,
    explain: Annotated[
        bool, typer.Option(help="Add the terms that raised each score and the most critical sentence.")
    ] = False,
    model: ModelOption = None,
    fail_on_flag: Annotated[
        bool, typer.Option(help="Exit with code 1 if any reply is flagged (for pre-publish hooks).")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Worker processes for large inputs.")] = 1,
    bad_lines: Annotated[
        BadLines,
        typer.Option(help="On a record that cannot be read (malformed JSON, empty text): skip and count it, or stop."),
    ] = BadLines.skip,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No summary or warnings on stderr (errors still show).")
    ] = False,
) -> None:
    """Score replies and flag the critical ones.

    Text files hold one reply per non-empty line (or one per file with --whole-file); CSV, TSV and JSONL files
    are read by the --text-column, and their other fields are kept in the output. A summary (read, scored,
    flagged, skipped) goes to stderr.
    """
    from griefguard.atomic import atomic_writer, temporary_beside
    from griefguard.classify import classify_records
    from griefguard.reading import open_inputs, read_records
    from griefguard.writing import jsonl_line, make_writer

    out_format = _resolve_format(fmt, output)
    stop_stdout = False
    try:
        scorer = _load(model)
        inputs = open_inputs(
            files, None if input_format is InputFormat.auto else input_format.value, text_column, whole_file
        )
        if output is not None:
            try:
                temporary_beside(output).unlink()
            except OSError as exc:
                fail(f"cannot write to {output}: {exc.strerror or exc}")
        extra_columns = [h for i in inputs for h in i.header if h != text_column]
        progress, tick = _progress(inputs, not quiet)
        with ExitStack() as stack:
            stream: IO[str]
            if output is not None:
                stream = stack.enter_context(atomic_writer(output, "w", encoding="utf-8", newline=""))
            else:
                stream = sys.stdout
            writer = make_writer(
                out_format,
                stream,
                extra_columns=extra_columns,
                explain=explain,
                width=shutil.get_terminal_size().columns,
                color=output is None and sys.stdout.isatty(),
            )
            if progress is not None:
                stack.enter_context(progress)
            items = _stop_on_skip(read_records(inputs, text_column, whole_file), bad_lines)

            # JSON Lines rows are encoded where they are scored (in the workers, with --jobs), the rest here.
            encode = jsonl_line if out_format == "jsonl" else None
            summary = classify_records(
                items,
                scorer,
                stream.write if encode else writer.write,
                threshold=threshold,
                only_flagged=only_flagged,
                explain=explain,
                jobs=jobs,
                encode=encode,
                on_batch=tick,
            )
    except GriefguardError as exc:
        fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        # The reader (e.g. `head`) has gone: stop quietly, and keep Python from complaining at exit.
        stop_stdout = True
        summary = None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted" + (f"; {output} was not written\n" if output else "\n"))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if stop_stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0)
    if not quiet:
        for source in inputs:
            if source.bad_utf8_lines:
                warn(
                    f"{source.name}: {source.bad_utf8_lines} line(s) were not valid UTF-8; "
                    "decoded with replacement characters and scored"
                )
        for skip in summary.skips:
            warn(f"{skip.source}:{skip.line}: skipped: {skip.reason}")
        if summary.skipped > len(summary.skips):
            warn(f"... and {summary.skipped - len(summary.skips)} more skipped records")
        if getattr(writer, "dropped", None):
            warn(f"fields not in the {out_format.upper()} header were left out: {', '.join(sorted(writer.dropped))}")
        sys.stderr.write(
            f"read {summary.read}, scored {summary.scored}, flagged {summary.flagged}, skipped {summary.skipped}"
            + (f"; wrote {output}" if output else "")
            + "\n"
        )
    if fail_on_flag and summary.flagged:
        raise typer.Exit(EXIT_FLAGGED)


@app.command("info")
def info_cli(
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole model card as JSON.")] = False,
) -> None:
    """Show the model card: version, training data, parameters, threshold and metrics."""
    from griefguard.metrics import metrics_table

    try:
        scorer = _load(model)
    except GriefguardError as exc:
        fail(str(exc), exc.exit_code)
    card = scorer.card
    if as_json:
        sys.stdout.write(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
        return
    p = card.get("params", {})
    lines = [
        f"model      {scorer.path}",
        f"format     {card.get('format_version')}, created {card.get('created')}, "
        f"griefguard {card.get('versions', {}).get('griefguard')}",
        f"threshold  {scorer.threshold:.4f}   sentence rule: weight {scorer.sentence_weight:g}, "
        f"gate {scorer.sentence_gate:g}, from {scorer.sentence_min} sentences",
        f"features   word n-grams {p.get('word_ngrams')}, char n-grams {p.get('char_ngrams')}, "
        f"normaliser {p.get('normalizer')}, C {p.get('C')}",
    ]
    for d in card.get("data", []):
        lines.append(f"data       {d['role']:<11} {d['path']}  {d['rows']} rows  sha256 {d['sha256'][:12]}…")
    sys.stdout.write("\n".join(lines) + "\n\n")
    named = {k: v for k, v in card.get("metrics", {}).items() if k in ("cross_validation", "test")}
    _print_table(metrics_table(named))


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    buf = io.StringIO()
    for n, row in enumerate(rows):
        buf.write(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            + "\n"
        )
        if n == 0:
            buf.write("  ".join("-" * w for w in widths) + "\n")
    sys.stdout.write(buf.getvalue())


def evaluate(
    path: Path,
    model: Path | None = None,
    threshold: float | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> dict[str, Any]:
    """Metrics of a model on a labeled CSV (the same metrics training reports)."""
    from griefguard.dataset import load_labeled
    from griefguard.metrics import compute_metrics

    scorer = _load(model)
    data = load_labeled(path, text_column, label_column, check=False)
    scores = scorer.score_many(data.texts)
    cut = scorer.threshold if threshold is None else threshold
    return compute_metrics(data.y, scores, cut, [e.kind for e in data.examples], [e.context for e in data.examples])


@app.command("evaluate")
def evaluate_cli(
    path: Annotated[Path, typer.Argument(help="Labeled CSV with text and label (critical/supportive) columns.")],
    model: ModelOption = None,
    threshold: ThresholdOption = None,
    text_column: Annotated[str, typer.Option(help="Column holding the reply text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column holding the label.")] = "label",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also save the metrics as JSON here.")] = None,
) -> None:
    """Score a labeled CSV and print ROC AUC, precision/recall/F1 per label and accuracy per hard-case kind."""
    from griefguard.atomic import atomic_writer
    from griefguard.metrics import metrics_table

    try:
        metrics = evaluate(path, model, threshold, text_column, label_column)
        if output is not None:
            with atomic_writer(output, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    except GriefguardError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(f"cannot write to {output}: {exc.strerror or exc}")
    _print_table(metrics_table({path.name: metrics}))


def main() -> None:
    """Entry point of the `griefguard` script and `python -m griefguard`."""
    app(prog_name="griefguard")
