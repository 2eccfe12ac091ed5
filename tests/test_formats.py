"""formats: the one table of file extensions, for reading and for writing."""

from __future__ import annotations

import pytest

from griefguard.formats import format_of, output_format
from griefguard.reading import input_format


@pytest.mark.parametrize(
    ("name", "read_as", "written_as"),
    [
        ("a.csv", "csv", "csv"),
        ("a.TSV", "tsv", "tsv"),
        ("a.jsonl", "jsonl", "jsonl"),
        ("a.ndjson", "jsonl", "jsonl"),
        ("a.json", "jsonl", "jsonl"),
        ("a.txt", "text", "table"),
        ("replies", "text", "jsonl"),
    ],
)
def test_one_table_of_extensions_serves_reading_and_writing(name: str, read_as: str, written_as: str) -> None:
    assert input_format(name) == read_as
    assert output_format(name) == written_as
    assert format_of(name, None) in (None, read_as, "text")
