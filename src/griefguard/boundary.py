"""The `griefguard` command's one error boundary: every problem becomes one line on stderr and an exit code.

0 success; 1 `classify --fail-on-flag` flagged something; 2 usage, input, data, model or output error; 130
interrupted (Ctrl-C or SIGTERM). Usage errors, GriefguardError, OSError (disk full, a directory, no permission),
a reader that goes away (`| head`), interrupts and SIGTERM are all caught here; no traceback reaches the user.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Any, NoReturn

import typer

from griefguard.errors import EXIT_INTERRUPTED, EXIT_USAGE, GriefguardError, os_reason

__all__ = ["run", "stop_quietly"]


def _fail(message: str, code: int) -> NoReturn:
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass
    sys.exit(code)


def stop_quietly() -> None:
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


def run(app: Any, argv: list[str] | None = None) -> NoReturn:
    """Run the Typer app and exit with its documented code, turning every failure into one line."""
    click_error = _usage_error_type()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = app(args=argv, prog_name="griefguard", standalone_mode=False)
    except click_error as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        _fail(f"{message}{hint}", getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE)
    except GriefguardError as exc:
        _fail(" ".join(str(exc).split()), exc.exit_code)
    except (BrokenPipeError, ConnectionResetError):
        stop_quietly()
        sys.exit(0)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            stop_quietly()
            sys.exit(0)
        name = f" {exc.filename}" if exc.filename else ""
        _fail(f"cannot read or write{name}: {os_reason(exc)}", EXIT_USAGE)
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
        stop_quietly()
    except OSError as exc:
        _fail(f"cannot write to standard output: {os_reason(exc)}", EXIT_USAGE)
    sys.exit(0)
