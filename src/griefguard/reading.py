"""Read replies from text files, CSV, JSON Lines and standard input, one record at a time.

Every input is checked before any reply is read (missing, directory, unreadable, binary, empty, CSV without
the text column), so a bad file stops the run before output starts. While reading, invalid UTF-8 is
decoded with replacement characters and counted (the record is kept), and records that cannot be scored
(a malformed JSON line, an empty text cell) become counted, reported skips.

Threads: in CSV, TSV and JSON Lines, a `parent` field (the text of the comment a reply answers) and a `post`
field (the text of the post) are read with each reply. A thread export with `id` and `parent_id` fields, where a
reply's parent is another record of the same file in any order, is resolved within the file: a first pass
collects the ids that are answered, a second the texts of those records, and the third scores. Memory holds the
texts of the answered comments of one file at a time (never the whole file); standard input is spooled to a
temporary file for this. A `parent_id` not found in the file is read as a direct reply and counted.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from griefguard.errors import InputError
from griefguard.formats import format_of
from griefguard.tabular import BadRow, csv_rows, json_kind, jsonl_rows

__all__ = [
    "STDIN",
    "InputFile",
    "Record",
    "Skip",
    "input_format",
    "looks_like_csv_header",
    "open_inputs",
    "read_records",
    "replace_surrogates",
]

STDIN = "-"
_DELIMITERS = {"csv": ",", "tsv": "\t"}
_SNIFF_BYTES = 8192


@dataclass
class Record:
    """One reply to score; `fields` holds a CSV row's or JSON object's other fields, to carry into the output."""

    source: str
    line: int
    text: str
    fields: dict[str, Any] | None = None
    parent: str = ""  # the comment this reply answers ("" for none, or a direct reply to the post)
    post: str = ""


@dataclass
class Skip:
    """An input record that cannot be scored, with the reason (it is counted and reported, never silently lost)."""

    source: str
    line: int
    reason: str


@dataclass
class InputFile:
    """A checked input: its display name, format, and (for CSV/TSV) header; `bad_utf8_lines` counts repairs."""

    name: str
    path: Path | None  # None for standard input
    format: str
    header: list[str] = field(default_factory=list)
    bad_utf8_lines: int = 0
    bytes_read: int = 0
    header_warning: bool = False  # a text input whose first line looks like a CSV header
    missing_parents: int = 0  # records whose parent_id names no record of the file
    threaded: int = 0  # records read with a parent comment
    spooled: bool = False  # standard input copied to `path` (a temporary file, removed after reading)


def input_format(name: str, override: str | None = None) -> str:
    """The format of an input: the override if given, else by extension (`formats.EXTENSIONS`; else text)."""
    if override:
        return override
    fmt = format_of(name)
    return fmt if fmt in ("csv", "tsv", "jsonl") else "text"


def _open_binary(source: InputFile) -> IO[bytes]:
    if source.path is None:
        return sys.stdin.buffer
    return open(source.path, "rb")  # closed by read_records


def _decoded_lines(source: InputFile, stream: IO[bytes]) -> Iterator[str]:
    """Lines of a binary stream as text; undecodable bytes become U+FFFD and are counted per line."""
    for index, raw in enumerate(stream):
        source.bytes_read += len(raw)
        if index == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            source.bad_utf8_lines += 1
            yield raw.decode("utf-8", errors="replace")


def _check_path(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory, expected a file of replies")
    return path


def _check_header(source: InputFile, row: list[str], text_column: str) -> list[str]:
    header = [h.strip() for h in row]
    if text_column not in header:
        raise InputError(
            f"{source.name}: no {text_column!r} column; it has: {', '.join(header) or 'no columns'} "
            "(choose one with --text-column)"
        )
    return header


def _sniff(name: str, head: bytes) -> None:
    if not head.strip():
        raise InputError(f"{name}: empty input, no replies to score")
    if b"\x00" in head:
        raise InputError(f"{name}: looks like a binary file, not text (it contains NUL bytes)")


def open_inputs(
    names: list[str], format_override: str | None = None, text_column: str = "text", whole_file: bool = False
) -> list[InputFile]:
    """Check every input before reading any: exists, is a readable non-empty text file, has the text column."""
    if not names:
        raise InputError("no input files given (use - for standard input)")
    if names.count(STDIN) > 1:
        raise InputError("standard input (-) can be read only once")
    inputs = []
    for name in names:
        fmt = "text" if whole_file else input_format(name, format_override)
        if name == STDIN:
            # Look without consuming: peek() returns what is buffered (empty only at end of input).
            # The CSV header of standard input is checked when it is read.
            stdin = sys.stdin.buffer
            head = stdin.peek(_SNIFF_BYTES) if hasattr(stdin, "peek") else b"?"
            _sniff("<stdin>", head)
            if fmt in ("csv", "tsv", "jsonl") and b"parent_id" in head.split(b"\n", 1)[0]:
                source = _spool_stdin(fmt)  # a thread export is read in passes: it must be re-readable
                if fmt != "jsonl":
                    _read_header(source, text_column)
                inputs.append(source)
            else:
                inputs.append(InputFile(name="<stdin>", path=None, format=fmt))
            continue
        path = _check_path(name)
        source = InputFile(name=name, path=path, format=fmt)
        _read_header(source, text_column)
        inputs.append(source)
    return inputs


def _read_header(source: InputFile, text_column: str) -> None:
    """Check a file input's first bytes (not empty, not binary); for CSV and TSV read and check its header into
    `source.header`."""
    assert source.path is not None
    name, fmt = source.name, source.format
    try:
        with open(source.path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            header_line = b""
            if fmt in ("csv", "tsv"):
                header_line = head.split(b"\n", 1)[0] if b"\n" in head else head + handle.readline()
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    _sniff(name, head)
    if fmt in ("csv", "tsv"):
        decoded = header_line.decode("utf-8-sig", errors="replace")
        source.header = _check_header(source, next(csv.reader([decoded], delimiter=_DELIMITERS[fmt]), []), text_column)


def _spool_stdin(fmt: str) -> InputFile:
    """Standard input copied to a temporary file on disk (not memory), so that a thread export can be read in
    passes; `read_records` removes the file."""
    with tempfile.NamedTemporaryFile(prefix="griefguard-stdin-", delete=False) as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
    return InputFile(name="<stdin>", path=Path(spool.name), format=fmt, spooled=True)


def looks_like_csv_header(line: str, text_column: str) -> bool:
    """A first line such as "id,text,author": comma- or tab-separated names, one of them the text column."""
    for delimiter in (",", "\t"):
        names = [n.strip().strip('"').lower() for n in line.split(delimiter)]
        if len(names) >= 2 and text_column.lower() in names and all(n and len(n) <= 40 for n in names):
            return True
    return False


def _text_records(source: InputFile, stream: IO[bytes], text_column: str) -> Iterator[Record | Skip]:
    for number, line in enumerate(_decoded_lines(source, stream), start=1):
        text = line.rstrip("\r\n")
        if number == 1 and looks_like_csv_header(text, text_column):
            source.header_warning = True
        if text.strip():
            yield Record(source.name, number, text)


def _whole_file(source: InputFile, stream: IO[bytes]) -> Iterator[Record | Skip]:
    text = "".join(_decoded_lines(source, stream)).strip()
    if text:
        yield Record(source.name, 1, text)
    else:
        yield Skip(source.name, 1, "empty file")


def _csv_records(source: InputFile, stream: IO[bytes], text_column: str) -> Iterator[Record | Skip]:
    def checked(row: list[str]) -> list[str]:
        return _check_header(source, row, text_column)

    for item in csv_rows(_decoded_lines(source, stream), _DELIMITERS[source.format], checked):
        if isinstance(item, BadRow):
            yield Skip(source.name, item.line, item.reason)
            continue
        line, fields = item
        text = fields.pop(text_column, "")
        if not text.strip():
            yield Skip(source.name, line, f"empty {text_column!r}")
            continue
        yield Record(source.name, line, text, fields)


def _jsonl_records(source: InputFile, stream: IO[bytes], text_column: str) -> Iterator[Record | Skip]:
    for item in jsonl_rows(_decoded_lines(source, stream)):
        if isinstance(item, BadRow):
            yield Skip(source.name, item.line, item.reason)
            continue
        number, obj = item
        if _has_surrogates(obj):  # "\ud800" decodes to a lone surrogate, which no UTF-8 output can hold
            obj = replace_surrogates(obj)
            source.bad_utf8_lines += 1
        present = text_column in obj
        text = obj.pop(text_column, None)
        if not isinstance(text, str):
            others = f"its fields are {', '.join(obj)}" if obj else "the record has no other fields"
            what = f"{json_kind(text)}, not a string" if present else "missing"
            yield Skip(source.name, number, f"field {text_column!r} is {what} ({others})")
            continue
        if not text.strip():
            yield Skip(source.name, number, f"empty {text_column!r}")
            continue
        yield Record(source.name, number, text, obj)


def _records(source: InputFile, stream: IO[bytes], text_column: str, whole_file: bool) -> Iterator[Record | Skip]:
    if whole_file:
        return _whole_file(source, stream)
    if source.format in ("csv", "tsv"):
        return _csv_records(source, stream, text_column)
    if source.format == "jsonl":
        return _jsonl_records(source, stream, text_column)
    return _text_records(source, stream, text_column)


def _answered_texts(source: InputFile, text_column: str) -> dict[str, str] | None:
    """For a thread export (records with `id` and `parent_id`): the texts of the records that some record answers,
    by id; None for any other input. Two passes over the file (ids first, then only those texts), so memory
    holds the answered comments' texts, not the file."""
    if source.path is None or source.format not in ("csv", "tsv", "jsonl"):
        return None
    if source.format != "jsonl" and not {"id", "parent_id"} <= set(source.header):
        return None

    def records() -> Iterator[Record]:
        shadow = InputFile(source.name, source.path, source.format, list(source.header))
        with open(source.path, "rb") as stream:  # type: ignore[arg-type]
            for item in _records(shadow, stream, text_column, False):
                if isinstance(item, Record) and item.fields is not None:
                    yield item

    answered = {_id(r.fields.get("parent_id")) for r in records()} - {""}  # type: ignore[union-attr]
    if not answered:
        return None
    return {key: r.text for r in records() if (key := _id(r.fields.get("id"))) in answered}  # type: ignore[union-attr]


def _id(value: object) -> str:
    """An id as a string, whatever its JSON type ("" for none)."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def _context(record: Record, column: str) -> str | Skip:
    """A record's parent or post text from its field: "" when absent or null; a Skip when it is not text."""
    value = (record.fields or {}).get(column)
    if value is None:
        return ""
    if not isinstance(value, str):
        return Skip(record.source, record.line, f"field {column!r} is {json_kind(value)}, not a string")
    return value


def _with_thread(
    source: InputFile,
    items: Iterator[Record | Skip],
    parent_column: str,
    post_column: str,
    answered: dict[str, str] | None,
) -> Iterator[Record | Skip]:
    """Give each record its parent and post: from the parent and post fields, or (in a thread export, where the
    parent field is empty) the text of the record its `parent_id` names."""
    for item in items:
        if isinstance(item, Skip):
            yield item
            continue
        parent, post = _context(item, parent_column), _context(item, post_column)
        if isinstance(parent, Skip):
            yield parent
            continue
        if isinstance(post, Skip):
            yield post
            continue
        if not parent.strip() and answered is not None and item.fields is not None:
            wanted = _id(item.fields.get("parent_id"))
            if wanted:
                parent = answered.get(wanted, "")
                if not parent:
                    source.missing_parents += 1
        item.parent, item.post = parent if parent.strip() else "", post
        source.threaded += bool(item.parent)
        yield item


_SURROGATES = re.compile("[\ud800-\udfff]")


def _has_surrogates(value: object) -> bool:
    if isinstance(value, str):
        return _SURROGATES.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    return False


def replace_surrogates(value: Any) -> Any:
    """The value with every lone surrogate replaced by U+FFFD, as invalid UTF-8 bytes are."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_surrogates(k): replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_surrogates(v) for v in value]
    return value


def read_records(
    inputs: list[InputFile],
    text_column: str = "text",
    whole_file: bool = False,
    parent_column: str = "parent",
    post_column: str = "post",
) -> Iterator[Record | Skip]:
    """Yield every record of every input in order; a Skip stands in for each record that cannot be scored.

    Records of CSV, TSV and JSON Lines inputs carry their parent comment and post (see the module docstring)."""
    for source in inputs:
        try:
            answered = None if whole_file else _answered_texts(source, text_column)
            stream = _open_binary(source)
            try:
                items = _records(source, stream, text_column, whole_file)
                if not whole_file and source.format in ("csv", "tsv", "jsonl"):
                    items = _with_thread(source, items, parent_column, post_column, answered)
                yield from items
            finally:
                if source.path is not None:
                    stream.close()
        finally:
            if source.spooled and source.path is not None:
                source.path.unlink(missing_ok=True)
