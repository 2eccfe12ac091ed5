"""Train the griefguard model: validate the data, select by cross-validation, evaluate on the test file, save.

    python train.py                                    # data/train.csv + data/test.csv -> models/
    python train.py --extra ours.csv --model out/m.joblib

Exit codes: 0 trained and saved; 2 bad data, bad options or an unwritable output path (nothing is written).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from griefguard.cli import fail
from griefguard.errors import EXIT_INTERRUPTED, GriefguardError
from griefguard.metrics import metrics_table

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
err = Console(stderr=True)


@app.command()
def main(
    train: Annotated[Path, typer.Option(help="Labeled training CSV.")] = Path("data/train.csv"),
    extra: Annotated[
        list[Path] | None, typer.Option(help="More labeled training CSVs, added to --train (repeatable).")
    ] = None,
    test: Annotated[Path, typer.Option(help="Labeled test CSV, scored once at the end.")] = Path("data/test.csv"),
    no_test: Annotated[bool, typer.Option("--no-test", help="Train without a test file.")] = False,
    model: Annotated[
        Path,
        typer.Option(
            "--model", "-m", help="Where to save the model; its card (.json, MODEL_CARD.md) and pictures go beside it."
        ),
    ] = Path("models/griefguard.joblib"),
    text_column: Annotated[str, typer.Option(help="Column holding the reply text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column holding the label: critical or supportive.")] = "label",
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="random_state for the folds and the solver.")] = 0,
    no_search: Annotated[
        bool, typer.Option("--no-search", help="Skip model selection; use the default parameters.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress lines or tables; only errors and paths.")
    ] = False,
) -> None:
    """Train, evaluate and save the TF-IDF + logistic-regression model that `griefguard classify` loads."""
    from griefguard.training import ModelParams, check_writable, save_outputs
    from griefguard.training import train as run_training

    try:
        check_writable(model)
    except OSError as exc:
        fail(f"cannot write the model to {model}: {exc.strerror or exc}")
    progress = None if quiet else (lambda msg: err.print(msg, highlight=False, soft_wrap=True))
    test_path = None if no_test else test
    try:
        result = run_training(
            [train, *(extra or [])],
            test_path,
            text_column=text_column,
            label_column=label_column,
            folds=folds,
            random_state=seed,
            search=not no_search,
            params=ModelParams(),
            progress=progress,
        )
        written = save_outputs(result, model)
    except GriefguardError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(f"cannot write the model to {model}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None

    metrics = result.card["metrics"]
    named = {"cross-validation": metrics["cross_validation"]}
    if "test" in metrics:
        named["test"] = metrics["test"]
    if not quiet:
        head, *rows = metrics_table(named)
        table = Table(*head, title=f"threshold {result.card['threshold']:.4f}")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        err.print(f"trained in {result.card['training_seconds']} s")
    for path in written:
        print(path)


if __name__ == "__main__":
    sys.exit(app())
