"""Evaluate a scorer on labeled replies and on real comments (numpy only: `griefguard evaluate` and training).

- `evaluate_labeled`: flag and label metrics of a labeled file, per kind when it has a kind column;
- `real_report`: for held-out real comments, the share of neutral and of empathic comments flagged, and how
  well the critical score ranks hostile comments above benign ones (ROC AUC);
- `misclassified`: the rows a model gets wrong, for a moderator to look at and correct;
- `threshold_sweep`: precision, recall and share flagged per threshold, for choosing one;
- `evaluate`: `griefguard evaluate` as a library call, and the rows of its tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.dataset import LabeledData, load_labeled
from griefguard.errors import DataError
from griefguard.labels import BENIGN_ROLES, CRITICAL
from griefguard.metrics import SWEEP, compute_metrics, roc_auc, text_table, threshold_figures
from griefguard.scorer import Scorer, load_scorer

__all__ = [
    "Misclassified",
    "error_rows",
    "errors_report",
    "evaluate",
    "evaluate_labeled",
    "labeled_metrics",
    "load_labeled_for",
    "misclassified",
    "real_report",
    "sweep_report",
    "sweep_rows",
    "sweep_verdict",
    "threshold_sweep",
]


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
    c = scorer.labels.index(CRITICAL)
    out = []
    for e, p, cov in zip(data.examples, probs, coverage, strict=True):
        predicted = scorer.labels[int(np.argmax(p))]
        flagged = bool(p[c] >= cut)
        if flagged != (e.label == CRITICAL) or predicted != e.label:
            out.append(Misclassified(e.line, e.text, e.label, predicted, float(p[c]), flagged, float(cov), e.kind))
    out.sort(key=lambda m: -abs(m.score - cut) if m.flagged != (m.label == CRITICAL) else 0.0)
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
    benign_all = [s[np.isin(r, BENIGN_ROLES)] for s, r in scored.values()]
    pooled = np.concatenate(benign_all) if benign_all else np.zeros(0)
    report: dict[str, Any] = {}
    for name, (score, role) in scored.items():
        entry: dict[str, Any] = {"n": len(score)}
        for kind in BENIGN_ROLES:
            mask = role == kind
            if mask.any():
                entry[f"{kind}_flagged"] = round(float((score[mask] >= cut).mean()), 4)
                entry[f"{kind}_n"] = int(mask.sum())
        hostile = role == "hostile"
        if hostile.any():
            own = np.isin(role, BENIGN_ROLES)
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
    score = probs[:, scorer.labels.index(CRITICAL)]
    return threshold_figures([label == CRITICAL for label in data.labels], score, target_precision, thresholds)


def load_labeled_for(
    scorer: Scorer, path: str | Path, text_column: str = "text", label_column: str = "label"
) -> LabeledData:
    """A labeled file read for evaluating `scorer`: any kinds, the labels the model knows; a row that cannot be
    evaluated (an unknown label, an empty text) is a DataError naming it. Duplicates are allowed."""
    data = load_labeled(path, text_column, label_column, check=False, any_kind=True, labels=scorer.labels)
    if data.problems:
        more = f" (+{len(data.problems) - 1} more problems)" if len(data.problems) > 1 else ""
        raise DataError(data.problems[0] + more)
    return data


def evaluate(
    path: str | Path,
    model: str | Path | None = None,
    threshold: float | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> dict[str, Any]:
    """Metrics of a model (default: the bundled one) on a labeled CSV or JSON Lines file, as `griefguard evaluate`
    prints them and training reports them."""
    scorer = load_scorer(model)
    return evaluate_labeled(scorer, load_labeled_for(scorer, path, text_column, label_column), threshold)


def sweep_rows(sweep: dict[str, Any]) -> list[tuple[str, ...]]:
    """A threshold sweep as table rows: threshold, precision, recall and share flagged."""
    rows = [("threshold", "precision", "recall", "flagged")]
    for r in sweep["sweep"]:
        precision = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        recall = "-" if r["recall"] is None else f"{r['recall']:.3f}"
        rows.append((f"{r['threshold']:.2f}", precision, recall, f"{100 * r['flagged']:.1f}%"))
    return rows


def sweep_verdict(sweep: dict[str, Any]) -> str:
    """One line: the lowest threshold reaching the target precision, with what it rests on, or that none does."""
    target, best = sweep["target_precision"], sweep["lowest_threshold_reaching_it"]
    if best is None:
        return f"no threshold reaches a precision of {target:g} on this file"
    return (
        f"the lowest threshold with precision >= {target:g}: --threshold {best['threshold']:.4f} "
        f"(precision {best['precision']:.3f}, recall {best['recall']:.3f}, flags "
        f"{100 * best['flagged']:.1f}% of replies; from {sweep['replies']} labeled replies)"
    )


def sweep_report(sweep: dict[str, Any]) -> str:
    """The sweep as `griefguard evaluate --sweep` prints it: a heading, the table and the verdict."""
    heading = f"threshold sweep ({sweep['replies']} replies, {sweep['critical']} critical)"
    return f"\n{heading}\n{text_table(sweep_rows(sweep))}{sweep_verdict(sweep)}\n"


def errors_report(wrong: list[Misclassified], total: int) -> str:
    """The misclassified rows as `griefguard evaluate --errors` prints them, most confidently wrong first."""
    return f"\n{len(wrong)} misclassified of {total} (most confidently wrong first)\n{text_table(error_rows(wrong))}"


def error_rows(wrong: list[Misclassified]) -> list[tuple[str, ...]]:
    """Misclassified rows as table rows, the text on one line and cut at 100 characters."""
    rows = [("line", "label", "predicted", "score", "flagged", "known", "kind", "text")]
    for m in wrong:
        text = " ".join(m.text.split())
        rows.append(
            (
                str(m.line),
                m.label,
                m.predicted,
                f"{m.score:.3f}",
                "yes" if m.flagged else "no",
                f"{round(100 * m.coverage)}%",
                m.kind or "-",
                text if len(text) <= 100 else text[:99] + "…",
            )
        )
    return rows
