"""Write files all-or-nothing: into a temporary file beside the target, renamed over it only on success.

A failed or interrupted write leaves the previous file (or no file) in place, never a partial one. Atomic
replacement is for regular files only: a symlink is followed (the link stays, its target gets the output), and a
device, a named pipe or a socket is written through as it is, never replaced by an ordinary file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from griefguard.errors import OutputError, os_reason

__all__ = [
    "atomic_writer",
    "check_output",
    "check_writable",
    "current_umask",
    "is_special",
    "sync_folder",
    "temporary_beside",
]


def temporary_beside(target: Path) -> Path:
    """Create an empty temporary file in `target`'s folder (same filesystem, so the final rename is atomic).

    Raises OSError when the folder does not exist or cannot be written.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _final(target: Path) -> Path:
    """The path a write lands on: a symlink's target (resolved through every link), else the path itself."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def is_special(target: Path) -> bool:
    """A device, named pipe or socket (after following symlinks): written through, never replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_writable(target: str | Path, create_folder: bool = False) -> None:
    """Raise OSError now, before any work, if `target` cannot be written: its folder is missing (or, with
    `create_folder`, cannot be created), it is a directory, or there is no permission. The one check every
    command that writes a file makes."""
    path = _final(Path(target))
    if path.is_dir():
        raise IsADirectoryError(21, "it is a directory", str(target))
    if is_special(path):
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "permission denied", str(target))
        return
    if create_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FileNotFoundError(2, f"the folder {path.parent} does not exist", str(target))
    temporary_beside(path).unlink()


def check_output(target: str | Path, what: str = "", create_folder: bool = False) -> None:
    """`check_writable` for a command: OutputError with one line naming the file and the reason ("cannot write the
    model to m.npz: permission denied"); `what` names the output ("the model ")."""
    try:
        check_writable(target, create_folder)
    except FileNotFoundError as exc:
        raise OutputError(f"cannot write {what}to {target}: {exc.strerror}") from None
    except OSError as exc:
        raise OutputError(f"cannot write {what}to {target}: {os_reason(exc)}") from None


def write_text(target: str | Path, text: str, what: str = "") -> None:
    """Write a small text file all-or-nothing; OutputError with one line when it cannot be written."""
    try:
        with atomic_writer(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {what}to {target}: {os_reason(exc)}") from None


@contextmanager
def atomic_writer(target: str | Path, mode: str = "w", durable: bool = False, **open_kwargs: object) -> Iterator[IO]:
    """Open a temporary file for writing; on clean exit rename it to `target`, on any exception delete it.

    A symlink is followed (its target is replaced, the link stays); a device, pipe or socket is opened and
    written directly. With `durable`, the file and the rename are on disk (fsync) before this returns."""
    target = _final(Path(target))
    if is_special(target):
        with open(target, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
        return
    tmp = temporary_beside(target)
    try:
        with open(tmp, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
        if durable:
            sync_folder(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sync_folder(folder: Path) -> None:
    """Put a folder's entries (a new or renamed file in it) on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
