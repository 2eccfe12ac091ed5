"""Rows of CSV, TSV and JSON Lines text, one at a time, each with the line it starts on: the one parser behind
`reading` (replies to score, where a bad row is skipped and counted) and `dataset` (labeled data, where a bad row
is an error). A row that cannot be read comes as a `BadRow` naming why; what to do with it is the caller's call.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["BadRow", "csv_rows", "describe_json_error", "json_kind", "jsonl_rows"]

csv.field_size_limit(1 << 24)  # replies can be long; the default 128 KiB limit would reject a long statement


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be read, and why (one phrase, no file name: the caller adds it)."""

    line: int
    reason: str


def csv_rows(
    lines: Iterable[str], delimiter: str = ",", on_header: Callable[[list[str]], list[str]] | None = None
) -> Iterator[tuple[int, dict[str, str]] | BadRow]:
    """(line, {column: cell}) per record of CSV text given as lines with their endings; blank records are left
    out. `on_header` sees (and may check or clean) the header row first. A record with the wrong number of
    fields, a quote that is never closed (which would swallow the rest of the file into one field) or text the
    CSV parser refuses comes as a BadRow; after a parser error the rest of the text cannot be read."""
    raw: list[str] = []  # the physical lines of the record being read

    def tracked() -> Iterator[str]:
        for line in lines:
            raw.append(line)
            yield line

    reader = csv.reader(tracked(), delimiter=delimiter)
    header: list[str] | None = None
    start = 1
    try:
        for row in reader:
            record, raw[:] = "".join(raw), []
            if header is None:
                header = on_header(row) if on_header is not None else row
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if record.count('"') % 2 and record.count("\n") > 1:
                yield BadRow(
                    line,
                    f"unterminated quote: the quoted field opened on line {line} is never closed, so the "
                    f"{start - line - 1} line(s) after it were not read; fix the quoting",
                )
                continue
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield BadRow(line, f"expected {len(header)} fields, found {len(row)} (check the quoting)")
                continue
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        yield BadRow(start, f"unparseable CSV, the rest of the file cannot be read ({exc})")


def jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
    """(line, object) per non-blank line of JSON Lines text; a line that is not JSON, or not a JSON object, comes
    as a BadRow."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRow(number, f"malformed JSON: {describe_json_error(exc)}")
            continue
        if not isinstance(obj, dict):
            yield BadRow(number, f"not a JSON object but {json_kind(obj)}")
            continue
        yield number, obj


def describe_json_error(exc: json.JSONDecodeError) -> str:
    """A JSON parse error as one readable phrase ("invalid control character at column 21")."""
    message = exc.msg[: -len(" at")] if exc.msg.endswith(" at") else exc.msg
    return f"{message[:1].lower()}{message[1:]} at column {exc.colno}"


def json_kind(value: object) -> str:
    """What a JSON value is, in words ("a number", "null", "an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string"
