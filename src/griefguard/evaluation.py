"""Evaluate a scorer on labeled replies and on real comments (numpy only: `griefguard evaluate` and training).

- `evaluate_labeled`: flag and label metrics of a labeled file, per kind when it has a kind column;
- `real_report`: for held-out real comments, the share of neutral and of empathic comments flagged, and how
  well the critical score ranks hostile comments above benign ones (ROC AUC);
- `misclassified`: the rows a model gets wrong, for a moderator to look at and correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from griefguard.dataset import LabeledData
from griefguard.metrics import SWEEP, compute_metrics, roc_auc, threshold_figures
from griefguard.model_file import POSITIVE_LABEL
from griefguard.scorer import Scorer

__all__ = ["Misclassified", "evaluate_labeled", "labeled_metrics", "misclassified", "real_report", "threshold_sweep"]


def evaluate_labeled(scorer: Scorer, data: LabeledData, threshold: float | None = None) -> dict[str, Any]:
    """Metrics of a scorer on a labeled file (per-kind accuracy only when the file has a kind column)."""
    probabilities = scorer.probabilities(data.texts, *_thread(data))
    return labeled_metrics(data, probabilities, scorer.labels, scorer.check_threshold(threshold))


def _thread(data: LabeledData) -> tuple[list[str] | None, list[str] | None]:
    """The parents and posts of a thread file's rows (each reply is read under its parent); None otherwise."""
    return (data.parents, data.posts) if data.is_thread else (None, None)


def labeled_metrics(
    data: LabeledData, probabilities: np.ndarray, labels: tuple[str, ...], threshold: float
) -> dict[str, Any]:
    """Metrics of a labeled file from its already scored probabilities."""
    kinds = [e.kind for e in data.examples] if data.has_kinds else None
    contexts = [e.context for e in data.examples] if "context" in data.columns else None
    return compute_metrics(data.labels, probabilities, labels, threshold, kinds, contexts)


@dataclass(frozen=True)
class Misclassified:
    """A labeled row the model gets wrong: flagged when it should not be, or the reverse, or a wrong label."""

    line: int
    text: str
    label: str
    predicted: str
    score: float
    flagged: bool
    coverage: float
    kind: str


def misclassified(scorer: Scorer, data: LabeledData, threshold: float | None = None) -> list[Misclassified]:
    """Every row whose flag or label is wrong, most confidently wrong first."""
    cut = scorer.check_threshold(threshold)
    probs, coverage = scorer.probabilities_and_coverage(data.texts, *_thread(data))
    c = scorer.labels.index("critical")
    out = []
    for e, p, cov in zip(data.examples, probs, coverage, strict=True):
        predicted = scorer.labels[int(np.argmax(p))]
        flagged = bool(p[c] >= cut)
        if flagged != (e.label == "critical") or predicted != e.label:
            out.append(Misclassified(e.line, e.text, e.label, predicted, float(p[c]), flagged, float(cov), e.kind))
    out.sort(key=lambda m: -abs(m.score - cut) if m.flagged != (m.label == "critical") else 0.0)
    return out


def real_report(scorer: Scorer, holdouts: dict[str, LabeledData], threshold: float | None = None) -> dict[str, Any]:
    """Per real source: share of neutral and of empathic comments flagged, and hostile-vs-benign ROC AUC.

    A source without benign comments of its own (toxic_spans) is ranked against the benign comments of all
    sources; the report says which.
    """
    cut = scorer.check_threshold(threshold)
    scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, data in holdouts.items():
        if len(data):
            scored[name] = (scorer.score_many(data.texts), np.array([e.role for e in data.examples], dtype=object))
    benign_all = [s[np.isin(r, ["neutral", "empathic"])] for s, r in scored.values()]
    pooled = np.concatenate(benign_all) if benign_all else np.zeros(0)
    report: dict[str, Any] = {}
    for name, (score, role) in scored.items():
        entry: dict[str, Any] = {"n": len(score)}
        for kind in ("neutral", "empathic"):
            mask = role == kind
            if mask.any():
                entry[f"{kind}_flagged"] = round(float((score[mask] >= cut).mean()), 4)
                entry[f"{kind}_n"] = int(mask.sum())
        hostile = role == "hostile"
        if hostile.any():
            own = np.isin(role, ["neutral", "empathic"])
            benign, against = (score[own], "same source") if own.any() else (pooled, "all sources")
            auc = roc_auc(np.r_[np.ones(hostile.sum()), np.zeros(len(benign))], np.r_[score[hostile], benign])
            entry["hostile_auc"] = None if auc is None else round(auc, 4)
            entry["hostile_auc_against"] = against
            entry["hostile_flagged"] = round(float((score[hostile] >= cut).mean()), 4)
            entry["hostile_n"] = int(hostile.sum())
        report[name] = entry
    return report


def threshold_sweep(
    scorer: Scorer, data: LabeledData, target_precision: float = 0.9, thresholds: tuple[float, ...] = SWEEP
) -> dict[str, Any]:
    """For choosing a threshold on a labeled sample of your own platform: at each threshold, the precision and
    recall of the flag (critical) and the share of all replies flagged; and the lowest threshold whose precision
    reaches `target_precision` (None when none does), with the number of labeled replies it rests on."""
    probs = scorer.probabilities(data.texts, *_thread(data))
    score = probs[:, scorer.labels.index(POSITIVE_LABEL)]
    return threshold_figures([label == POSITIVE_LABEL for label in data.labels], score, target_precision, thresholds)
