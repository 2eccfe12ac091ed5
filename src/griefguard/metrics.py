"""Quality metrics for scored, labeled replies, and the table that training and `evaluate` print.

Kept out of the scoring path: it imports scikit-learn's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["best_f1_threshold", "compute_metrics", "metrics_table"]


def best_f1_threshold(y: Sequence[int], scores: Sequence[float]) -> float:
    """The score cut-off (flag when score >= cut) that maximises F1 for the critical class.

    Ties go to the highest cut-off, which flags fewer supportive replies for the same F1.
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(np.asarray(y), np.asarray(scores))
    p, r = precision[:-1], recall[:-1]
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    best = np.flatnonzero(f1 == f1.max())
    return float(thresholds[best[-1]])


def _accuracy_by(groups: Sequence[str], correct: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    arr = np.asarray(groups, dtype=object)
    for g in sorted(set(groups)):
        if not g:
            continue
        mask = arr == g
        out[g] = {"accuracy": round(float(correct[mask].mean()), 4), "n": int(mask.sum())}
    return out


def compute_metrics(
    y: Sequence[int],
    scores: Sequence[float],
    threshold: float,
    kinds: Sequence[str] | None = None,
    contexts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """ROC AUC, average precision, P/R/F1 per label, macro F1, accuracy, confusion matrix, per-kind accuracy.

    `y` is 1 for critical, 0 for supportive; a reply is predicted critical when its score >= threshold.
    The confusion matrix is [[supportive kept, supportive flagged], [critical kept, critical flagged]].
    """
    from sklearn.metrics import (
        average_precision_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y_true = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    both = len(set(y_true.tolist())) == 2
    p, r, f, n = precision_recall_fscore_support(y_true, pred, labels=[1, 0], zero_division=0)
    correct = pred == y_true
    result: dict[str, Any] = {
        "n": len(y_true),
        "threshold": round(float(threshold), 6),
        "roc_auc": round(float(roc_auc_score(y_true, s)), 4) if both else None,
        "average_precision": round(float(average_precision_score(y_true, s)), 4) if both else None,
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(float(np.mean(f)), 4),
        "labels": {
            label: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(n[i]),
            }
            for i, label in enumerate(("critical", "supportive"))
        },
        "confusion_matrix": confusion_matrix(y_true, pred, labels=[0, 1]).tolist(),
    }
    if kinds is not None and any(kinds):
        result["kinds"] = _accuracy_by(kinds, correct)
    if contexts is not None and any(contexts):
        result["contexts"] = _accuracy_by(contexts, correct)
    return result


def metrics_table(named: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """Rows (metric, value per named result) for printing: the same table in training and `evaluate`."""
    names = list(named)
    rows: list[tuple[str, ...]] = [("metric", *names)]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    def add(label: str, get) -> None:  # type: ignore[no-untyped-def]
        rows.append((label, *[fmt(get(named[k])) for k in names]))

    add("replies", lambda m: m["n"])
    add("ROC AUC", lambda m: m["roc_auc"])
    add("average precision", lambda m: m["average_precision"])
    add("accuracy", lambda m: m["accuracy"])
    add("macro F1", lambda m: m["macro_f1"])
    for label in ("critical", "supportive"):
        for key in ("precision", "recall", "f1"):
            add(f"{label} {key}", lambda m, label=label, key=key: m["labels"][label][key])
    add("confusion [[TN FP] [FN TP]]", lambda m: m["confusion_matrix"])
    kinds = sorted({k for m in named.values() for k in m.get("kinds", {})})
    for k in kinds:
        add(f"accuracy: {k}", lambda m, k=k: m.get("kinds", {}).get(k, {}).get("accuracy"))
    return rows
