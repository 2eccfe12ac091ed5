"""Format scored replies as JSON Lines, CSV, TSV or a readable terminal table, one record at a time."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

__all__ = ["CORE_FIELDS", "make_writer", "output_row", "jsonl_line"]

CORE_FIELDS = ("file", "line", "score", "label", "flagged", "text")
EXPLAIN_FIELDS = ("reasons", "sentence", "sentence_score")


def output_row(
    source: str,
    line: int,
    text: str,
    score: float,
    threshold: float,
    fields: dict[str, Any] | None = None,
    explanation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One output record: our fields first, then the input's other fields (renamed `input_X` if they clash)."""
    flagged = score >= threshold
    row: dict[str, Any] = {
        "file": source,
        "line": line,
        "score": round(score, 6),
        "label": "critical" if flagged else "supportive",
        "flagged": flagged,
        "text": text,
    }
    if explanation is not None:
        row.update(explanation)
    for key, value in (fields or {}).items():
        row[f"input_{key}" if key in row else key] = value
    return row


_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder, not one per row as json.dumps(ensure_ascii=False) makes


def jsonl_line(row: dict[str, Any]) -> str:
    """A row as one line of JSON Lines (newline included)."""
    return _JSON.encode(row) + "\n"


class JsonlWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(jsonl_line(row))


class DelimitedWriter:
    """CSV or TSV. Columns are fixed by the first row plus the known input headers; later extra fields are dropped."""

    def __init__(self, stream: IO[str], delimiter: str, extra_columns: list[str], explain: bool) -> None:
        self.writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        self.columns: list[str] | None = None
        self.extra = extra_columns
        self.explain = explain
        self.dropped: set[str] = set()

    def write(self, row: dict[str, Any]) -> None:
        if self.columns is None:
            columns = list(CORE_FIELDS) + (list(EXPLAIN_FIELDS) if self.explain else [])
            for key in [*self.extra, *row]:
                if key not in columns:
                    columns.append(key)
            self.columns = columns
            self.writer.writerow(columns)
        self.dropped.update(k for k in row if k not in self.columns)
        self.writer.writerow([_cell(row.get(c)) for c in self.columns])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(f"{t} ({w:+.2f})" if isinstance(t, str) else str(t) for t, w in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class TableWriter:
    """Aligned, streaming lines for people: score, label, where, and the reply (shortened to the terminal width)."""

    def __init__(self, stream: IO[str], width: int = 100, color: bool = False) -> None:
        self.stream = stream
        self.width = max(60, width)
        self.color = color
        self.header_written = False

    def write(self, row: dict[str, Any]) -> None:
        if not self.header_written:
            self.stream.write(f"{'score':>6}  {'label':<10}  {'where':<18}  reply\n")
            self.header_written = True
        where = f"{_short(row['file'], 12)}:{row['line']}"
        room = self.width - 42
        text = " ".join(str(row["text"]).split())
        if len(text) > room:
            text = text[: room - 1] + "…"
        label = row["label"]
        label = f"\x1b[1;31m{label:<10}\x1b[0m" if self.color and row["flagged"] else f"{label:<10}"
        self.stream.write(f"{row['score']:>6.3f}  {label}  {where:<18}  {text}\n")
        if "reasons" in row:
            reasons = ", ".join(f"{t} {w:+.2f}" for t, w in row["reasons"]) or "-"
            self.stream.write(f"{'':>6}  {'':<10}  {'':<18}  why: {reasons}\n")
            if row.get("sentence"):
                self.stream.write(
                    f"{'':>6}  {'':<10}  {'':<18}  worst sentence ({row['sentence_score']:.3f}): {row['sentence']}\n"
                )


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]


def make_writer(
    fmt: str, stream: IO[str], *, extra_columns: list[str], explain: bool, width: int = 100, color: bool = False
) -> JsonlWriter | DelimitedWriter | TableWriter:
    """The writer for an output format name."""
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt in ("csv", "tsv"):
        return DelimitedWriter(stream, "," if fmt == "csv" else "\t", extra_columns, explain)
    if fmt == "table":
        return TableWriter(stream, width=width, color=color)
    raise ValueError(f"unknown output format {fmt!r}")
