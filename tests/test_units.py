"""Unit tests of the modules behind the commands, in process: reading, writing, formats, classify, evaluation and
info (the commands themselves are tested end to end in test_cli.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import MODEL, write_csv

from griefguard.classify import ClassifyOptions, classify_files, classify_records
from griefguard.errors import DataError, InputError, OutputError
from griefguard.evaluation import (
    errors_report,
    evaluate,
    load_labeled_for,
    misclassified,
    sweep_report,
    threshold_sweep,
)
from griefguard.formats import format_of, output_format
from griefguard.info import describe
from griefguard.reading import Record, Skip, input_format, open_inputs, read_records
from griefguard.scorer import load_scorer
from griefguard.writing import make_writer, output_row


@pytest.fixture(scope="module")
def scorer():  # type: ignore[no-untyped-def]
    return load_scorer(MODEL)


# -- formats ---------------------------------------------------------------------------------------------------


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


# -- reading ---------------------------------------------------------------------------------------------------


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


# -- writing ---------------------------------------------------------------------------------------------------


def _rows(scorer) -> list[dict]:  # type: ignore[no-untyped-def]
    predictions = scorer.predict(["so sorry for your loss", "fake tears, PR stunt"], explain=True)
    return [
        output_row("in.csv", i + 2, p.text, p.record(), {"id": str(i), "score": "x"}) for i, p in enumerate(predictions)
    ]


def test_output_rows_keep_input_fields_and_rename_clashes(scorer) -> None:  # type: ignore[no-untyped-def]
    row = _rows(scorer)[1]
    assert list(row)[:8] == ["file", "line", "score", "label", "flagged", "coverage", "probabilities", "text"]
    assert row["id"] == "1" and row["input_score"] == "x" and row["flagged"] is True and row["reasons"]


def test_csv_flattens_probabilities_and_the_table_fits_the_terminal(scorer) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    writer = make_writer("csv", out, extra_columns=["id", "score"], explain=True)
    for row in _rows(scorer):
        writer.write(row)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {"p_critical", "p_supportive", "p_neutral", "input_score"} <= set(parsed[0])
    assert parsed[1]["flagged"] == "true" and "(+" in parsed[1]["reasons"]
    table = io.StringIO()
    writer = make_writer("table", table, extra_columns=[], explain=False, width=60)
    long = dict(_rows(scorer)[0], text="word " * 100)
    writer.write(long)
    assert all(len(line) <= 60 for line in table.getvalue().splitlines())
    assert table.getvalue().splitlines()[1].endswith("…")


# -- classify --------------------------------------------------------------------------------------------------


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


# -- evaluation and info -----------------------------------------------------------------------------------------


def _labeled(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "ours.csv",
        [
            ("so sorry for your loss", "supportive", "plain"),
            ("posting a dead baby for likes is sick", "critical", "plain"),
            ("she only posted this for attention", "critical", "plain"),
            ("what time is the service?", "neutral", "question"),
            ("rest easy buddy", "supportive", "short"),
        ],
    )


def test_evaluate_reports_the_metrics_and_the_errors_of_a_labeled_file(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _labeled(tmp_path)
    metrics = evaluate(path, MODEL)
    assert metrics["n"] == 5 and metrics["roc_auc"] == 1.0
    data = load_labeled_for(scorer, path)
    wrong = misclassified(scorer, data, threshold=0.0)  # everything flagged: the three non-critical are wrong
    assert {m.label for m in wrong} >= {"supportive", "neutral"}
    report = errors_report(wrong, len(data))
    assert report.startswith(f"\n{len(wrong)} misclassified of 5") and "what time is the service?" in report
    sweep = threshold_sweep(scorer, data, 0.9)
    assert sweep["lowest_threshold_reaching_it"]["precision"] >= 0.9
    assert "--threshold" in sweep_report(sweep)


def test_evaluate_refuses_rows_it_cannot_evaluate(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "bad.csv", [("fine", "critical"), ("x", "rude")], ("text", "label"))
    with pytest.raises(DataError, match="unknown label 'rude'"):
        load_labeled_for(scorer, path)


def test_info_describes_the_model_from_its_card(scorer) -> None:  # type: ignore[no-untyped-def]
    text = describe(scorer)
    assert f"threshold  {scorer.threshold:.4f}" in text
    assert scorer.card["created"] in text and "data/train.csv" in text
    assert all(len(line) <= 100 for line in text.splitlines()), "fits a 100-column terminal"


def test_a_batch_is_explained_as_each_reply_alone_would_be(scorer) -> None:  # type: ignore[no-untyped-def]
    """predict(explain=True) explains a whole batch from one scoring pass; each explanation is the one
    `explain` gives for that reply by itself, read alone or under its parent."""
    texts = ["so sorry for your loss", "exactly lol", "fake tears. She did it for likes", "have some respect"]
    parents = ["", "it was just a dog, get over it", "", "it was just a dog, get over it"]
    batch = scorer.predict(texts, parents=parents, explain=True)
    for text, parent, prediction in zip(texts, parents, batch, strict=True):
        alone = scorer.explain(text, 5, parent=parent or None)
        assert prediction.explanation == alone
    assert batch[1].explanation.parent_effect is not None and batch[0].explanation.parent_effect is None
