"""Errors that griefguard reports to users as one clear line, each with its documented exit code."""

from __future__ import annotations

__all__ = [
    "EXIT_FLAGGED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "DataError",
    "GriefguardError",
    "InputError",
    "Interrupted",
    "ModelError",
    "OutputError",
]

EXIT_FLAGGED = 1  # `classify --fail-on-flag` found something to flag
EXIT_USAGE = 2  # bad arguments, unreadable input, bad data or a bad model file
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT) or SIGTERM


class GriefguardError(Exception):
    """A problem the user can fix; its message is shown as-is, without a traceback."""

    exit_code = EXIT_USAGE


class InputError(GriefguardError):
    """An input file or stream that cannot be read as replies."""


class DataError(GriefguardError):
    """A labeled data file that fails validation (named with file and line)."""


class OutputError(GriefguardError):
    """An output that cannot be written: a missing folder, a directory, no permission, a full disk."""


class ModelError(GriefguardError):
    """A model file that is missing, corrupt, or not a griefguard model this version can read."""


class Interrupted(GriefguardError):
    """Ctrl-C (SIGINT) or SIGTERM: the run stopped; the message says what was left untouched."""

    exit_code = EXIT_INTERRUPTED
