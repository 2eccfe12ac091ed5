"""Format scored replies as JSON Lines, CSV, TSV or a readable table, one record at a time."""

from __future__ import annotations

import csv
import json
import textwrap
from typing import IO, Any

from griefguard.scorer import EXPLAIN_FIELDS

__all__ = ["CORE_FIELDS", "THREAD_FIELDS", "jsonl_line", "make_writer", "output_row"]

CORE_FIELDS = ("file", "line", "score", "label", "flagged", "coverage", "probabilities", "text")
THREAD_FIELDS = ("parent_label", "score_alone")  # a reply read under its parent comment


def output_row(
    source: str,
    line: int,
    text: str,
    record: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One output record: where the reply came from, its prediction record (`Prediction.record()`: score, label,
    flagged, coverage, probabilities, then the thread and explanation fields it has), then the input's other
    fields (renamed `input_X` if they clash)."""
    row: dict[str, Any] = {"file": source, "line": line}
    row.update((k, record[k]) for k in CORE_FIELDS[2:7])
    row["text"] = text
    row.update((k, v) for k, v in record.items() if k not in row)
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


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    """Nested probabilities become p_<label> columns."""
    out = {}
    for key, value in row.items():
        if key == "probabilities" and isinstance(value, dict):
            out.update({f"p_{label}": p for label, p in value.items()})
        else:
            out[key] = value
    return out


class DelimitedWriter:
    """CSV or TSV. Columns are fixed by the first row plus the known input headers; later extra fields are dropped."""

    def __init__(
        self, stream: IO[str], delimiter: str, extra_columns: list[str], explain: bool, thread: bool = False
    ) -> None:
        self.writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        self.columns: list[str] | None = None
        self.extra = extra_columns
        self.explain = explain
        self.thread = thread
        self.dropped: set[str] = set()

    def write(self, row: dict[str, Any]) -> None:
        flat = _flatten(row)
        if self.columns is None:
            columns = [c for c in flat if c in CORE_FIELDS[:6] or c.startswith("p_")]
            columns.append("text")
            if self.thread:
                columns += list(THREAD_FIELDS)
            if self.explain:
                columns += list(EXPLAIN_FIELDS)
            for key in [*self.extra, *flat]:
                if key not in columns:
                    columns.append(key)
            self.columns = columns
            self.writer.writerow(columns)
        self.dropped.update(k for k in flat if k not in self.columns)
        self.writer.writerow([_cell(flat.get(c)) for c in self.columns])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(
            f"{t[0]} ({t[1]:+.2f})" if isinstance(t, list | tuple) and len(t) > 1 else str(t) for t in value
        )
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class TableWriter:
    """Aligned, streaming lines for people: score, label, coverage, where, and the reply.

    On a terminal (`width` given) the reply is shortened to fit; written to a file (`width=None`) it is kept
    whole. The `where` column is as wide as the longest input name needs (on a terminal, up to a third of it).
    """

    def __init__(self, stream: IO[str], width: int | None = 100, color: bool = False, where_width: int = 18) -> None:
        self.stream = stream
        self.width = None if width is None else max(60, width)
        self.color = color
        self.where_width = max(5, where_width if self.width is None else min(where_width, max(12, self.width // 3)))
        self.header_written = False

    def _where(self, row: dict[str, Any]) -> str:
        where = f"{row['file']}:{row['line']}"
        if self.width is not None and len(where) > self.where_width:
            where = "…" + where[-(self.where_width - 1) :]
        return where

    def write(self, row: dict[str, Any]) -> None:
        w = self.where_width
        pad = " " * (6 + 2 + 10 + 2 + 5 + 2 + w + 2)
        if not self.header_written:
            self.stream.write(f"{'score':>6}  {'label':<10}  {'known':>5}  {'where':<{w}}  reply\n")
            self.header_written = True
        text = " ".join(str(row["text"]).split())
        if self.width is not None:
            room = max(10, self.width - len(pad))
            if len(text) > room:
                text = text[: room - 1] + "…"
        label = f"{row['label']:<10}"
        if row["flagged"]:
            label = f"\x1b[1;31m{label}\x1b[0m" if self.color else label
        flag = "!" if row["flagged"] else " "
        known = f"{round(100 * row['coverage']):>4}%"
        self.stream.write(f"{row['score']:>5.3f}{flag}  {label}  {known}  {self._where(row):<{w}}  {text}\n")
        if row.get("parent_label") is not None:
            effect = f", {row['parent_effect']:+.1f} in log-odds" if row.get("parent_effect") is not None else ""
            self._note(
                pad, f"read under a {row['parent_label']} comment{effect} (alone it scores {row['score_alone']:.3f})"
            )
        if "reasons" in row:
            reasons = ", ".join(f"{t} {v:+.2f}" for t, v in row["reasons"]) or "-"
            self._note(pad, f"why ({row.get('explained') or 'reply'}): {reasons}")
            if row.get("against"):
                self._note(pad, "against: " + ", ".join(f"{t} {v:+.2f} ({lab})" for t, v, lab in row["against"]))
            if row.get("sentence"):
                sentence = " ".join(str(row["sentence"]).split())
                self._note(pad, f"most critical sentence ({row['sentence_score']:.3f}): {sentence}")

    def _note(self, pad: str, text: str) -> None:
        """A line under the reply, indented to the reply's column; wrapped to the terminal's width on one."""
        if self.width is None:
            self.stream.write(f"{pad}{text}\n")
            return
        indent = pad if self.width - len(pad) >= 30 else "    "
        self.stream.write(textwrap.fill(text, self.width, initial_indent=indent, subsequent_indent=indent) + "\n")


def make_writer(
    fmt: str,
    stream: IO[str],
    *,
    extra_columns: list[str],
    explain: bool,
    width: int | None = 100,
    color: bool = False,
    where_width: int = 18,
    thread: bool = False,
) -> JsonlWriter | DelimitedWriter | TableWriter:
    """The writer for an output format name (`thread`: the input has parent comments, so CSV and TSV get the
    thread columns)."""
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt in ("csv", "tsv"):
        return DelimitedWriter(stream, "," if fmt == "csv" else "\t", extra_columns, explain, thread)
    if fmt == "table":
        return TableWriter(stream, width=width, color=color, where_width=where_width)
    raise ValueError(f"unknown output format {fmt!r}")
