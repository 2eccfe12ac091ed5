"""Every option of the `griefguard` commands, declared once as a Typer `Annotated` alias: first those several
commands share, then each command's own; the commands themselves are in `cli`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "AccessLogOption",
    "AsJsonOption",
    "BadLines",
    "BadLinesOption",
    "DaskOption",
    "DataOption",
    "DecisionsOption",
    "ErrorsOption",
    "ExplainOption",
    "ExtraOption",
    "FailOnFlagOption",
    "FilesArgument",
    "FoldsOption",
    "FormatOption",
    "HostOption",
    "InputFormat",
    "InputFormatOption",
    "JobsOption",
    "LabelColumnOption",
    "MaxBatchOption",
    "MaxBytesOption",
    "MaxConnectionsOption",
    "MetricsOutputOption",
    "ModelOption",
    "ModelOutputOption",
    "NoSearchOption",
    "NoTestOption",
    "OnlyFlaggedOption",
    "OutputFormat",
    "OutputOption",
    "ParentColumnOption",
    "PortOption",
    "PostColumnOption",
    "QuietOption",
    "RealOption",
    "ReplaceOutputOption",
    "ReviewFilesOption",
    "ReviewHostOption",
    "ReviewPortOption",
    "SearchCharsOption",
    "SeedOption",
    "SweepOption",
    "TargetPrecisionOption",
    "TestOption",
    "TextColumnOption",
    "ThreadsOption",
    "ThresholdOption",
    "TokenOption",
    "TrainOption",
    "TrainQuietOption",
    "WholeFileOption",
    "WorkersOption",
    "flag",
]


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


def flag(*names: str, help: str) -> typer.models.OptionInfo:
    """An on/off option, shown in --help without a `<bool>` placeholder."""
    return typer.Option(*names, help=help, metavar="")


FilesArgument = Annotated[
    list[str], typer.Argument(help="Files of replies; - reads standard input.", show_default=False)
]
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
    InputFormat,
    typer.Option("--input-format", help="auto: by extension (.csv .tsv .jsonl .ndjson .json), else one reply a line."),
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


# -- classify --------------------------------------------------------------------------------------------

OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write results to this file (atomically), not stdout.")
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="auto: a table on a terminal, else jsonl (or by --output's extension)."),
]
WholeFileOption = Annotated[bool, flag("--whole-file", help="Each file is one reply (not one reply per line).")]
OnlyFlaggedOption = Annotated[bool, flag("--only-flagged", help="Output only the flagged replies.")]
ExplainOption = Annotated[
    bool, flag("--explain", help="Add the terms behind each score and the most critical sentence.")
]
FailOnFlagOption = Annotated[bool, flag("--fail-on-flag", help="Exit 1 if any reply is flagged (pre-publish hooks).")]
JobsOption = Annotated[int, typer.Option("--jobs", "-j", min=1, max=64, help="Worker processes for large inputs.")]
BadLinesOption = Annotated[
    BadLines,
    typer.Option("--bad-lines", help="On a record that cannot be read (bad JSON, empty text): skip it, or stop."),
]
QuietOption = Annotated[
    bool, flag("--quiet", "-q", help="No summary or warnings; with --fail-on-flag, no records either.")
]
ReplaceOutputOption = Annotated[
    bool, flag("--replace-output", help="With --dask: replace an existing, non-empty output folder.")
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Score on a Dask cluster: a scheduler address, or 'local'. Needs --output (a folder).",
        show_default=False,
    ),
]


# -- review ----------------------------------------------------------------------------------------------

ReviewPortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: a free one).")]
ReviewHostOption = Annotated[str, typer.Option("--host", help="Address to listen on; any but 127.0.0.1 needs --token.")]


# -- info and evaluate -----------------------------------------------------------------------------------

MetricsOutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Also save the metrics as JSON here.")]
AsJsonOption = Annotated[bool, flag("--json", help="Print the whole model card as JSON.")]
ErrorsOption = Annotated[
    bool, flag("--errors", help="Also list every misclassified row (text, label, prediction, score).")
]
SweepOption = Annotated[bool, flag("--sweep", help="Precision, recall and share flagged at thresholds 0.05 to 0.95.")]
TargetPrecisionOption = Annotated[
    float,
    typer.Option("--target-precision", min=0.0, max=1.0, help="With --sweep: find the lowest threshold reaching it."),
]


# -- train -----------------------------------------------------------------------------------------------

DataOption = Annotated[
    Path, typer.Option("--data", help="Data folder: train.csv, test.csv, SET/train.csv, SET/test.csv, real/.")
]
TrainOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--train", metavar="FILE", help="Train on these labeled files instead of the data folder's (repeatable)."
    ),
]
ExtraOption = Annotated[
    list[Path] | None,
    typer.Option("--extra", metavar="FILE", help="More labeled training files, added (repeatable)."),
]
TestOption = Annotated[Path | None, typer.Option("--test", help="The test file, scored once at the end.")]
NoTestOption = Annotated[bool, flag("--no-test", help="Train without test files.")]
RealOption = Annotated[
    Path | None, typer.Option("--real", help="Folder of real comments (default: the data folder's real/).")
]
ModelOutputOption = Annotated[
    Path, typer.Option("--model", "-m", help="Where to save the model; its card and pictures go beside it.")
]
FoldsOption = Annotated[int, typer.Option("--folds", min=2, max=20, help="Cross-validation folds.")]
SeedOption = Annotated[int, typer.Option("--seed", help="random_state for the folds and the solver.")]
NoSearchOption = Annotated[bool, flag("--no-search", help="Skip model selection; use the default parameters.")]
SearchCharsOption = Annotated[
    bool, flag("--search-chars", help="Also try character n-grams (about 3x slower to train).")
]
TrainQuietOption = Annotated[bool, flag("--quiet", "-q", help="No progress or tables; only errors and paths.")]


# -- serve -----------------------------------------------------------------------------------------------

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes.")]
ThreadsOption = Annotated[int, typer.Option("--threads", min=1, max=256, help="Scoring threads per process.")]
MaxBatchOption = Annotated[int, typer.Option("--max-batch", min=1, help="Most replies in one request.")]
MaxBytesOption = Annotated[int, typer.Option("--max-bytes", min=1024, help="Largest request body, in bytes.")]
AccessLogOption = Annotated[
    bool, flag("--access-log/--no-access-log", help="One log line per request, with its latency.")
]
MaxConnectionsOption = Annotated[
    int, typer.Option("--max-connections", min=1, help="Connections at once per process; more get 503.")
]
ReviewFilesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--review", metavar="FILE", help="Also serve the review page of these replies at /review/ (repeatable)."
    ),
]
