"""The `griefguard` command: classify, review, evaluate, info, check-data, train and serve.

Each command parses its options and calls one library function; this module only prints what it returns. The
error boundary (one line and a documented exit code for every failure) is `boundary.run`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from griefguard import __version__
from griefguard import cli_options as opt
from griefguard.console import print_table, progress, warn
from griefguard.errors import EXIT_FLAGGED, EXIT_USAGE, GriefguardError, InputError, Interrupted, OutputError, os_reason

if TYPE_CHECKING:
    from griefguard.classify import ClassifyOptions

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's paragraphs are reflowed to the terminal, not broken where typed
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
        bool, typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Print the version.")
    ] = False,
) -> None:
    """Flag critical replies to posts about a loss; let supportive and neutral ones through."""


def _missing_extra(what: str, needs: str, extra: str, exc: ImportError) -> GriefguardError:
    return GriefguardError(f'{what} needs {needs} ({exc.name} is missing): pip install "griefguard[{extra}]"')


def _input_format(value: opt.InputFormat) -> str | None:
    return None if value is opt.InputFormat.auto else value.value


@app.command("classify")
def classify_cli(
    files: opt.FilesArgument,
    output: opt.OutputOption = None,
    fmt: opt.FormatOption = opt.OutputFormat.auto,
    whole_file: opt.WholeFileOption = False,
    text_column: opt.TextColumnOption = "text",
    parent_column: opt.ParentColumnOption = "parent",
    post_column: opt.PostColumnOption = "post",
    input_format: opt.InputFormatOption = opt.InputFormat.auto,
    only_flagged: opt.OnlyFlaggedOption = False,
    threshold: opt.ThresholdOption = None,
    explain: opt.ExplainOption = False,
    model: opt.ModelOption = None,
    fail_on_flag: opt.FailOnFlagOption = False,
    jobs: opt.JobsOption = 1,
    bad_lines: opt.BadLinesOption = opt.BadLines.skip,
    quiet: opt.QuietOption = False,
    replace_output: opt.ReplaceOutputOption = False,
    dask: opt.DaskOption = None,
) -> None:
    """Score replies and flag the critical ones.

    Text files hold one reply per non-empty line (or one per file with --whole-file); CSV, TSV and JSON Lines
    files are read by the --text-column, and their other fields are kept in the output. A summary (read,
    scored, flagged, skipped) goes to stderr.
    """
    from griefguard.classify import ClassifyOptions, classify_files
    from griefguard.formats import output_format
    from griefguard.scorer import load_scorer

    if fmt is opt.OutputFormat.auto:
        out_format = output_format(output) if output is not None else "table" if sys.stdout.isatty() else "jsonl"
    else:
        out_format = fmt.value
    options = ClassifyOptions(
        output=output,
        output_format=out_format,
        input_format=_input_format(input_format),
        whole_file=whole_file,
        text_column=text_column,
        parent_column=parent_column,
        post_column=post_column,
        threshold=threshold,
        only_flagged=only_flagged,
        explain=explain,
        jobs=jobs,
        stop_on_skip=bad_lines is opt.BadLines.stop,
        discard=quiet and fail_on_flag,  # a pre-publish hook wants the exit code, not the reply echoed back
        progress=not quiet,
    )
    if dask is not None:
        _classify_on_dask(files, dask, fmt.value, options, model, quiet, replace_output)
        return
    summary, inputs = classify_files(files, load_scorer(model), options, warn=(lambda _: None) if quiet else warn)
    if not quiet:
        threaded = sum(i.threaded for i in inputs)
        sys.stderr.write(
            f"read {summary.read}, scored {summary.scored}, flagged {summary.flagged}, skipped {summary.skipped}"
            + (f"; {threaded} read under the comment they answer" if threaded else "")
            + (f"; wrote {output}" if output else "")
            + "\n"
        )
    if fail_on_flag and summary.flagged:
        raise typer.Exit(EXIT_FLAGGED)


def _classify_on_dask(
    files: list[str],
    scheduler: str,
    fmt: str,
    options: ClassifyOptions,
    model: Path | None,
    quiet: bool,
    replace_output: bool,
) -> None:
    """`classify --dask ADDRESS`: score on a cluster into a folder of partitions, then the summary line."""
    try:
        from griefguard.dask import classify_files, output_format_for
    except ImportError as exc:
        raise _missing_extra("--dask", "dask, distributed and pyarrow", "dask", exc) from None
    output = options.output
    if output is None:
        raise GriefguardError("--dask needs --output FOLDER (the scored partitions are written there)")
    try:
        counts = classify_files(
            files,
            output,
            scheduler=scheduler,
            output_format=output_format_for(output, fmt),
            text_column=options.text_column,
            input_format=options.input_format or "auto",
            model=model,
            threshold=options.threshold,
            only_flagged=options.only_flagged,
            replace_output=replace_output,
        )
    except InputError as exc:  # the library names its argument; the command names its option
        raise InputError(str(exc).replace("with text_column", "with --text-column")) from None
    if not quiet:
        sys.stderr.write(
            f"read {counts['read']}, scored {counts['scored']}, flagged {counts['flagged']}, "
            f"skipped {counts['read'] - counts['scored']}; wrote {output}\n"
        )


@app.command("review")
def review_cli(
    files: opt.FilesArgument,
    decisions: opt.DecisionsOption = None,
    port: opt.ReviewPortOption = 0,
    host: opt.ReviewHostOption = "127.0.0.1",
    token: opt.TokenOption = None,
    threshold: opt.ThresholdOption = None,
    model: opt.ModelOption = None,
    text_column: opt.TextColumnOption = "text",
    parent_column: opt.ParentColumnOption = "parent",
    post_column: opt.PostColumnOption = "post",
    input_format: opt.InputFormatOption = opt.InputFormat.auto,
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
        _input_format(input_format),
        threshold,
        token,
    )
    review_files(settings, host=host, port=port, model=model, warn=warn)


@app.command("info")
def info_cli(
    model: opt.ModelOption = None,
    as_json: opt.AsJsonOption = False,
) -> None:
    """Show the model card: version, training data, parameters, threshold and metrics."""
    from griefguard.info import describe
    from griefguard.scorer import load_scorer

    scorer = load_scorer(model)
    if as_json:
        sys.stdout.write(json.dumps(dict(scorer.card), indent=2, ensure_ascii=False) + "\n")
        return
    sys.stdout.write(describe(scorer))


@app.command("evaluate")
def evaluate_cli(
    path: Annotated[Path, typer.Argument(help="Labeled CSV or JSON Lines file with text and label columns.")],
    model: opt.ModelOption = None,
    threshold: opt.ThresholdOption = None,
    text_column: opt.TextColumnOption = "text",
    label_column: opt.LabelColumnOption = "label",
    output: opt.MetricsOutputOption = None,
    errors: opt.ErrorsOption = False,
    sweep: opt.SweepOption = False,
    target_precision: opt.TargetPrecisionOption = 0.9,
) -> None:
    """Score a labeled file and print ROC AUC, flag and label precision/recall/F1, and accuracy per kind.

    Labels are critical, supportive or neutral; a kind column (any values) gives per-kind figures. A file with a
    parent column is read as a thread. --sweep shows how a threshold trades precision for recall on your data.
    """
    from griefguard.atomic import check_output, write_text
    from griefguard.evaluation import (
        errors_report,
        evaluate_labeled,
        load_labeled_for,
        misclassified,
        sweep_report,
        threshold_sweep,
    )
    from griefguard.metrics import metrics_table
    from griefguard.scorer import load_scorer

    if output is not None:
        check_output(output)
    scorer = load_scorer(model)
    data = load_labeled_for(scorer, path, text_column, label_column)
    metrics = evaluate_labeled(scorer, data, threshold)
    if output is not None:
        write_text(output, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    print_table(metrics_table({str(path): metrics}))
    if sweep:
        sys.stdout.write(sweep_report(threshold_sweep(scorer, data, target_precision)))
    if errors:
        sys.stdout.write(errors_report(misclassified(scorer, data, threshold), len(data)))


@app.command("check-data")
def check_data_cli(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Labeled files, or data folders (a folder means every CSV in it).", show_default=False),
    ] = None,
    text_column: opt.TextColumnOption = "text",
    label_column: opt.LabelColumnOption = "label",
) -> None:
    """Validate labeled files (labels, kinds, duplicates and near-duplicates within and across files) and print
    their counts per label, kind and context. Exits 2 listing every problem."""
    from griefguard.dataset import check_files

    rows, problems = check_files(paths or [Path("data")], text_column, label_column)
    print_table(rows)
    if problems:
        for p in problems:
            sys.stderr.write(f"error: {p}\n")
        sys.stderr.write(f"{len(problems)} problems found\n")
        raise typer.Exit(EXIT_USAGE)
    sys.stderr.write("OK: every file passes every check\n")


@app.command("train")
def train_cli(
    data: opt.DataOption = Path("data"),
    train: opt.TrainOption = None,
    extra: opt.ExtraOption = None,
    test: opt.TestOption = None,
    no_test: opt.NoTestOption = False,
    real: opt.RealOption = None,
    model: opt.ModelOutputOption = Path("models/griefguard.npz"),
    text_column: opt.TextColumnOption = "text",
    label_column: opt.LabelColumnOption = "label",
    folds: opt.FoldsOption = 5,
    seed: opt.SeedOption = 0,
    no_search: opt.NoSearchOption = False,
    search_chars: opt.SearchCharsOption = False,
    quiet: opt.TrainQuietOption = False,
) -> None:
    """Train, evaluate and save the TF-IDF + logistic-regression model that `griefguard classify` loads.

    Needs the training extra: pip install "griefguard\\[train]".
    """
    try:
        from griefguard.training import load_corpus, save_outputs
        from griefguard.training import train as run_training
    except ImportError as exc:
        raise _missing_extra("training", "scikit-learn and scipy", "train", exc) from None
    from griefguard.atomic import check_output
    from griefguard.training.card import shortcut_table, summary_table

    check_output(model, "the model ", create_folder=True)  # now, not after minutes of training
    say = None if quiet else progress
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
        raise OutputError(f"cannot write the model to {model}: {os_reason(exc)}") from None
    if not quiet:
        print_table(summary_table(result.card), sys.stderr)
        print_table(shortcut_table(result.card), sys.stderr)
        sys.stderr.write(f"trained in {result.card['training_seconds']} s\n")
    for path in written:
        sys.stdout.write(f"{path}\n")


@app.command("serve")
def serve_cli(
    host: opt.HostOption = "127.0.0.1",
    port: opt.PortOption = 8000,
    model: opt.ModelOption = None,
    workers: opt.WorkersOption = 1,
    threads: opt.ThreadsOption = 4,
    max_batch: opt.MaxBatchOption = 1000,
    max_bytes: opt.MaxBytesOption = 4_000_000,
    access_log: opt.AccessLogOption = True,
    max_connections: opt.MaxConnectionsOption = 256,
    review: opt.ReviewFilesOption = None,
    decisions: opt.DecisionsOption = None,
    token: opt.TokenOption = None,
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


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the `griefguard` script and `python -m griefguard`."""
    from griefguard.boundary import run

    run(app, argv)
