"""A moderator's decisions on replies, kept in a CSV file that `train --extra` and `evaluate` read as it is.

One row per reply (text, parent and post identify it): the label the moderator chose, what the model said
(label and score) and when. A new decision is appended and on disk (fsync) before `decide` returns, so a decision
the page shows as saved survives a crash or a power cut; changing or undoing a decision rewrites the file
atomically. The file is a complete CSV at every moment, so it can be read while the page runs, and opening it
again resumes where the moderator stopped. Rows the current queue does not hold are kept.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from griefguard.atomic import atomic_writer, sync_folder
from griefguard.errors import DataError, OutputError

__all__ = ["DECISION_COLUMNS", "Decision", "DecisionLog", "ReplyKey"]

DECISION_COLUMNS = ("text", "label", "parent", "post", "model_label", "model_score", "decided_at")

ReplyKey = tuple[str, str, str]  # (text, parent, post): what identifies a reply across sessions


@dataclass(frozen=True)
class Decision:
    """The label a moderator gave a reply, beside the model's label and score for it and the time (UTC)."""

    text: str
    label: str
    parent: str = ""
    post: str = ""
    model_label: str = ""
    model_score: float | None = None
    decided_at: str = ""

    @property
    def key(self) -> ReplyKey:
        return (self.text, self.parent, self.post)

    def row(self) -> list[str]:
        score = "" if self.model_score is None else f"{self.model_score:.6f}"
        return [self.text, self.label, self.parent, self.post, self.model_label, score, self.decided_at]


def _csv_line(row: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue().encode("utf-8")


def _score(value: str, where: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{where}: model_score {value!r} is not a number") from None


class DecisionLog:
    """The decisions file: read at start (resume), appended to at each new decision, rewritten on a change."""

    def __init__(self, path: str | Path, labels: Sequence[str]) -> None:
        self.path = Path(path)
        self.labels = tuple(labels)
        self._lock = threading.Lock()
        self._rows: dict[ReplyKey, Decision] = {}
        self._clean_end = True  # the file ends with a newline (else the next write rewrites it)
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except IsADirectoryError:
            raise DataError(f"{self.path}: is a directory, expected a decisions CSV file") from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read ({exc.strerror})") from None
        if b"\0" in raw[:8192]:
            raise DataError(f"{self.path}: is a binary file, not a decisions CSV file")
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"{self.path}: not valid UTF-8 (byte {exc.start}); not a decisions file") from None
        if not content.strip():
            return
        self._clean_end = content.endswith("\n")
        reader = csv.DictReader(io.StringIO(content, newline=""))
        missing = [c for c in ("text", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(
                f"{self.path}:1: not a decisions file: no {' or '.join(repr(m) for m in missing)} column "
                "(choose another file with --decisions)"
            )
        try:
            for row in reader:
                where = f"{self.path}:{reader.line_num}"
                label = (row.get("label") or "").strip()
                if label not in self.labels:
                    raise DataError(f"{where}: unknown label {label!r} (expected {', '.join(self.labels)})")
                decision = Decision(
                    text=row.get("text") or "",
                    label=label,
                    parent=row.get("parent") or "",
                    post=row.get("post") or "",
                    model_label=row.get("model_label") or "",
                    model_score=_score(row.get("model_score") or "", where),
                    decided_at=row.get("decided_at") or "",
                )
                self._rows[decision.key] = decision  # a later row for the same reply is the newer decision
        except csv.Error as exc:
            raise DataError(f"{self.path}:{reader.line_num}: not a readable CSV file ({exc})") from None

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: ReplyKey) -> Decision | None:
        return self._rows.get(key)

    def decisions(self) -> list[Decision]:
        """Every decision, oldest first."""
        with self._lock:
            return list(self._rows.values())

    def decide(
        self,
        key: ReplyKey,
        label: str | None,
        model_label: str = "",
        model_score: float | None = None,
    ) -> Decision | None:
        """Record the moderator's label for a reply (None takes a decision back); on disk when this returns.

        Raises OutputError (and keeps the previous state, in memory and on disk) when the file cannot be written."""
        if label is not None and label not in self.labels:
            raise ValueError(f"unknown label {label!r}")
        with self._lock:
            previous = self._rows.get(key)
            if label is None:
                if previous is None:
                    return None
                rows = {k: v for k, v in self._rows.items() if k != key}
                self._rewrite(rows)
                self._rows = rows
                return None
            now = datetime.now(UTC).isoformat(timespec="seconds")
            decision = Decision(key[0], label, key[1], key[2], model_label, model_score, now)
            if previous is None and self._clean_end:
                self._append(decision)
                self._rows[key] = decision
            else:  # a changed decision moves to the end, as the newest
                rows = {k: v for k, v in self._rows.items() if k != key}
                rows[key] = decision
                self._rewrite(rows)
                self._rows = rows
            return decision

    def _append(self, decision: Decision) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot save the decision to {self.path}: {exc.strerror or exc}") from None
        try:
            start = os.fstat(fd).st_size
            data = (b"" if start else _csv_line(DECISION_COLUMNS)) + _csv_line(decision.row())
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as exc:
                os.ftruncate(fd, start)  # never half a row: the file stays as it was
                raise OutputError(f"cannot save the decision to {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        if not start:
            sync_folder(self.path.parent)

    def _rewrite(self, rows: dict[ReplyKey, Decision]) -> None:
        try:
            with atomic_writer(self.path, "wb", durable=True) as handle:
                handle.write(_csv_line(DECISION_COLUMNS))
                for decision in rows.values():
                    handle.write(_csv_line(decision.row()))
        except OSError as exc:
            raise OutputError(f"cannot save the decision to {self.path}: {exc.strerror or exc}") from None
        self._clean_end = True
