"""Training: deterministic, atomic, bad data explained in one line, the committed model current and as good as its
card says, and retraining with the card's parameters reproduces it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, MODEL, MODELS, ROOT, SMALL_CORPUS, write_csv

from griefguard.dataset import load_labeled
from griefguard.metrics import compute_metrics
from griefguard.model_file import load_model
from griefguard.scorer import Scorer, load_scorer
from griefguard.sentences import SentenceRule
from griefguard.training import ModelParams, build_pipeline, load_corpus, save_outputs, train
from griefguard.training.card import render_markdown
from griefguard.training.run import export_model, fit_model
from griefguard.training.search import moderation_threshold

VOLATILE = ("created", "training_seconds")


def _stable(card: dict) -> dict:
    return {k: v for k, v in card.items() if k not in VOLATILE}


def _run_train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--quiet", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def _small(path: Path):  # type: ignore[no-untyped-def]
    return load_corpus(None, train=[path], no_test=True)


def test_training_is_deterministic(small_corpus: Path) -> None:
    first = train(_small(small_corpus), folds=3)
    second = train(_small(small_corpus), folds=3)
    assert _stable(first.card) == _stable(second.card)
    assert first.model.vocabulary.tokens == second.model.vocabulary.tokens
    assert np.array_equal(first.model.coef, second.model.coef) and first.model.threshold == second.model.threshold


def test_three_labels_two_labels_and_the_threshold_round_trip(small_corpus: Path, tmp_path: Path) -> None:
    result = train(_small(small_corpus), folds=3, search=False, params=ModelParams(min_df=1))
    save_outputs(result, tmp_path / "m.npz")
    scorer = load_scorer(tmp_path / "m.npz")
    assert scorer.labels == ("critical", "supportive", "neutral")
    assert scorer.threshold == result.model.threshold == pytest.approx(result.card["threshold"], abs=1e-6)
    assert json.loads((tmp_path / "m.json").read_text())["threshold"] == result.card["threshold"]
    text = "She did this for likes, nothing else"
    score = scorer.score(text)
    assert scorer.classify([text], threshold=min(1.0, score + 1e-6))[0].flagged is False
    assert scorer.classify([text], threshold=score)[0].flagged is True
    # A moderator's old two-label data trains a two-label model.
    two = write_csv(tmp_path / "two.csv", [r for r in SMALL_CORPUS if r[1] != "neutral"])
    result = train(_small(two), folds=3, search=False, params=ModelParams(min_df=1))
    assert result.model.labels == ("critical", "supportive")
    assert Scorer(result.model).classify(["zzzz"])[0].label == "supportive", "no evidence: not flagged"


def test_the_numpy_scorer_equals_the_scikit_learn_pipeline(small_corpus: Path) -> None:
    texts = load_labeled(small_corpus).texts
    y = np.array([["critical", "supportive", "neutral"].index(lab) for lab in load_labeled(small_corpus).labels])
    params = ModelParams(min_df=1, ngram_range=(1, 3))
    pipeline = build_pipeline(params).fit(texts, y)
    engine, classifier = fit_model(params, texts, y, np.ones(len(y)))
    scorer = Scorer(export_model(params, engine, classifier, ["critical", "supportive", "neutral"], 0.5, {}))
    probe = [*texts, "", "zzz", "so sorry it was just a dog", "f a k e"]
    expected = pipeline.predict_proba(probe)
    got = scorer.probabilities(probe)
    known = scorer.classify(probe)
    for row, exp, p in zip(got, expected, known, strict=True):
        if p.coverage > 0:  # a reply with no known word is the documented exception: neutral, not the prior
            assert np.abs(row - exp).max() < 1e-9


def test_one_vs_rest_models_score_as_scikit_learn_does(small_corpus: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    data = load_labeled(small_corpus)
    y = np.array([["critical", "supportive", "neutral"].index(lab) for lab in data.labels])
    params = ModelParams(min_df=1, link="ovr")
    engine, classifier = fit_model(params, data.texts, y, np.ones(len(y)))
    scorer = Scorer(export_model(params, engine, classifier, ["critical", "supportive", "neutral"], 0.5, {}))
    X = engine.transform(data.texts).to_scipy()
    reference = OneVsRestClassifier(LogisticRegression(C=params.C, solver="liblinear")).fit(X, y)
    assert np.abs(scorer.probabilities(data.texts) - reference.predict_proba(X)).max() < 1e-9


def test_the_threshold_caps_false_flags_on_real_comments() -> None:
    from griefguard.metrics import best_f1_threshold

    rng = np.random.default_rng(0)
    authored = np.r_[rng.random(500) * 0.5, 0.4 + rng.random(200) * 0.6]
    real = rng.random(300) * 0.7  # real neutral comments, some scored high
    y = np.r_[np.zeros(500), np.ones(200), np.zeros(300)].astype(bool)
    score = np.r_[authored, real]
    benign = np.r_[np.zeros(700), np.ones(300)].astype(bool)
    capped = moderation_threshold(y, score, benign)
    assert (real >= capped).mean() <= 0.03 < (real >= best_f1_threshold(y, score)).mean()
    assert moderation_threshold(y, score, np.zeros(len(y), dtype=bool)) == best_f1_threshold(y, score)


def test_sentence_rule_on_arrays() -> None:
    probs = np.array([[0.2, 0.7, 0.1], [0.2, 0.7, 0.1], [0.2, 0.7, 0.1]])
    worst = np.array([0.95, 0.95, 0.5])
    counts = np.array([4, 2, 4])
    out = SentenceRule(1.0, 0.9, 3).apply(probs, worst, counts, 0)[0]
    assert out[0, 0] == pytest.approx(0.95) and np.allclose(out.sum(axis=1), 1.0)
    assert np.array_equal(out[1:], probs[1:]), "too few sentences, or a sentence under the gate"


def test_a_given_sentence_rule_is_used_with_its_cross_validated_threshold(small_corpus: Path) -> None:
    """`train(search=False)` with a sentence rule keeps it; its threshold and cross-validated metrics come from
    the out-of-fold predictions with that rule applied."""
    from griefguard.metrics import best_f1_threshold
    from griefguard.training.search import CrossValidation

    rule = SentenceRule(1.0, 0.3, 2)  # low enough to raise some of this small corpus's replies
    params = ModelParams(min_df=1, sentence_rule=rule)
    corpus = _small(small_corpus)
    result = train(corpus, folds=3, search=False, params=params)
    assert result.model.sentence_rule == rule and result.card["selection"]["sentence_rule"]["kept"] is True
    rows, labels = corpus.training_rows(), list(result.model.labels)
    cv = CrossValidation(rows, labels, 3, 0)
    oof = cv.run(replace(params, sentence_rule=SentenceRule()), sentences=True)
    ruled = oof.with_rule(rule, 0)
    assert not np.array_equal(ruled, oof.probabilities)
    y = np.array([lab == "critical" for lab in rows.labels])
    assert result.model.threshold == best_f1_threshold(y, ruled[:, 0])
    expected = compute_metrics(rows.labels, ruled, labels, result.model.threshold, rows.kinds, rows.contexts)
    assert result.card["metrics"]["cross_validation"] == expected


def test_save_is_atomic(small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "m.npz"
    target.write_bytes(b"previous model")
    result = train(_small(small_corpus), folds=3, search=False, params=ModelParams(min_df=1))

    def broken_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("griefguard.training.save.save_model", broken_save)
    with pytest.raises(OSError):
        save_outputs(result, target)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.npz"], "no temporary or partial files left"


@pytest.mark.parametrize(
    ("rows", "header", "extra_args", "message"),
    [
        (None, None, ["--train", "missing.csv"], "missing.csv: no such file"),
        ([("hi there", "critical")], ("body", "label"), [], "missing column 'text'; the file has body, label"),
        ([("hi there", "meh")], ("text", "label"), [], "train.csv:2: unknown label 'meh'"),
        ([("", "critical")], ("text", "label"), [], "train.csv:2: empty text"),
        ([("fake", "critical"), ("Fake", "supportive")], ("text", "label"), [], "train.csv:3: same text as line 2"),
        (
            [
                *[(t, lab) for t, lab, _ in SMALL_CORPUS if lab == "supportive"][:8],
                ("fake", "critical"),
                ("cringe", "critical"),
            ],
            ("text", "label"),
            [],
            "only 2 'critical' rows; 5-fold cross-validation needs at least 5",
        ),
        ([("so sorry", "supportive"), ("lovely", "supportive")], ("text", "label"), [], "no 'critical' rows"),
    ],
)
def test_bad_data_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, rows, header, extra_args, message) -> None:  # type: ignore[no-untyped-def]
    train_csv = tmp_path / "train.csv"
    if rows is not None:
        write_csv(train_csv, rows, header)
    model = tmp_path / "out" / "m.npz"
    args = extra_args or ["--train", str(train_csv)]
    result = _run_train(*args, "--no-test", "--model", str(model))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not model.exists()


def test_unwritable_output_path_exits_2(small_corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run_train("--train", str(small_corpus), "--no-test", "--model", str(blocker / "m.npz"))
    assert result.returncode == 2
    assert "cannot write the model to" in result.stderr and "Traceback" not in result.stderr


def test_train_py_and_the_train_command_write_model_card_and_markdown(small_corpus: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.npz"
    result = _run_train("--train", str(small_corpus), "--no-test", "--folds", "3", "--model", str(model))
    assert result.returncode == 0, result.stderr
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["data"][0]["sha256"] == load_labeled(small_corpus).sha256
    assert {"roc_auc", "flag_macro_f1", "label", "kinds"} <= set(card["metrics"]["cross_validation"])
    assert "# griefguard model card" in (tmp_path / "MODEL_CARD.md").read_text()
    assert load_scorer(model).threshold == pytest.approx(card["threshold"], abs=1e-6)
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "griefguard",
            "train",
            "--quiet",
            "--train",
            str(small_corpus),
            "--no-test",
            "--folds",
            "3",
            "--model",
            str(tmp_path / "n.npz"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert _stable(json.loads((tmp_path / "n.json").read_text())) | {"data": None} == _stable(card) | {"data": None}


# -- the committed model ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((MODELS / "griefguard.json").read_text())


def test_committed_model_matches_the_data(card: dict) -> None:
    """A stale model cannot ship: retrain (griefguard train) whenever data/ changes."""
    from griefguard.training.data import NOT_REDISTRIBUTED

    recorded = {d["path"]: d["sha256"] for d in card["data"]}
    files = sorted(p for p in DATA.rglob("*.csv"))
    rebuilt = {f"data/real/{name}.csv" for name in NOT_REDISTRIBUTED}
    present = {p.relative_to(ROOT).as_posix() for p in files}
    assert present <= set(recorded) and set(recorded) - present <= rebuilt, "only the rebuilt files may be absent"
    for path in files:
        assert recorded[path.relative_to(ROOT).as_posix()] == load_labeled(path, check=False).sha256, path
    assert load_scorer(MODEL).card["created"] == card["created"], "model file and card come from the same run"


def test_committed_model_reproduces_its_card(card: dict) -> None:
    from griefguard.evaluation import evaluate

    metrics = evaluate(DATA / "test.csv", MODEL)
    recorded = card["metrics"]["tests"]["test"]
    assert metrics["roc_auc"] == recorded["roc_auc"] and metrics["flag_macro_f1"] == recorded["flag_macro_f1"]


# What "reproduces" means: the solvers' floating-point paths differ between CPUs (an Intel Xeon and an AMD EPYC
# give coefficients up to 0.05 apart with the same library versions), so a refit is compared by what a user sees:
# the same vocabulary, the threshold within 0.005, every reported figure within one point, and the same flag on
# at least 99.5% of the test replies.
METRIC_TOLERANCE = 0.01
THRESHOLD_TOLERANCE = 0.005
SAME_FLAG_SHARE = 0.995


def _figures_differ(ours: object, theirs: object, path: str = "") -> list[str]:
    """Every numeric figure of a card's metrics that differs by more than METRIC_TOLERANCE (counts exactly)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if set(ours) != set(theirs):
            return [f"{path}: keys {sorted(set(ours) ^ set(theirs))}"]
        return [d for k in ours for d in _figures_differ(ours[k], theirs[k], f"{path}/{k}")]
    if isinstance(ours, list) and isinstance(theirs, list):
        if path.endswith(
            ("confusion_matrix", "confusion_flag")
        ):  # counts of replies: allowed to move by the same share as a rate
            total = max(1, sum(x for row in theirs for x in (row if isinstance(row, list) else [row])))
            flat = [(a, b) for ra, rb in zip(ours, theirs, strict=True) for a, b in zip(ra, rb, strict=True)]
            return [f"{path}: {ours} vs {theirs}" for a, b in flat if abs(a - b) > METRIC_TOLERANCE * total][:1]
        return [
            d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in _figures_differ(a, b, f"{path}[{i}]")
        ]
    if isinstance(ours, bool) or not isinstance(ours, int | float):
        return [] if ours == theirs else [f"{path}: {ours!r} vs {theirs!r}"]
    if path.endswith(("/n", "/support")) or path.endswith("_n"):
        return [] if ours == theirs else [f"{path}: {ours} vs {theirs}"]
    if theirs is None or abs(ours - theirs) > METRIC_TOLERANCE:
        return [f"{path}: {ours} vs {theirs}"]
    return []


def test_figures_are_compared_with_tolerance_and_counts_exactly() -> None:
    card = {"roc_auc": 0.981, "n": 10, "kinds": {"short": {"accuracy": 0.9}}, "confusion_flag": [[50, 0], [0, 50]]}
    assert _figures_differ(card, card | {"roc_auc": 0.985}) == []
    assert _figures_differ(card, card | {"roc_auc": 0.995}) == ["/roc_auc: 0.981 vs 0.995"]
    assert _figures_differ(card, card | {"n": 11}) == ["/n: 10 vs 11"]
    assert _figures_differ(card, card | {"kinds": {"short": {"accuracy": 0.8}}})
    assert _figures_differ(card, card | {"confusion_flag": [[49, 1], [0, 50]]}) == []
    assert _figures_differ(card, card | {"confusion_flag": [[40, 10], [0, 50]]})


def _missing_rebuilt_files() -> list[str]:
    from griefguard.training.data import NOT_REDISTRIBUTED

    return [name for name in NOT_REDISTRIBUTED if not (DATA / "real" / f"{name}.csv").exists()]


@pytest.mark.slow
@pytest.mark.skipif(
    bool(_missing_rebuilt_files()),
    reason="the real-comment files that are not redistributed are absent (rebuild them with "
    "scripts/build_real_data.py); test_retraining_on_the_shipped_data_reproduces_its_reference runs instead",
)
def test_retraining_with_the_committed_parameters_reproduces_the_model(card: dict) -> None:
    """`griefguard train` reproduces the committed model (see METRIC_TOLERANCE); here without the search, from the
    chosen parameters."""
    from griefguard.training.thread import ThreadParams

    params = ModelParams.from_dict(card["params"])
    assert params.as_dict() == card["params"]
    corpus = load_corpus(ROOT / "data")
    thread = ThreadParams.from_dict(card["selection"]["thread"]["params"])
    result = train(corpus, search=False, params=params, thread_params=thread)
    committed = load_model(MODEL)
    assert result.model.vocabulary.tokens == committed.vocabulary.tokens
    assert all(
        np.array_equal(a, b) for a, b in zip(result.model.vocabulary.keys, committed.vocabulary.keys, strict=True)
    )
    assert result.model.threshold == pytest.approx(committed.threshold, abs=THRESHOLD_TOLERANCE)
    assert _figures_differ(result.card["metrics"]["tests"], card["metrics"]["tests"]) == []
    assert _figures_differ(result.card["metrics"]["real"], card["metrics"]["real"]) == []
    for name, data in corpus.tests.items():
        ours = Scorer(result.model).score_many(data.texts, parents=data.parents) >= result.model.threshold
        theirs = Scorer(committed).score_many(data.texts, parents=data.parents) >= committed.threshold
        assert (ours == theirs).mean() >= SAME_FLAG_SHARE, name


@pytest.mark.slow
def test_retraining_on_the_shipped_data_reproduces_its_reference(card: dict) -> None:
    """Where only the redistributable data is present (a fresh clone), retraining with the committed parameters
    reproduces models/shipped_reference.json, written by scripts/shipped_reference.py, within the same
    tolerances (see METRIC_TOLERANCE)."""
    from griefguard.training.data import NOT_REDISTRIBUTED
    from griefguard.training.thread import ThreadParams

    reference = json.loads((MODELS / "shipped_reference.json").read_text())
    assert reference["model_created"] == card["created"], "stale: run scripts/shipped_reference.py"
    corpus = load_corpus(ROOT / "data", skip_real=NOT_REDISTRIBUTED)
    shas = {d.path.relative_to(ROOT).as_posix(): d.sha256 for _, d in corpus.files()}
    assert shas == reference["data"], "stale: run scripts/shipped_reference.py"
    params = ModelParams.from_dict(card["params"])
    thread = ThreadParams.from_dict(card["selection"]["thread"]["params"])
    result = train(corpus, search=False, params=params, thread_params=thread)
    assert result.model.vocabulary.n_features == reference["n_features"]
    assert result.model.threshold == pytest.approx(reference["threshold"], abs=THRESHOLD_TOLERANCE)
    assert _figures_differ(result.card["metrics"]["tests"], reference["metrics"]["tests"]) == []
    assert _figures_differ(result.card["metrics"]["real"], reference["metrics"]["real"]) == []


def test_a_model_with_character_n_grams_saves_loads_scores_and_explains(small_corpus: Path, tmp_path: Path) -> None:
    params = ModelParams(min_df=1, char_range=(2, 4), link="ovr")
    result = train(_small(small_corpus), folds=3, search=False, params=params)
    assert result.model.chars is not None and result.card["params"]["char_range"] == [2, 4]
    save_outputs(result, tmp_path / "c.npz")
    scorer = load_scorer(tmp_path / "c.npz")
    texts = load_labeled(small_corpus).texts
    assert np.allclose(scorer.probabilities(texts), Scorer(result.model).probabilities(texts))
    why = scorer.explain("that was fakeee and disgusting")
    fake = {"fake", "was fake", "fake and", "that was fake", "was fake and", "fake and disgusting"}  # collapsed
    assert {name for name, _ in why.raising} | {name for name, _, _ in why.lowering} <= fake | {
        "that",
        "was",
        "fakee",
        "and",
        "disgusting",
        "that was",
        "was fakee",
        "fakee and",
        "and disgusting",
        "that was fakee",
        "was fakee and",
        "fakee and disgusting",
    }
    assert ModelParams.from_dict(result.card["params"]) == replace(params, sentence_rule=result.model.sentence_rule)


# -- augmentation, the shortcut report and the sentence-rule decision ------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "So sorry, Tiffany. But you spent a year posting about him and now there's a GoFundMe?",
            ("So sorry, Tiffany.", "You spent a year posting about him and now there's a GoFundMe?"),
        ),
        (
            "Love you girl and I'm sorry you went through it, but posting this under a party photo was weird",
            ("Love you girl and I'm sorry you went through it", "Posting this under a party photo was weird"),
        ),
        ("Rest easy Mateo 🕊️ your parents failed you but you're with the angels now", None),  # no clean pivot
        ("So sorry, you should have rested. Doctors said so.", None),  # the opening already judges
        ("With all due respect, a funeral is not content.", None),  # no condolence
        ("I'm sorry. Fake.", None),  # too little left to judge
    ],
)
def test_a_polite_critics_condolence_is_split_from_its_judgment(text: str, parts: tuple[str, str] | None) -> None:
    from griefguard.training.augment import split_condolence

    assert split_condolence(text) == parts


def test_derived_rows_come_only_from_authored_critics_and_train_only_with_their_source(small_corpus: Path) -> None:
    from griefguard.training.augment import derived_rows
    from griefguard.training.search import CrossValidation

    rows = _small(small_corpus).training_rows()
    rows.texts.append("So sorry for your loss. But posting the casket was tasteless.")
    rows.labels.append("critical")
    rows.kinds.append("polite_critical")
    rows.contexts.append("")
    rows.roles.append("")
    rows.sources.append("mine.csv")
    derived, origin = derived_rows(rows)
    assert derived.texts == ["So sorry for your loss.", "Posting the casket was tasteless."]
    assert derived.labels == ["supportive", "critical"] and origin.tolist() == [len(rows) - 1] * 2
    cv = CrossValidation(rows, ["critical", "supportive", "neutral"], 3, 0, derived=(derived, origin))
    for train_idx, held in cv.splits:
        docs = cv.training_docs(ModelParams(augment=True), train_idx)
        source_trains = len(rows) - 1 in train_idx
        assert (len(docs) == len(train_idx) + 2) == source_trains
        assert set(docs.tolist()) - set(train_idx.tolist()) <= {len(rows), len(rows) + 1}
        assert np.array_equal(cv.training_docs(ModelParams(augment=False), train_idx), train_idx)
        assert held.max() < len(rows), "derived rows are never scored"


def test_the_card_has_the_shortcut_report(small_corpus: Path, tmp_path: Path) -> None:
    from griefguard.training.card import shortcut_table

    phrases = tmp_path / "data" / "everyday"
    phrases.mkdir(parents=True)
    (phrases / "phrases.txt").write_text("# benign\nso sorry\n\nlikes\n", encoding="utf-8")
    write_csv(tmp_path / "data" / "train.csv", SMALL_CORPUS)
    corpus = load_corpus(tmp_path / "data", no_test=True)
    assert corpus.phrases == ["so sorry", "likes"]
    result = train(corpus, folds=3, search=False, params=ModelParams(min_df=1))
    shortcuts = result.card["shortcuts"]
    assert len(shortcuts["terms"]) == min(40, result.model.vocabulary.n_features)
    weights = [t["weight"] for t in shortcuts["terms"]]
    assert weights == sorted(weights, reverse=True), "largest weight toward critical first"
    top = shortcuts["terms"][0]
    assert sum(top["labels"].values()) == sum(top["sources"].values()) > 0
    scorer = Scorer(result.model)
    for entry in shortcuts["phrases"]:
        assert entry["score"] == round(scorer.score(entry["phrase"]), 4)
        assert entry["leans_critical"] == (scorer.score(entry["phrase"]) > scorer.threshold / 2)
    likes = next(p for p in shortcuts["phrases"] if p["phrase"] == "likes")
    assert likes["leans_critical"], "a word only critics use in this corpus is reported"
    table = shortcut_table(result.card)
    assert table[-1][0] == "benign phrases above half the threshold" and "likes" in table[-1][2]
    assert "## Shortcut report" in render_markdown(result.card)


def test_the_sentence_rule_is_decided_without_looking_at_any_test_set(small_corpus: Path, tmp_path: Path) -> None:
    """The same training rows with and without test sets give the same decision and the same model."""
    test = write_csv(
        tmp_path / "t.csv", [("so sorry. so so sorry. fake tears though. for likes", "critical")], ("text", "label")
    )
    with_tests = train(load_corpus(None, train=[small_corpus], test=test), folds=3)
    without = train(_small(small_corpus), folds=3)
    assert with_tests.card["selection"]["sentence_rule"] == without.card["selection"]["sentence_rule"]
    assert with_tests.model.threshold == without.model.threshold
