"""writing: output rows, CSV columns and the terminal table."""

from __future__ import annotations

import csv
import io

from griefguard.writing import make_writer, output_row


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
