"""train.py: deterministic, atomic, explains bad data in one line, and the committed model is current and good."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import DATA, MODEL, MODELS, ROOT, SMALL_CORPUS, write_csv

from griefguard.dataset import load_labeled
from griefguard.scorer import Scorer, load_scorer
from griefguard.training import ModelParams, build_pipeline, export_pipeline, save_outputs, train

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


def test_training_is_deterministic(small_corpus: Path) -> None:
    first = train([small_corpus], None, folds=3)
    second = train([small_corpus], None, folds=3)
    assert _stable(first.card) == _stable(second.card)
    for a, b in zip(first.model["blocks"], second.model["blocks"], strict=True):
        assert a["vocabulary"] == b["vocabulary"]
        assert np.array_equal(a["coef"], b["coef"]) and np.array_equal(a["idf"], b["idf"])
    assert first.model["threshold"] == second.model["threshold"]


def test_threshold_round_trip(small_corpus: Path, tmp_path: Path) -> None:
    result = train([small_corpus], None, folds=3, search=False)
    save_outputs(result, tmp_path / "m.joblib")
    scorer = load_scorer(tmp_path / "m.joblib")
    assert scorer.threshold == result.model["threshold"] == pytest.approx(result.card["threshold"], abs=1e-6)
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["threshold"] == result.card["threshold"]
    text = "She did this for likes, nothing else"
    score = scorer.score(text)
    assert scorer.classify([text], threshold=min(1.0, score + 1e-6))[0].flagged is False
    assert scorer.classify([text], threshold=score)[0].flagged is True


def test_save_is_atomic(small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "m.joblib"
    target.write_bytes(b"previous model")
    result = train([small_corpus], None, folds=3, search=False)

    def broken_dump(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError):
        save_outputs(result, target)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.joblib"], "no temporary or partial files left"


def test_scorer_equals_scikit_learn_pipeline_on_every_corpus_row() -> None:
    """The numpy scorer computes exactly the pipeline's predict_proba (the scoring path never imports sklearn)."""
    card = json.loads((MODELS / "griefguard.json").read_text())
    params = ModelParams.from_dict(card["params"])
    assert params.as_dict() == card["params"]
    train_data, test_data = load_labeled(DATA / "train.csv"), load_labeled(DATA / "test.csv")
    pipeline = build_pipeline(params).fit(train_data.texts, train_data.y)
    scorer = Scorer(export_pipeline(pipeline, params, 0.5, {}))
    texts = train_data.texts + test_data.texts
    assert np.abs(scorer.probabilities(texts) - pipeline.predict_proba(texts)[:, 1]).max() < 1e-9
    # ...and refitting with the committed parameters reproduces the committed model.
    committed = load_scorer(MODEL)
    assert np.abs(committed.probabilities(texts) - scorer.probabilities(texts)).max() < 1e-6


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
    ],
)
def test_bad_data_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, rows, header, extra_args, message) -> None:  # type: ignore[no-untyped-def]
    train_csv = tmp_path / "train.csv"
    if rows is not None:
        write_csv(train_csv, rows, header)
    model = tmp_path / "out" / "m.joblib"
    args = ["--train", str(train_csv), "--no-test", "--model", str(model)]
    if extra_args:
        args = [*extra_args, "--no-test", "--model", str(model)]
    result = _run_train(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not model.exists()


def test_unwritable_output_path_exits_2(small_corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run_train("--train", str(small_corpus), "--no-test", "--model", str(blocker / "m.joblib"))
    assert result.returncode == 2
    assert "cannot write the model to" in result.stderr and "Traceback" not in result.stderr


def test_train_py_writes_model_card_and_markdown(small_corpus: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    result = _run_train("--train", str(small_corpus), "--no-test", "--folds", "3", "--model", str(model))
    assert result.returncode == 0, result.stderr
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["data"][0]["sha256"] == load_labeled(small_corpus).sha256
    assert {"roc_auc", "average_precision", "macro_f1", "confusion_matrix", "labels", "kinds"} <= set(
        card["metrics"]["cross_validation"]
    )
    assert "# griefguard model card" in (tmp_path / "MODEL_CARD.md").read_text()
    assert load_scorer(model).threshold == pytest.approx(card["threshold"], abs=1e-6)


# -- the committed model ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((MODELS / "griefguard.json").read_text())


def test_committed_model_matches_the_data(card: dict) -> None:
    """A stale model cannot ship: retrain (python train.py) whenever data/ changes."""
    hashes = {Path(d["path"]).name: d["sha256"] for d in card["data"]}
    assert hashes == {
        "train.csv": load_labeled(DATA / "train.csv").sha256,
        "test.csv": load_labeled(DATA / "test.csv").sha256,
    }
    assert load_scorer(MODEL).card["created"] == card["created"], "model file and card come from the same run"


def test_committed_model_meets_quality_bar(card: dict) -> None:
    from griefguard.cli import evaluate

    metrics = evaluate(DATA / "test.csv", MODEL)
    recorded = card["metrics"]["test"]
    assert metrics["roc_auc"] == recorded["roc_auc"] and metrics["macro_f1"] == recorded["macro_f1"]
    assert metrics["roc_auc"] >= 0.97
    assert metrics["macro_f1"] >= 0.92
    for kind, value in metrics["kinds"].items():
        assert value["accuracy"] >= 0.85, f"{kind}: {value}"


def test_retraining_with_the_committed_parameters_reproduces_the_card(card: dict) -> None:
    """`python train.py` reproduces the committed card; here without the search, from the chosen parameters."""
    result = train([DATA / "train.csv"], DATA / "test.csv", search=False, params=ModelParams.from_dict(card["params"]))
    assert result.card["threshold"] == card["threshold"]
    assert result.card["metrics"]["cross_validation"] == card["metrics"]["cross_validation"]
    assert result.card["metrics"]["test"] == card["metrics"]["test"]
