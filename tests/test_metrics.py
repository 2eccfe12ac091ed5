"""The numpy metrics (what `griefguard evaluate` reports without scikit-learn) equal scikit-learn's."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from griefguard.metrics import average_precision, best_f1_threshold, compute_metrics, label_metrics, roc_auc

SCORES = st.lists(
    st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])), min_size=2, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(SCORES)
def test_ranking_metrics_equal_scikit_learn(pairs: list[tuple[bool, float]]) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if y.all() or not y.any():
        assert roc_auc(y, s) is None
        return
    assert abs(roc_auc(y, s) - sk.roc_auc_score(y, s)) < 1e-12  # type: ignore[operator]
    assert abs(average_precision(y, s) - sk.average_precision_score(y, s)) < 1e-12  # type: ignore[operator]
    precision, recall, thresholds = sk.precision_recall_curve(y, s)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=precision + recall > 0
    )
    best = f1[:-1].max()
    cut = best_f1_threshold(y, s)
    assert abs(sk.f1_score(y, s >= cut) - best) < 1e-12
    assert cut == thresholds[np.flatnonzero(np.isclose(f1[:-1], best))].max(), "ties go to the highest cut-off"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=1, max_size=40))
def test_label_metrics_equal_scikit_learn(pairs: list[tuple[str, str]]) -> None:
    true = [t for t, _ in pairs]
    pred = [p for _, p in pairs]
    labels = ["a", "b", "c"]
    ours = label_metrics(true, pred, labels)
    p, r, f, n = sk.precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        assert ours["labels"][label]["precision"] == round(p[i], 4)
        assert ours["labels"][label]["recall"] == round(r[i], 4)
        assert ours["labels"][label]["f1"] == round(f[i], 4)
        assert ours["labels"][label]["support"] == n[i]
    assert ours["confusion_matrix"] == sk.confusion_matrix(true, pred, labels=labels).tolist()
    assert ours["accuracy"] == round(sk.accuracy_score(true, pred), 4)


def test_compute_metrics_flags_and_labels() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.45, 0.1, 0.45], [0.1, 0.1, 0.8]])
    m = compute_metrics(
        ["critical", "supportive", "neutral", "neutral"],
        probs,
        ["critical", "supportive", "neutral"],
        0.4,
        ["plain", "defends", "", "question"],
    )
    assert m["confusion_flag"] == [[2, 1], [0, 1]]
    assert m["flagged_by_label"] == {"critical": 1.0, "supportive": 0.0, "neutral": 0.5}
    assert m["label"]["accuracy"] == 0.75 and m["kinds"]["question"]["accuracy"] == 1.0
    assert "" not in m["kinds"]


def test_text_table_aligns_columns_under_a_rule() -> None:
    from griefguard.metrics import text_table

    out = text_table([("metric", "test"), ("ROC AUC (critical)", "0.981"), ("replies", "2140")])
    assert out.splitlines() == [
        "metric               test",
        "------------------  -----",
        "ROC AUC (critical)  0.981",
        "replies              2140",
    ]
