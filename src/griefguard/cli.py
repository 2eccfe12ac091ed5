"""The `griefguard` command: classify, review, evaluate, info, train, check-data and serve.

Each command parses its options and calls a library function; this module only adds printing and exit codes.
`main` is the one error boundary: every usage error, GriefguardError, OSError (disk full, a directory, no
permission), interrupt and SIGTERM becomes one line on stderr with its documented exit code:
0 success; 1 `classify --fail-on-flag` flagged something; 2 usage, input, data, model or output error;
130 interrupted (Ctrl-C or SIGTERM). No traceback reaches the user.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from griefguard import __version__
from griefguard.errors import (
    EXIT_FLAGGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    DataError,
    GriefguardError,
    InputError,
    Interrupted,
    OutputError,
)

if TYPE_CHECKING:
    from griefguard.dataset import LabeledData
    from griefguard.scorer import Scorer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"max_content_width": 100},
    help="Flag critical replies to posts about a loss; let supportive and neutral ones through.",
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"griefguard {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Flag critical replies to posts about a loss; let supportive and neutral ones through."""


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
    typer.Option("--model", "-m", help="Model file (default: $GRIEFGUARD_MODEL, else the bundled model)."),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option("--threshold", min=0.0, max=1.0, help="Flag replies scoring at least this (default: the model's)."),
]
TextColumnOption = Annotated[str, typer.Option("--text-column", help="Column or JSON field holding the reply.")]
LabelColumnOption = Annotated[str, typer.Option("--label-column", help="Column or JSON field holding the label.")]
ParentColumnOption = Annotated[
    str, typer.Option("--parent-column", help="CSV/JSONL field with the comment each reply answers, if any.")
]
PostColumnOption = Annotated[str, typer.Option("--post-column", help="CSV/JSONL field with the post's text.")]
InputFormatOption = Annotated[
    InputFormat, typer.Option("--input-format", help="auto: by extension (.csv .tsv .jsonl), else one reply a line.")
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="GRIEFGUARD_TOKEN",
        help="Secret every review request must carry; required off 127.0.0.1 (default: $GRIEFGUARD_TOKEN).",
        show_default=False,
    ),
]
DecisionsOption = Annotated[
    Path | None,
    typer.Option(
        "--decisions",
        help="CSV file the decisions are kept in, and resumed from (default: FIRST-INPUT.decisions.csv beside it).",
        show_default=False,
    ),
]


def _missing_extra(what: str, needs: str, extra: str, exc: ImportError) -> GriefguardError:
    return GriefguardError(f'{what} needs {needs} ({exc.name} is missing): pip install "griefguard[{extra}]"')


def _load(model: Path | None) -> Scorer:
    from griefguard.scorer import load_scorer

    return load_scorer(model)


def _resolve_format(fmt: OutputFormat, output: Path | None) -> str:
    if fmt is not OutputFormat.auto:
        return fmt.value
    if output is not None:
        return {".csv": "csv", ".tsv": "tsv", ".txt": "table"}.get(output.suffix.lower(), "jsonl")
    return "table" if sys.stdout.isatty() else "jsonl"


def check_output(output: Path) -> None:
    """Refuse an output path that cannot be written, before any work: a missing folder, a directory, no
    permission. A symlink is followed; a device or named pipe is written through (see `atomic`)."""
    from griefguard.atomic import check_writable

    try:
        check_writable(output)
    except IsADirectoryError:
        raise OutputError(f"cannot write to {output}: it is a directory") from None
    except FileNotFoundError as exc:
        raise OutputError(f"cannot write to {output}: {exc.strerror}") from None
    except OSError as exc:
        raise OutputError(f"cannot write to {output}: {_os_reason(exc)}") from None


def _stop_on_skip(items, policy: BadLines):  # type: ignore[no-untyped-def]
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
        Path | None, typer.Option("--output", "-o", help="Write results to this file (atomically), not stdout.")
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="auto: a table on a terminal, else jsonl (or by --output's extension)."),
    ] = OutputFormat.auto,
    whole_file: Annotated[
        bool, typer.Option("--whole-file", help="Each file is one reply (not one reply per line).")
    ] = False,
    text_column: TextColumnOption = "text",
    parent_column: ParentColumnOption = "parent",
    post_column: PostColumnOption = "post",
    input_format: InputFormatOption = InputFormat.auto,
    only_flagged: Annotated[bool, typer.Option("--only-flagged", help="Output only the flagged replies.")] = False,
    threshold: ThresholdOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add the terms behind each score and the most critical sentence.")
    ] = False,
    model: ModelOption = None,
    fail_on_flag: Annotated[
        bool, typer.Option("--fail-on-flag", help="Exit 1 if any reply is flagged (pre-publish hooks).")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Worker processes for large inputs.")] = 1,
    bad_lines: Annotated[
        BadLines,
        typer.Option("--bad-lines", help="On a record that cannot be read (bad JSON, empty text): skip it, or stop."),
    ] = BadLines.skip,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No summary or warnings; with --fail-on-flag, no records either (only the exit code)."
        ),
    ] = False,
    replace_output: Annotated[
        bool, typer.Option("--replace-output", help="With --dask: replace an existing, non-empty output folder.")
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Score on a Dask cluster: a scheduler address, or 'local'. Needs --output (a folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Score replies and flag the critical ones.

    Text files hold one reply per non-empty line (or one per file with --whole-file); CSV, TSV and JSON Lines
    files are read by the --text-column, and their other fields are kept in the output. A summary (read,
    scored, flagged, skipped) goes to stderr.
    """
    if dask is not None:
        try:
            from griefguard.dask import classify_files_cli
        except ImportError as exc:
            raise _missing_extra("--dask", "dask, distributed and pyarrow", "dask", exc) from None
        classify_files_cli(
            files,
            dask,
            output,
            fmt.value,
            text_column,
            input_format.value,
            model,
            threshold,
            only_flagged,
            quiet,
            replace_output,
        )
        return
    from griefguard.atomic import atomic_writer
    from griefguard.classify import classify_records
    from griefguard.reading import open_inputs, read_records
    from griefguard.writing import jsonl_line, make_writer

    out_format = _resolve_format(fmt, output)
    scorer = _load(model)
    cut = scorer.check_threshold(threshold)
    inputs = open_inputs(
        files, None if input_format is InputFormat.auto else input_format.value, text_column, whole_file
    )
    if output is not None:
        check_output(output)
    extra_columns = [h for i in inputs for h in i.header if h != text_column]
    thread = any(i.format == "jsonl" or parent_column in i.header or "parent_id" in i.header for i in inputs)
    longest = max((len(i.name) for i in inputs), default=8) + 7
    progress, tick = _progress(inputs, not quiet)
    summary = None
    try:
        with ExitStack() as stack:
            stream: IO[str]
            if output is not None:
                stream = stack.enter_context(atomic_writer(output, "w", encoding="utf-8", newline=""))
            elif quiet and fail_on_flag:  # a pre-publish hook wants the exit code, not the reply echoed back
                stream = stack.enter_context(open(os.devnull, "w", encoding="utf-8"))
            else:
                stream = sys.stdout
            on_terminal = output is None and sys.stdout.isatty()
            writer = make_writer(
                out_format,
                stream,
                extra_columns=extra_columns,
                explain=explain,
                width=shutil.get_terminal_size().columns if on_terminal else None,
                color=on_terminal,
                where_width=longest,
                thread=thread,
            )
            if progress is not None:
                stack.enter_context(progress)
            items = _stop_on_skip(read_records(inputs, text_column, whole_file, parent_column, post_column), bad_lines)
            # JSON Lines rows are encoded where they are scored (in the workers, with --jobs), the rest here.
            encode = jsonl_line if out_format == "jsonl" else None
            summary = classify_records(
                items,
                scorer,
                stream.write if encode else writer.write,
                threshold=cut,
                only_flagged=only_flagged,
                explain=explain,
                jobs=jobs,
                encode=encode,
                on_batch=tick,
            )
            if output is None:
                sys.stdout.flush()
    except KeyboardInterrupt:
        raise Interrupted("interrupted" + (f"; {output} was left as it was" if output else "")) from None
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            # The reader went away (`| head`): stop quietly with 0, not click's 1, which means "a reply was flagged".
            _quiet_stdout()
            raise typer.Exit(0) from None
        where = str(output) if output is not None else "standard output"
        raise OutputError(f"cannot write to {where}: {_os_reason(exc)}") from None
    if not quiet:
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
            warn(f"fields not in the {out_format.upper()} header were left out: {', '.join(sorted(writer.dropped))}")
        threaded = sum(i.threaded for i in inputs)
        sys.stderr.write(
            f"read {summary.read}, scored {summary.scored}, flagged {summary.flagged}, skipped {summary.skipped}"
            + (f"; {threaded} read under the comment they answer" if threaded else "")
            + (f"; wrote {output}" if output else "")
            + "\n"
        )
    if fail_on_flag and summary.flagged:
        raise typer.Exit(EXIT_FLAGGED)


@app.command("review")
def review_cli(
    files: Annotated[list[str], typer.Argument(help="Files of replies; - reads standard input.", show_default=False)],
    decisions: DecisionsOption = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: a free one).")] = 0,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; any but 127.0.0.1 needs --token.")] = (
        "127.0.0.1"
    ),
    token: TokenOption = None,
    threshold: ThresholdOption = None,
    model: ModelOption = None,
    text_column: TextColumnOption = "text",
    parent_column: ParentColumnOption = "parent",
    post_column: PostColumnOption = "post",
    input_format: InputFormatOption = InputFormat.auto,
) -> None:
    """Review replies in a page: the flagged first, with their reasons; decide with c/s/n and keep the decisions.

    Prints the page's address (on 127.0.0.1, a free port unless --port) and serves it until Ctrl-C. Decisions go
    to the --decisions CSV as they are made, which train --extra and evaluate read as it is. Needs the serve
    extra: pip install "griefguard\\[serve]".
    """
    from griefguard.review_settings import ReviewSettings

    try:
        from griefguard.review_app import review_files
    except ImportError as exc:
        raise _missing_extra("review", "FastAPI and uvicorn", "serve", exc) from None
    settings = ReviewSettings(
        tuple(files),
        None if decisions is None else str(decisions),
        text_column,
        parent_column,
        post_column,
        None if input_format is InputFormat.auto else input_format.value,
        threshold,
        token,
    )
    review_files(settings, host=host, port=port, model=model, warn=warn)


def _print_table(rows: list[tuple[str, ...]], stream: IO[str] | None = None) -> None:
    from griefguard.metrics import text_table

    (stream or sys.stdout).write(text_table(rows))


@app.command("info")
def info_cli(
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole model card as JSON.")] = False,
) -> None:
    """Show the model card: version, training data, parameters, threshold and metrics."""
    from griefguard.info import describe

    scorer = _load(model)
    if as_json:
        sys.stdout.write(json.dumps(dict(scorer.card), indent=2, ensure_ascii=False) + "\n")
        return
    sys.stdout.write(describe(scorer))


def evaluate(
    path: Path,
    model: Path | None = None,
    threshold: float | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> dict[str, Any]:
    """Metrics of a model on a labeled CSV or JSON Lines file (the same metrics training reports)."""
    from griefguard.evaluation import evaluate_labeled

    scorer, data = _load_labeled(path, model, text_column, label_column)
    return evaluate_labeled(scorer, data, threshold)


def _load_labeled(path: Path, model: Path | None, text_column: str, label_column: str) -> tuple[Scorer, LabeledData]:
    """The model, and the labeled file read for it (any kinds; the labels the model knows)."""
    from griefguard.dataset import load_labeled

    scorer = _load(model)
    data = load_labeled(path, text_column, label_column, check=False, any_kind=True, labels=scorer.labels)
    if data.problems:  # a row that cannot be evaluated (unknown label, empty text); duplicates are allowed here
        more = f" (+{len(data.problems) - 1} more problems)" if len(data.problems) > 1 else ""
        raise DataError(data.problems[0] + more)
    return scorer, data


@app.command("evaluate")
def evaluate_cli(
    path: Annotated[Path, typer.Argument(help="Labeled CSV or JSON Lines file with text and label columns.")],
    model: ModelOption = None,
    threshold: ThresholdOption = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also save the metrics as JSON here.")] = None,
    errors: Annotated[
        bool, typer.Option("--errors", help="Also list every misclassified row (text, label, prediction, score).")
    ] = False,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Precision, recall and share flagged at thresholds 0.05 to 0.95.")
    ] = False,
    target_precision: Annotated[
        float,
        typer.Option(
            "--target-precision", min=0.0, max=1.0, help="With --sweep: find the lowest threshold reaching it."
        ),
    ] = 0.9,
) -> None:
    """Score a labeled file and print ROC AUC, flag and label precision/recall/F1, and accuracy per kind.

    Labels are critical, supportive or neutral; a kind column (any values) gives per-kind figures. A file with a
    parent column is read as a thread. --sweep shows how a threshold trades precision for recall on your data.
    """
    from griefguard.evaluation import evaluate_labeled, misclassified
    from griefguard.metrics import metrics_table

    if output is not None:
        check_output(output)
    scorer, data = _load_labeled(path, model, text_column, label_column)
    metrics = evaluate_labeled(scorer, data, threshold)
    if output is not None:
        from griefguard.atomic import atomic_writer

        try:
            with atomic_writer(output, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write to {output}: {_os_reason(exc)}") from None
    _print_table(metrics_table({str(path): metrics}))
    if sweep:
        from griefguard.evaluation import threshold_sweep

        result = threshold_sweep(scorer, data, target_precision)
        sys.stdout.write(f"\nthreshold sweep ({result['replies']} replies, {result['critical']} critical)\n")
        rows = [("threshold", "precision", "recall", "flagged")]
        for r in result["sweep"]:
            precision = "-" if r["precision"] is None else f"{r['precision']:.3f}"
            recall = "-" if r["recall"] is None else f"{r['recall']:.3f}"
            rows.append((f"{r['threshold']:.2f}", precision, recall, f"{100 * r['flagged']:.1f}%"))
        _print_table(rows)
        best = result["lowest_threshold_reaching_it"]
        if best is None:
            sys.stdout.write(f"no threshold reaches a precision of {target_precision:g} on this file\n")
        else:
            sys.stdout.write(
                f"the lowest threshold with precision >= {target_precision:g}: --threshold {best['threshold']:.4f} "
                f"(precision {best['precision']:.3f}, recall {best['recall']:.3f}, flags "
                f"{100 * best['flagged']:.1f}% of replies; from {result['replies']} labeled replies)\n"
            )
    if errors:
        wrong = misclassified(scorer, data, threshold)
        sys.stdout.write(f"\n{len(wrong)} misclassified of {len(data)} (most confidently wrong first)\n")
        rows = [("line", "label", "predicted", "score", "flagged", "known", "kind", "text")]
        for m in wrong:
            text = " ".join(m.text.split())
            rows.append(
                (
                    str(m.line),
                    m.label,
                    m.predicted,
                    f"{m.score:.3f}",
                    "yes" if m.flagged else "no",
                    f"{round(100 * m.coverage)}%",
                    m.kind or "-",
                    text if len(text) <= 100 else text[:99] + "…",
                )
            )
        _print_table(rows)


@app.command("check-data")
def check_data_cli(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Labeled files, or data folders (a folder means every CSV in it).", show_default=False),
    ] = None,
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
) -> None:
    """Validate labeled files (labels, kinds, duplicates and near-duplicates within and across files) and print
    their counts per label, kind and context. Exits 2 listing every problem."""
    from griefguard.dataset import check_files

    table, problems = check_files(paths or [Path("data")], text_column, label_column)
    sys.stdout.write(table + "\n")
    if problems:
        for p in problems:
            sys.stderr.write(f"error: {p}\n")
        sys.stderr.write(f"{len(problems)} problems found\n")
        raise typer.Exit(EXIT_USAGE)
    sys.stderr.write("OK: every file passes every check\n")


def _say(message: str) -> None:
    """Training progress on stderr; warnings in red (plain where NO_COLOR is set or stderr is not a terminal)."""
    if message.startswith("warning:"):
        from rich.console import Console

        Console(stderr=True, highlight=False).print(message, style="bold red", markup=False)
    else:
        sys.stderr.write(message + "\n")


@app.command("train")
def train_cli(
    data: Annotated[
        Path, typer.Option("--data", help="Data folder: train.csv, test.csv, <set>/train.csv, <set>/test.csv, real/.")
    ] = Path("data"),
    train: Annotated[
        list[Path] | None,
        typer.Option(
            "--train", metavar="FILE", help="Train on these labeled files instead of the data folder's (repeatable)."
        ),
    ] = None,
    extra: Annotated[
        list[Path] | None,
        typer.Option("--extra", metavar="FILE", help="More labeled training files, added (repeatable)."),
    ] = None,
    test: Annotated[Path | None, typer.Option("--test", help="The test file, scored once at the end.")] = None,
    no_test: Annotated[bool, typer.Option("--no-test", help="Train without test files.")] = False,
    real: Annotated[
        Path | None, typer.Option("--real", help="Folder of real comments (default: the data folder's real/).")
    ] = None,
    model: Annotated[
        Path,
        typer.Option("--model", "-m", help="Where to save the model; its card and pictures go beside it."),
    ] = Path("models/griefguard.npz"),
    text_column: TextColumnOption = "text",
    label_column: LabelColumnOption = "label",
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="random_state for the folds and the solver.")] = 0,
    no_search: Annotated[
        bool, typer.Option("--no-search", help="Skip model selection; use the default parameters.")
    ] = False,
    search_chars: Annotated[
        bool, typer.Option("--search-chars", help="Also try character n-grams (about 3x slower to train).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables; only errors and paths.")] = False,
) -> None:
    """Train, evaluate and save the TF-IDF + logistic-regression model that `griefguard classify` loads.

    Needs the training extra: pip install "griefguard\\[train]".
    """
    try:
        from griefguard.training import check_writable, load_corpus, save_outputs
        from griefguard.training import train as run_training
    except ImportError as exc:
        raise _missing_extra("training", "scikit-learn and scipy", "train", exc) from None
    from griefguard.training.card import shortcut_table, summary_table

    try:
        check_writable(model)
    except OSError as exc:
        raise OutputError(f"cannot write the model to {model}: {_os_reason(exc)}") from None
    say = None if quiet else _say
    try:
        corpus = load_corpus(
            data,
            train=train or (),
            extra=extra or (),
            test=test,
            no_test=no_test,
            real_dir=real,
            text_column=text_column,
            label_column=label_column,
        )
        result = run_training(
            corpus, folds=folds, random_state=seed, search=not no_search, progress=say, search_chars=search_chars
        )
        written = save_outputs(result, model)
    except KeyboardInterrupt:
        raise Interrupted("interrupted: nothing was written; the previous model is untouched") from None
    except OSError as exc:
        raise OutputError(f"cannot write the model to {model}: {_os_reason(exc)}") from None
    if not quiet:
        _print_table(summary_table(result.card), sys.stderr)
        _print_table(shortcut_table(result.card), sys.stderr)
        sys.stderr.write(f"trained in {result.card['training_seconds']} s\n")
    for path in written:
        sys.stdout.write(f"{path}\n")


@app.command("serve")
def serve_cli(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8000,
    model: ModelOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes.")] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, max=256, help="Scoring threads per process.")] = 4,
    max_batch: Annotated[int, typer.Option("--max-batch", min=1, help="Most replies in one request.")] = 1000,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1024, help="Largest request body, in bytes.")
    ] = 4_000_000,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="One log line per request, with its latency.")
    ] = True,
    max_connections: Annotated[
        int, typer.Option("--max-connections", min=1, help="Connections at once per process; more get 503.")
    ] = 256,
    review: Annotated[
        list[Path] | None,
        typer.Option(
            "--review", metavar="FILE", help="Also serve the review page of these replies at /review/ (repeatable)."
        ),
    ] = None,
    decisions: DecisionsOption = None,
    token: TokenOption = None,
) -> None:
    """Serve the model over HTTP: POST /v1/classify, GET /v1/model, /healthz, /readyz and /docs.

    With --review, a team's review page too (see griefguard review). Needs the serve extra:
    pip install "griefguard\\[serve]".
    """
    from griefguard.review_settings import ReviewSettings

    try:
        from griefguard.server import run_server
    except ImportError as exc:
        raise _missing_extra("serving", "FastAPI and uvicorn", "serve", exc) from None
    run_server(
        host=host,
        port=port,
        model=model,
        workers=workers,
        threads=threads,
        max_batch=max_batch,
        max_bytes=max_bytes,
        access_log=access_log,
        max_connections=max_connections,
        review=ReviewSettings(tuple(map(str, review)), decisions and str(decisions), token=token) if review else None,
    )


# -- the error boundary ----------------------------------------------------------------------------------

_OS_REASONS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EISDIR: "it is a directory",
    errno.EACCES: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.EDQUOT: "disk quota exceeded",
}


def _os_reason(exc: OSError) -> str:
    return _OS_REASONS.get(exc.errno or -1, exc.strerror or str(exc))


def _fail(message: str, code: int) -> NoReturn:
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass
    sys.exit(code)


def _quiet_stdout() -> None:
    """The reader of our output (`head`) has gone: stop writing, and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _usage_error_type() -> type[Exception]:
    # Typer ships its own Click; its ClickException is the base of every usage error it raises.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `griefguard` script and `python -m griefguard`: the one error boundary."""
    click_error = _usage_error_type()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = app(args=argv, prog_name="griefguard", standalone_mode=False)
    except click_error as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        _fail(f"{message}{hint}", getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE)
    except GriefguardError as exc:
        _fail(" ".join(str(exc).split()), exc.exit_code)
    except (BrokenPipeError, ConnectionResetError):
        _quiet_stdout()
        sys.exit(0)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            _quiet_stdout()
            sys.exit(0)
        name = f" {exc.filename}" if exc.filename else ""
        _fail(f"cannot read or write{name}: {_os_reason(exc)}", EXIT_USAGE)
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted", EXIT_INTERRUPTED)
    except RecursionError:
        _fail("input too deeply nested to read", EXIT_USAGE)
    except MemoryError:
        _fail("out of memory", EXIT_USAGE)
    if isinstance(code, int) and code:
        if code == EXIT_INTERRUPTED:
            _fail("interrupted", EXIT_INTERRUPTED)
        sys.exit(code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except OSError as exc:
        _fail(f"cannot write to standard output: {_os_reason(exc)}", EXIT_USAGE)
    sys.exit(0)
