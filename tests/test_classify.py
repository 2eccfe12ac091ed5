"""classify: records scored in order with their counts, and classify_files writing atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from griefguard.classify import ClassifyOptions, classify_files, classify_records
from griefguard.errors import InputError, OutputError
from griefguard.reading import Record, Skip


def test_classify_records_keeps_order_counts_and_skips(scorer) -> None:  # type: ignore[no-untyped-def]
    items = [Record("a", 1, "so sorry"), Skip("a", 2, "bad JSON"), Record("a", 3, "fake tears for clout")]
    written: list[dict] = []
    summary = classify_records(items, scorer, written.append)
    assert (summary.read, summary.scored, summary.skipped, summary.flagged) == (3, 2, 1, 1)
    assert [r["line"] for r in written] == [1, 3] and summary.skips[0].reason == "bad JSON"
    only: list[dict] = []
    classify_records(items, scorer, only.append, only_flagged=True)
    assert [r["line"] for r in only] == [3]


def test_classify_files_writes_atomically_and_warns(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "r.jsonl"
    source.write_text(
        '{"text": "so sorry"}\n{oops\n{"text": "posting your dead son for likes is disgusting"}\n', encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    warnings: list[str] = []
    summary, inputs = classify_files([str(source)], scorer, ClassifyOptions(output=out), warnings.append)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rows] == [1, 3] and summary.flagged == 1 and inputs[0].name == str(source)
    assert any("r.jsonl:2: skipped" in w for w in warnings)
    with pytest.raises(OutputError, match="does not exist"):
        classify_files([str(source)], scorer, ClassifyOptions(output=tmp_path / "no" / "out.jsonl"))
    with pytest.raises(InputError, match="stopped: --bad-lines stop"):
        classify_files([str(source)], scorer, ClassifyOptions(output=tmp_path / "x.jsonl", stop_on_skip=True))
    assert not (tmp_path / "x.jsonl").exists(), "a stopped run leaves no partial output"
