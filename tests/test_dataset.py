"""Labeled data is rejected with a message naming file and line; the shipped corpus passes every check."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import DATA, SMALL_CORPUS, write_csv

from griefguard.dataset import (
    HARD_KINDS,
    LABELS,
    REGISTER_KINDS,
    THREAD_KINDS,
    check_files,
    find_problems,
    load_labeled,
)
from griefguard.errors import DataError


def test_loads_valid_rows_with_line_numbers(small_corpus: Path) -> None:
    data = load_labeled(small_corpus)
    assert len(data) == len(SMALL_CORPUS)
    assert data.examples[0].line == 2
    assert data.labels.count("neutral") == sum(label == "neutral" for _, label, _ in SMALL_CORPUS)
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
            r"bad\.csv:1: missing column 'text'; the file has body, label \(choose others with --text-column",
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
                (
                    "posting photos of a stillborn baby online is honestly disgusting and selfish tbh",
                    "critical",
                    "plain",
                ),
            ],
            ("text", "label", "kind"),
            r"bad\.csv:3: near-duplicate of .*bad\.csv:2 \(word-3-gram Jaccard 0\.\d\d\)",
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
        (
            b"text,label,kind\nso sorry,maybe,plain\n",
            r"unknown label 'maybe' \(expected critical, supportive, neutral\)",
        ),
        (b"text,label\nso sorry,supportive\ncaf\xe9,critical\n", r"bad\.csv:3: not valid UTF-8"),
        (
            b'text,label\n"unclosed,critical\nmore,supportive\n',
            r"bad\.csv:2: unterminated quote: the quoted field opened on line 2",
        ),
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
    assert data.labels == ["supportive", "critical"]


def test_json_lines_files_and_any_kind(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(
        '{"text": "so sorry", "label": "supportive", "kind": "my_kind"}\n\n{"text": "nice pic", "label": "neutral"}\n'
    )
    with pytest.raises(DataError, match=r"l\.jsonl:1: unknown kind 'my_kind'"):
        load_labeled(path)
    data = load_labeled(path, any_kind=True)
    assert [e.line for e in data.examples] == [1, 3] and data.has_kinds
    path.write_text('{"text": "so sorry", "label": "supportive"}\n{broken\n')
    with pytest.raises(DataError, match=r"l\.jsonl:2: malformed JSON"):
        load_labeled(path)


# -- the shipped corpus -----------------------------------------------------------------------------------

AUTHORED = [
    "train.csv",
    "test.csv",
    "realistic/train.csv",
    "realistic/test.csv",
    "targeted/train.csv",
    "dilution/test.csv",
    "everyday/train.csv",
    "everyday/test.csv",
    "threads/train.csv",
    "threads/test.csv",
]


@pytest.fixture(scope="module")
def corpus() -> dict:
    files = {name: load_labeled(DATA / name, check=False) for name in AUTHORED}
    files.update({f"real/{p.name}": load_labeled(p, check=False) for p in sorted((DATA / "real").glob("*.csv"))})
    return files


def test_shipped_corpus_passes_every_check(corpus: dict) -> None:
    assert find_problems(list(corpus.values())) == []


def test_original_corpus_size_balance_and_coverage(corpus: dict) -> None:
    for name in ("train.csv", "test.csv"):
        data = corpus[name]
        share = Counter(e.label for e in data.examples)["critical"] / len(data)
        assert 0.4 <= share <= 0.6
        kinds = Counter(e.kind for e in data.examples)
        assert set(HARD_KINDS) <= set(kinds), "every hard-case kind is present"
        assert sum(kinds[k] for k in HARD_KINDS) / len(data) >= 0.4
        assert len({e.context for e in data.examples}) >= 14 and all(e.context for e in data.examples)


def test_realistic_round_is_big_enough_neutral_enough_and_multilingual(corpus: dict) -> None:
    train, test = corpus["realistic/train.csv"], corpus["realistic/test.csv"]
    assert len(train) + len(test) >= 3000
    for data in (train, test):
        labels = Counter(e.label for e in data.examples)
        assert labels["neutral"] / len(data) >= 0.30
        kinds = Counter(e.kind for e in data.examples)
        assert set(REGISTER_KINDS) <= set(kinds)
        foreign = [e for e in data.examples if e.kind == "foreign"]
        assert {e.label for e in foreign} == set(LABELS), "other languages in all three labels"
        assert sum("\n" in e.text for e in data.examples) >= 20, "line breaks inside replies"
        assert sum("@" in e.text for e in data.examples) >= 20, "@mentions"
    writers = lambda d: {line.split(",")[-1] for line in (DATA / d).read_text().splitlines()[1:] if "round6" in line}  # noqa: E731
    assert not writers("realistic/train.csv") & writers("realistic/test.csv"), "test rows come from other writers"


def test_dilution_set_is_long_replies_of_both_labels(corpus: dict) -> None:
    data = corpus["dilution/test.csv"]
    assert Counter(e.label for e in data.examples) == {"critical": 120, "supportive": 120}
    assert min(len(e.text.split()) for e in data.examples) >= 50


def test_real_comments_have_a_split_and_a_role(corpus: dict) -> None:
    from griefguard.training.data import NOT_REDISTRIBUTED

    real = {k: v for k, v in corpus.items() if k.startswith("real/")}
    shipped = {f"real/{s}.csv" for s in ("empathic_reactions", "politeness", "toxic_spans")}
    rebuilt = {f"real/{s}.csv" for s in NOT_REDISTRIBUTED}
    assert shipped <= set(real) <= shipped | rebuilt, "the three others appear only where they were rebuilt"
    for data in real.values():
        assert {e.split for e in data.examples} == {"train", "holdout"}
        assert {e.role for e in data.examples} <= {"neutral", "empathic", "hostile"}
        for e in data.examples:
            assert (e.role == "hostile") == (e.label == "critical")
            assert e.role != "empathic" or e.label == "supportive"


def test_check_files_reports_counts_and_problems(tmp_path: Path) -> None:
    rows, problems = check_files([DATA / "train.csv", DATA / "test.csv"])
    assert rows[0] == ("rows", "train.csv", "test.csv") and problems == []
    assert next(r for r in rows if r[0] == "label: neutral")[1:] == ("0 (0%)", "0 (0%)")
    bad = write_csv(tmp_path / "bad.csv", [("so sorry", "supportive"), ("So  sorry", "supportive")], ("text", "label"))
    _, problems = check_files([tmp_path])
    assert problems == [f"{bad}:3: duplicate of line 2"]


def test_case_and_punctuation_variants_with_two_labels_are_a_label_conflict(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [("so sorry", "supportive"), ("So Sorry!", "critical")], ("text", "label"))
    _, problems = check_files([path])
    assert problems == [f"{path}:3: same text as line 2 but labeled critical there supportive"]
    other = write_csv(tmp_path / "d.csv", [("SO SORRY...", "neutral")], ("text", "label"))
    _, problems = check_files([path, other])
    assert f"{other}:2: same text as {path}:2 but labeled neutral there supportive" in problems


def test_every_problem_of_every_file_is_listed_at_once(tmp_path: Path) -> None:
    first = write_csv(
        tmp_path / "a.csv",
        [("fine reply", "supportive"), ("odd", "maybe"), ("", "critical"), ("fine reply", "supportive")],
        ("text", "label"),
    )
    second = write_csv(tmp_path / "b.csv", [("another", "meh"), ("so sorry", "supportive")], ("text", "label"))
    _, problems = check_files([first, second])
    assert f"{first}:3: unknown label 'maybe' (expected critical, supportive, neutral)" in problems
    assert f"{first}:4: empty text" in problems
    assert f"{first}:5: duplicate of line 2" in problems
    assert f"{second}:2: unknown label 'meh' (expected critical, supportive, neutral)" in problems
    assert len(problems) == 4
    with pytest.raises(DataError, match=r"a\.csv:3: unknown label 'maybe' .*\(\+2 more problems\)"):
        load_labeled(first)


def test_thread_files_have_thread_kinds_and_echoes_under_different_parents(tmp_path: Path) -> None:
    header = ("post", "parent", "text", "label", "kind")
    good = write_csv(
        tmp_path / "threads.csv",
        [
            ("p", "she did it for likes", "agreed", "critical", "echo_short"),
            ("p", "so sorry for your loss", "agreed", "supportive", "echo_short"),
            ("p", "she did it for likes", "agreed 💯", "critical", "echo_short"),
            ("p", "", "rest easy", "supportive", "direct"),
        ],
        header,
    )
    data = load_labeled(good)
    assert data.is_thread and data.parents[0] == "she did it for likes" and data.posts == ["p"] * 4
    assert check_files([good])[1] == []
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            ("p", "she did it for likes", "agreed", "critical", "plain"),
            ("p", "she did it for likes", "Agreed!", "critical", "echo_short"),
        ],
        header,
    )
    problems = check_files([bad])[1]
    assert f"{bad}:2: unknown kind 'plain' (expected one of {', '.join(THREAD_KINDS)})" in problems
    reply_only = write_csv(tmp_path / "replies.csv", [("rest easy", "supportive")], ("text", "label"))
    assert f"{reply_only}:2: same text as {good}:5" in check_files([good, reply_only])[1], "a direct reply is a reply"


def _writers(data) -> set[str]:  # type: ignore[no-untyped-def]
    import csv

    with open(data.path, encoding="utf-8", newline="") as handle:
        return {row["writer"] for row in csv.DictReader(handle)}


def test_everyday_test_set_is_a_real_threads_mix_by_other_writers(corpus: dict) -> None:
    test, train = corpus["everyday/test.csv"], corpus["everyday/train.csv"]
    assert len(test) >= 600
    kinds = Counter(e.kind for e in test.examples)
    assert kinds["condolence"] / len(test) >= 0.35, "at least 35% condolence formulas"
    assert {e.label for e in test.examples if e.kind == "swearing"} == {"supportive", "neutral"}
    assert kinds["death_fact"] >= 50 and kinds["gentle_advice"] >= 40
    critics = [e for e in test.examples if e.label == "critical"]
    assert sum(e.kind == "polite_critical" for e in critics) / len(critics) >= 0.3, "a third open with a condolence"
    assert not _writers(test) & _writers(train), "test rows come from other writers"


def test_thread_data_has_every_thread_kind_by_other_writers(corpus: dict) -> None:
    train, test = corpus["threads/train.csv"], corpus["threads/test.csv"]
    assert len(train) >= 2400 and len(test) >= 600
    for data in (train, test):
        assert data.is_thread and set(Counter(e.kind for e in data.examples)) == set(THREAD_KINDS)
        assert all(bool(e.parent) == (e.kind != "direct") for e in data.examples)
        echoes = Counter(e.text for e in data.examples if e.kind == "echo_short")
        assert sum(n >= 3 for n in echoes.values()) >= 10, "the same short replies under parents of each label"
        assert len({e.context for e in data.examples}) == 16
    assert not _writers(test) & _writers(train), "test rows come from other writers"


def test_files_that_may_not_be_redistributed_are_not_in_the_repository() -> None:
    import subprocess

    from griefguard.training.data import NOT_REDISTRIBUTED

    tracked = subprocess.run(
        ["git", "ls-files", "data/real"], cwd=DATA.parent, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "the redistributable real files are tracked"
    assert not {f"data/real/{name}.csv" for name in NOT_REDISTRIBUTED} & set(tracked)
    licences = (DATA / "LICENSES.md").read_text()
    for path in tracked:
        assert f"`real/{Path(path).name}`" in licences, f"{path} has its terms in data/LICENSES.md"
