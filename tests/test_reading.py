"""reading: inputs checked before any reply is read, thread exports, and bad records as counted skips."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_csv

from griefguard.errors import InputError
from griefguard.reading import Record, Skip, open_inputs, read_records


def test_a_thread_export_resolves_parents_in_any_order(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        [("2", "1", "exactly"), ("1", "", "it was just a dog"), ("3", "9", "who is 9?")],
        ("id", "parent_id", "text"),
    )
    inputs = open_inputs([str(path)])
    records = [r for r in read_records(inputs) if isinstance(r, Record)]
    assert [(r.text, r.parent) for r in records] == [
        ("exactly", "it was just a dog"),
        ("it was just a dog", ""),
        ("who is 9?", ""),
    ]
    assert inputs[0].missing_parents == 1 and inputs[0].threaded == 1


def test_bad_records_become_counted_skips_and_bad_bytes_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"text": "fine"}\n{nope\n{"text": ""}\n{"text": "caf\xe9"}\n{"text": 5}\n')
    inputs = open_inputs([str(path)])
    items = list(read_records(inputs))
    assert [type(i).__name__ for i in items] == ["Record", "Skip", "Skip", "Record", "Skip"]
    assert items[3].text == "caf\ufffd" and inputs[0].bad_utf8_lines == 1
    assert all(isinstance(i, Skip) and i.reason for i in items if not isinstance(i, Record))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.txt", "empty input"),
        (b"\x00\x01\x02", "bin.txt", "binary"),
        (b"comment,label\nx,y\n", "wrong.csv", "text"),
    ],
)
def test_inputs_are_checked_before_any_reply_is_read(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_inputs([str(tmp_path / "fine.txt"), str(path)] if False else [str(path)])
    with pytest.raises(InputError, match="no such file"):
        open_inputs([str(tmp_path / "missing.txt")])
