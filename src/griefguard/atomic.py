"""Write files all-or-nothing: into a temporary file beside the target, renamed over it only on success.

A failed or interrupted write leaves the previous file (or no file) in place, never a partial one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_writer", "temporary_beside"]


def temporary_beside(target: Path) -> Path:
    """Create an empty temporary file in `target`'s folder (same filesystem, so the final rename is atomic).

    Raises OSError when the folder does not exist or cannot be written.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_writer(target: str | Path, mode: str = "w", **open_kwargs: object) -> Iterator[IO]:
    """Open a temporary file for writing; on clean exit rename it to `target`, on any exception delete it."""
    target = Path(target)
    tmp = temporary_beside(target)
    try:
        with open(tmp, mode, **open_kwargs) as handle:  # type: ignore[call-overload]
            yield handle
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
