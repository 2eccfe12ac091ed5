"""Labeled data is rejected with a message naming file and line; the shipped corpus passes every check."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import DATA, SMALL_CORPUS, write_csv

from griefguard.dataset import HARD_KINDS, KINDS, find_problems, load_labeled
from griefguard.errors import DataError


def test_loads_valid_rows_with_line_numbers(small_corpus: Path) -> None:
    data = load_labeled(small_corpus)
    assert len(data) == len(SMALL_CORPUS)
    assert data.examples[0].line == 2
    assert data.y.count(1) == sum(label == "critical" for _, label, _ in SMALL_CORPUS)
    assert len(data.sha256) == 64


def test_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv", [("first line\nsecond line", "supportive", "plain"), ("", "critical", "plain")]
    )
    with pytest.raises(DataError, match=r"m\.csv:4: empty text"):
        load_labeled(path)


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (
            [("hi there", "supportive")],
            ("body", "label"),
            r"bad\.csv:1: missing column 'text'; the file has body, label",
        ),
        ([("hi there", "critcal", "plain")], ("text", "label", "kind"), r"bad\.csv:2: unknown label 'critcal'"),
        ([("hi there", "critical", "rude")], ("text", "label", "kind"), r"bad\.csv:2: unknown kind 'rude'"),
        (
            [("ok", "critical", "plain"), ("   ", "critical", "plain")],
            ("text", "label", "kind"),
            r"bad\.csv:3: empty text",
        ),
        (
            [("So sorry", "supportive", "short"), ("so  SORRY", "supportive", "short")],
            ("text", "label", "kind"),
            r"bad\.csv:3: duplicate of line 2",
        ),
        (
            [("Fake tears", "critical", "short"), ("fake tears", "supportive", "short")],
            ("text", "label", "kind"),
            r"bad\.csv:3: same text as line 2 but labeled supportive there critical",
        ),
        (
            [
                ("posting photos of a stillborn baby online is honestly disgusting and selfish", "critical", "plain"),
                ("posting photos of a stillborn baby online is honestly disgusting and selfish!!", "critical", "plain"),
            ],
            ("text", "label", "kind"),
            r"bad\.csv:3: near-duplicate of .*bad\.csv:2 \(word-3-gram Jaccard 1\.00\)",
        ),
        (
            [
                ("posting photos of a stillborn baby online is honestly disgusting and selfish", "critical", "plain"),
                (
                    "posting photos of a stillborn baby online is honestly disgusting and selfish of her",
                    "critical",
                    "plain",
                ),
            ],
            ("text", "label", "kind"),
            r"bad\.csv:3: near-duplicate of .*bad\.csv:2 \(word-3-gram Jaccard 0\.8\d\)",
        ),
    ],
)
def test_rejections_name_file_line_and_problem(tmp_path: Path, rows, header, message) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "bad.csv", rows, header)
    with pytest.raises(DataError, match=message):
        load_labeled(path)


def test_near_duplicate_between_train_and_test(tmp_path: Path) -> None:
    train = write_csv(
        tmp_path / "train.csv", [("she only posted that video to get views on her channel", "critical", "plain")]
    )
    test = write_csv(
        tmp_path / "test.csv", [("she only posted that video to get views on her channel lol", "critical", "plain")]
    )
    problems = find_problems([load_labeled(train), load_labeled(test)])
    assert len(problems) == 1
    assert "test.csv:2: near-duplicate of" in problems[0] and "train.csv:2" in problems[0]


def test_exact_duplicate_between_files(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", [("Rest easy little one", "supportive", "short")])
    b = write_csv(tmp_path / "b.csv", [("rest easy  little one", "supportive", "short")])
    assert find_problems([load_labeled(a), load_labeled(b)]) == [f"{b}:2: same text as {a}:2"]


def test_different_replies_sharing_a_phrase_are_not_near_duplicates(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ok.csv",
        [
            ("I am so sorry for your loss, Maria. Your mother was a gem", "supportive", "plain"),
            ("I am so sorry for your loss but posting her body is wrong", "critical", "polite_critical"),
        ],
    )
    assert len(load_labeled(path)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"file is empty"),
        (b"text,label\n", r"no rows after the header"),
        (b"text,label\n\x00\x01\x02", r"binary file"),
        (b"text,label\nso sorry,supportive\ncaf\xe9,critical\n", r"bad\.csv:3: not valid UTF-8"),
        (b'text,label\n"unclosed,critical\nmore,supportive\n', r"bad\.csv:2: expected 2 fields, found 1"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_labeled(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_labeled(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        load_labeled(tmp_path)


def test_custom_column_names(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [("so sorry", "supportive"), ("fake", "critical")], ("comment", "verdict"))
    data = load_labeled(path, text_column="comment", label_column="verdict")
    assert data.y == [0, 1]


# -- the shipped corpus -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_labeled(DATA / "train.csv"), load_labeled(DATA / "test.csv")


def test_shipped_corpus_passes_every_check(corpus) -> None:  # type: ignore[no-untyped-def]
    assert find_problems(list(corpus)) == []


def test_shipped_corpus_meets_size_balance_and_coverage(corpus) -> None:  # type: ignore[no-untyped-def]
    train, test = corpus
    assert len(train) >= 3200 and len(test) >= 800
    for data in corpus:
        share = Counter(e.label for e in data.examples)["critical"] / len(data)
        assert 0.4 <= share <= 0.6
        kinds = Counter(e.kind for e in data.examples)
        assert set(kinds) == set(KINDS), "every kind, hard cases included, is present"
        assert sum(kinds[k] for k in HARD_KINDS) / len(data) >= 0.4
        assert len({e.context for e in data.examples}) >= 14
        assert all(e.context for e in data.examples)
        lengths = [len(e.text.split()) for e in data.examples]
        assert min(lengths) == 1 and max(lengths) >= 40


def test_dataset_command_prints_counts_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "griefguard.dataset", str(DATA)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "| label | critical |" in result.stdout and "| kind | negation |" in result.stdout


def test_dataset_command_fails_on_bad_file(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [("hi", "maybe")], ("text", "label"))
    result = subprocess.run(
        [sys.executable, "-m", "griefguard.dataset", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "bad.csv:2: unknown label 'maybe'" in result.stderr


def test_dataset_command_with_other_column_names(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ours.csv",
        [("so sorry, Ray was the best", "supportive"), ("fake tears", "critical")],
        ("comment", "verdict"),
    )
    cmd = [
        sys.executable,
        "-m",
        "griefguard.dataset",
        str(path),
        "--text-column",
        "comment",
        "--label-column",
        "verdict",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "| label | critical | 1 (50%) |" in result.stdout
