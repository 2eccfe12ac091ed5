"""Quality metrics for scored, labeled replies, with numpy alone (so `griefguard evaluate` needs no scikit-learn).

Two views of the same predictions:
- the flag: a reply is flagged when its critical score reaches the threshold; ROC AUC, average precision,
  precision/recall/F1 of `critical` against everything else, and accuracy per hard-case kind (a critical reply
  should be flagged, any other should not);
- the label: the most probable of the model's labels; per-label precision/recall/F1, macro F1 and the
  confusion matrix.
The tests check every function against scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from griefguard.labels import CRITICAL, LABELS

__all__ = [
    "average_precision",
    "best_f1_threshold",
    "compute_metrics",
    "flag_figures",
    "label_metrics",
    "metrics_table",
    "overview_table",
    "percent",
    "precision_recall_f1",
    "real_table",
    "roc_auc",
    "text_table",
    "threshold_figures",
]

SWEEP = tuple(round(0.05 * i, 2) for i in range(1, 20))  # the thresholds a sweep shows: 0.05, 0.10, ... 0.95


def roc_auc(y: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    y_arr = np.asarray(y, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y_arr.sum())
    n_neg = len(y_arr) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # Average ranks over ties.
    starts = np.concatenate(([0], np.flatnonzero(sorted_s[1:] != sorted_s[:-1]) + 1))
    ends = np.concatenate((starts[1:], [len(s)]))
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[y_arr].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true positives, false positives, threshold) at each distinct score, highest threshold first."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.concatenate((np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), [len(s) - 1]))
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    return tp, fp, s_sorted[last]


def average_precision(y: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float | None:
    """Average precision (the step-wise area under the precision-recall curve); None without positives."""
    y_arr = np.asarray(y, dtype=np.int64)
    if y_arr.sum() == 0 or y_arr.sum() == len(y_arr):
        return None
    tp, fp, _ = _curve(y_arr, np.asarray(scores, dtype=np.float64))
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def best_f1_threshold(y: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """The score cut-off (flag when score >= cut) that maximises F1 for the positive class.

    Ties go to the highest cut-off, which flags fewer replies for the same F1.
    """
    y_arr = np.asarray(y, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if y_arr.sum() == 0:
        return 1.0
    tp, fp, thresholds = _curve(y_arr, s)
    fn = y_arr.sum() - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(thresholds[int(np.flatnonzero(f1 == f1.max())[0])])


def flag_figures(critical: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """What a threshold does on labeled replies: precision and recall of the flag (None where undefined) and the
    share of replies flagged."""
    flagged = scores >= threshold
    hits = int(np.sum(flagged & critical))
    return {
        "threshold": round(float(threshold), 6),
        "precision": round(hits / int(flagged.sum()), 4) if flagged.any() else None,
        "recall": round(hits / int(critical.sum()), 4) if critical.any() else None,
        "flagged": round(float(flagged.mean()), 4) if len(scores) else None,
    }


def threshold_figures(
    critical: Sequence[bool] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    target_precision: float = 0.9,
    thresholds: Sequence[float] = SWEEP,
) -> dict[str, Any]:
    """For choosing a threshold from labeled replies (a labeled sample, or a moderator's decisions): the flag's
    precision, recall and share flagged at each of `thresholds`, and the lowest threshold whose precision reaches
    `target_precision` (None when none does), with the number of replies and critical replies it rests on."""
    y = np.asarray(critical, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    best = None
    for t in np.unique(s):  # every distinct score is a threshold that changes something; lowest first
        flagged = s >= t
        if np.sum(flagged & y) >= target_precision * flagged.sum():
            best = flag_figures(y, s, float(t))
            break
    return {
        "replies": len(y),
        "critical": int(y.sum()),
        "target_precision": target_precision,
        "lowest_threshold_reaching_it": best,
        "sweep": [flag_figures(y, s, t) for t in thresholds],
    }


def precision_recall_f1(y: np.ndarray, pred: np.ndarray) -> dict[str, float | int]:
    """Precision, recall and F1 of the positive class (0 where undefined), and its support."""
    tp = int(np.sum(y & pred))
    fp = int(np.sum(~y & pred))
    fn = int(np.sum(y & ~pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": int(y.sum())}


def _accuracy_by(groups: Sequence[str], correct: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    arr = np.asarray(groups, dtype=object)
    for g in sorted(set(groups)):
        if not g:
            continue
        mask = arr == g
        out[g] = {"accuracy": round(float(correct[mask].mean()), 4), "n": int(mask.sum())}
    return out


def label_metrics(true: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1, accuracy, macro F1 over the labels present, and the confusion matrix
    (rows: true label, columns: predicted label, both in `labels` order)."""
    t = np.asarray(true, dtype=object)
    p = np.asarray(predicted, dtype=object)
    per = {label: precision_recall_f1(t == label, p == label) for label in labels}
    present = [label for label in labels if per[label]["support"] > 0]
    matrix = [[int(np.sum((t == a) & (p == b))) for b in labels] for a in labels]
    return {
        "accuracy": round(float((t == p).mean()), 4) if len(t) else None,
        "macro_f1": round(float(np.mean([per[label]["f1"] for label in present])), 4) if present else None,
        "labels": per,
        "confusion_labels": list(labels),
        "confusion_matrix": matrix,
    }


def compute_metrics(
    labels: Sequence[str],
    probabilities: np.ndarray,
    model_labels: Sequence[str],
    threshold: float,
    kinds: Sequence[str] | None = None,
    contexts: Sequence[str] | None = None,
    positive: str = CRITICAL,
) -> dict[str, Any]:
    """Flag and label metrics of scored replies (`probabilities` has one column per model label).

    `labels` are the true labels; labels the model does not know (for example `neutral` in an old two-label
    file) still count in the flag metrics, as "should not be flagged".
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    true = np.asarray(labels, dtype=object)
    score = probs[:, list(model_labels).index(positive)]
    y = true == positive
    flagged = score >= threshold
    correct = flagged == y
    flag = precision_recall_f1(y, flagged)
    rest = precision_recall_f1(~y, ~flagged)
    predicted = np.asarray(model_labels, dtype=object)[probs.argmax(axis=1)] if len(probs) else np.array([])
    all_labels = list(model_labels) + sorted(set(true.tolist()) - set(model_labels))
    result: dict[str, Any] = {
        "n": len(y),
        "threshold": round(float(threshold), 6),
        "roc_auc": None if (auc := roc_auc(y, score)) is None else round(auc, 4),
        "average_precision": None if (ap := average_precision(y, score)) is None else round(ap, 4),
        "flag_accuracy": round(float(correct.mean()), 4) if len(y) else None,
        "flag_macro_f1": round((flag["f1"] + rest["f1"]) / 2, 4),
        "flagged_share": round(float(flagged.mean()), 4) if len(y) else None,
        "flag": {CRITICAL: flag, f"not {CRITICAL}": rest},
        "confusion_flag": [
            [int(np.sum(~y & ~flagged)), int(np.sum(~y & flagged))],
            [int(np.sum(y & ~flagged)), int(np.sum(y & flagged))],
        ],
        "label": label_metrics(true, predicted, all_labels),
    }
    result["flagged_by_label"] = {
        label: round(float(flagged[true == label].mean()), 4) for label in all_labels if np.any(true == label)
    }
    result["harmless_flagged"] = round(float(flagged[~y].mean()), 4) if np.any(~y) else None
    if kinds is not None and any(kinds):
        result["kinds"] = _accuracy_by(kinds, correct)
        pairs = np.array([f"{k} ({lab})" for k, lab in zip(kinds, true.tolist(), strict=True)], dtype=object)
        result["flagged_by_kind"] = {
            pair: {"flagged": round(float(flagged[pairs == pair].mean()), 4), "n": int(np.sum(pairs == pair))}
            for pair in sorted(set(pairs.tolist()))
        }
    if contexts is not None and any(contexts):
        result["contexts"] = _accuracy_by(contexts, correct)
    return result


def metrics_table(named: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """Rows (metric, value per named result) for printing: the same table in training, `evaluate` and `info`."""
    names = list(named)
    rows: list[tuple[str, ...]] = [("metric", *names)]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    def add(label: str, get) -> None:  # type: ignore[no-untyped-def]
        values = []
        for k in names:
            try:
                values.append(fmt(get(named[k])))
            except (KeyError, TypeError, IndexError):
                values.append("-")
        rows.append((label, *values))

    add("replies", lambda m: m["n"])
    add("threshold", lambda m: m["threshold"])
    add("ROC AUC (critical)", lambda m: m["roc_auc"])
    add("average precision", lambda m: m["average_precision"])
    add("flag accuracy", lambda m: m["flag_accuracy"])
    add("flag macro F1", lambda m: m["flag_macro_f1"])
    add("critical precision", lambda m: m["flag"][CRITICAL]["precision"])
    add("critical recall", lambda m: m["flag"][CRITICAL]["recall"])
    labels = [lab for lab in LABELS if any(lab in m.get("flagged_by_label", {}) for m in named.values())]
    for label in labels:
        if label != CRITICAL:
            add(f"flagged: {label}", lambda m, label=label: m["flagged_by_label"][label])
    add("flagged: everything not critical", lambda m: m["harmless_flagged"])
    add("flag confusion [[TN FP] [FN TP]]", lambda m: m["confusion_flag"])
    add("label accuracy", lambda m: m["label"]["accuracy"])
    add("label macro F1", lambda m: m["label"]["macro_f1"])
    for label in labels:
        for key in ("precision", "recall", "f1"):
            add(f"label {key}: {label}", lambda m, label=label, key=key: m["label"]["labels"][label][key])
    add(
        "label confusion (true x predicted)",
        lambda m: [row[: len(labels)] for row in m["label"]["confusion_matrix"][: len(labels)]],
    )
    kinds = sorted({k for m in named.values() for k in m.get("kinds", {})})
    for k in kinds:
        add(f"accuracy: {k}", lambda m, k=k: m["kinds"][k]["accuracy"])
    return rows


def overview_table(named: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per named result with the figures a moderator compares (for `info`; the full table is
    `metrics_table`): replies, ROC AUC, flag macro F1, precision and recall of critical, and the share of
    everything not critical that is flagged."""
    rows: list[tuple[str, ...]] = [
        ("data", "replies", "ROC AUC", "flag F1", "crit. precision", "crit. recall", "not critical flagged")
    ]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    for name, m in named.items():
        flag = m.get("flag", {}).get(CRITICAL, {})
        rows.append(
            (
                name,
                str(m.get("n", "-")),
                fmt(m.get("roc_auc")),
                fmt(m.get("flag_macro_f1")),
                fmt(flag.get("precision")),
                fmt(flag.get("recall")),
                percent(m.get("harmless_flagged")),
            )
        )
    return rows


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal ("4.6%"), or "-"."""
    return "-" if value is None else f"{100 * value:.1f}%"


def real_table(real: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows: per real source, the neutral and empathic comments flagged and the hostile-vs-benign ROC AUC."""
    rows: list[tuple[str, ...]] = [
        ("held-out real source", "neutral flagged", "empathic flagged", "hostile vs benign AUC", "hostile flagged")
    ]
    for name, r in real.items():
        auc = "-" if r.get("hostile_auc") is None else f"{r['hostile_auc']:.3f}"
        if r.get("hostile_auc_against") == "all sources":
            auc += " (all benign)"  # against every source's benign comments: this source has none
        rows.append(
            (
                name,
                f"{percent(r.get('neutral_flagged'))} of {r['neutral_n']}" if "neutral_n" in r else "-",
                f"{percent(r.get('empathic_flagged'))} of {r['empathic_n']}" if "empathic_n" in r else "-",
                auc,
                f"{percent(r.get('hostile_flagged'))} of {r['hostile_n']}" if "hostile_n" in r else "-",
            )
        )
    return rows


def text_table(rows: Sequence[Sequence[str]], width: int = 100) -> str:
    """Rows as aligned plain text for a terminal: the first column left-aligned, the others right-aligned, a rule
    under the header row. A table wider than `width` is printed in blocks of columns that fit, each block
    repeating the first column, so that it reads on a 100-column terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for i in range(1, len(widths)):
        if blocks[-1] and used + 2 + widths[i] > width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(i)
        used += 2 + widths[i]
    out = []
    for columns in blocks:
        lines = []
        for n, row in enumerate(rows):
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in columns]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * widths[i] for i in [0, *columns]))
        out.append("".join(line + "\n" for line in lines))
    return "\n".join(out)
