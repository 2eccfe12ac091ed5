"""What the commands print for people: warnings and progress on stderr, and tables on a terminal."""

from __future__ import annotations

import sys
from typing import IO

__all__ = ["print_table", "progress", "warn"]


def warn(message: str) -> None:
    """A warning on stderr, one line."""
    sys.stderr.write(f"warning: {message}\n")


def progress(message: str) -> None:
    """Training progress on stderr; warnings in red (plain where NO_COLOR is set or stderr is not a terminal)."""
    if message.startswith("warning:"):
        from rich.console import Console

        Console(stderr=True, highlight=False).print(message, style="bold red", markup=False)
    else:
        sys.stderr.write(message + "\n")


def print_table(rows: list[tuple[str, ...]], stream: IO[str] | None = None) -> None:
    """Rows as an aligned table that fits 100 columns (`metrics.text_table`), on stdout unless `stream`."""
    from griefguard.metrics import text_table

    (stream or sys.stdout).write(text_table(rows))
