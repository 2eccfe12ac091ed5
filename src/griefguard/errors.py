"""Errors that griefguard reports to users as one clear line, each with its documented exit code."""

from __future__ import annotations

import errno

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
    "os_reason",
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


_OS_REASONS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EISDIR: "it is a directory",
    errno.EACCES: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.EDQUOT: "disk quota exceeded",
}


def os_reason(exc: OSError) -> str:
    """Why an operating-system call failed, in a few plain words ("no space left on the device (disk full)")."""
    return _OS_REASONS.get(exc.errno or -1, exc.strerror or str(exc))
