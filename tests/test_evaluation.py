"""evaluation and info: metrics, errors and sweeps of a labeled file; the model card as text; explanations of a
batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MODEL, write_csv

from griefguard.errors import DataError
from griefguard.evaluation import (
    errors_report,
    evaluate,
    load_labeled_for,
    misclassified,
    sweep_report,
    threshold_sweep,
)
from griefguard.info import describe


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
