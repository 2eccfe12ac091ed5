"""Training the thread stage: how a reply reads under the comment it answers (see `griefguard.thread`).

The first stage (the reply-only model) is fitted first, on every row without a parent. Its predictions on the
thread rows are out of sample (those rows are never in its training data), so the thread stage is fitted on them
directly. Candidates are compared by cross-validation grouped by post (a thread's replies share parents, so they
stay in one fold); each is scored by the mean of ROC AUC of critical, flag macro F1 at the model's threshold and
mean flag accuracy over the thread kinds, and the simplest candidate within SIMPLER_WINS_WITHIN of the best wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from griefguard.engine import Rows
from griefguard.metrics import compute_metrics, roc_auc
from griefguard.model_file import POSITIVE_LABEL
from griefguard.scorer import Scorer
from griefguard.thread import ThreadInputs, ThreadLayout, ThreadStage, thread_features
from griefguard.training.data import ThreadRows
from griefguard.training.search import SIMPLER_WINS_WITHIN

__all__ = ["ThreadParams", "ThreadSelection", "fit_thread_stage", "select_thread_stage"]


@dataclass(frozen=True)
class ThreadParams:
    """Which blocks the thread stage has (besides its dense columns), how often a term must occur in the training
    replies (or parents, posts) to get a column, and the inverse regularisation strength."""

    conditioned: bool = True
    parent_block: bool = False
    post_block: bool = False
    min_df: int = 2
    C: float = 4.0

    def describe(self) -> str:
        blocks = ["dense"]
        blocks += ["reply|parent"] if self.conditioned else []
        blocks += ["parent"] if self.parent_block else []
        blocks += ["post"] if self.post_block else []
        return f"{'+'.join(blocks)} min_df={self.min_df} C={self.C:g}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Candidates, simplest first: the blocks, then C.
STAGE_BLOCKS = [
    ThreadParams(conditioned=False),
    ThreadParams(),
    ThreadParams(parent_block=True),
    ThreadParams(parent_block=True, post_block=True),
]
STAGE_C = [1.0, 4.0, 16.0, 64.0]


def _subset(inputs: ThreadInputs, idx: np.ndarray) -> ThreadInputs:
    return ThreadInputs(
        inputs.reply_rows.take(idx),
        inputs.reply_probs[idx],
        inputs.reply_known[idx],
        inputs.parent_probs[idx],
        None if inputs.parent_rows is None else inputs.parent_rows.take(idx),
        None if inputs.post_rows is None else inputs.post_rows.take(idx),
    )


def _frequent(rows: Rows | None, min_df: int) -> np.ndarray:
    """Feature indices that occur in at least `min_df` of the rows."""
    if rows is None or not len(rows.data):
        return np.zeros(0, dtype=np.int64)
    df = np.bincount(rows.indices, minlength=rows.n_features)  # each (row, feature) pair occurs once in Rows
    return np.flatnonzero(df >= min_df).astype(np.int64)


def _layout(params: ThreadParams, inputs: ThreadInputs, n_labels: int) -> ThreadLayout:
    none = np.zeros(0, dtype=np.int64)
    return ThreadLayout(
        n_labels=n_labels,
        terms=_frequent(inputs.reply_rows, params.min_df) if params.conditioned else none,
        parent_terms=_frequent(inputs.parent_rows, params.min_df) if params.parent_block else none,
        post_terms=_frequent(inputs.post_rows, params.min_df) if params.post_block else none,
    )


def _matrix(layout: ThreadLayout, inputs: ThreadInputs):  # type: ignore[no-untyped-def]
    dense, blocks = thread_features(layout, inputs)
    return sparse.hstack([sparse.csr_matrix(dense), blocks.to_scipy()[:, layout.n_dense :]]).tocsr()


def fit_thread_stage(
    params: ThreadParams, inputs: ThreadInputs, y: np.ndarray, n_labels: int, random_state: int = 0
) -> ThreadStage:
    """The thread stage for `params`, fitted on replies read under their parents (`y`: label indices)."""
    layout = _layout(params, inputs, n_labels)
    model = LogisticRegression(C=params.C, solver="lbfgs", max_iter=3000, random_state=random_state)
    model.fit(_matrix(layout, inputs), y)
    coef = np.zeros((layout.n_columns, n_labels))
    intercept = np.full(n_labels, -30.0)  # a label absent from these rows is never predicted
    if len(model.classes_) == 2:  # scikit-learn's binary form: one row for the second class against the first
        coef[:, model.classes_[1]] = model.coef_[0]
        intercept[model.classes_] = [0.0, model.intercept_[0]]
    else:
        coef[:, model.classes_] = model.coef_.T
        intercept[model.classes_] = model.intercept_
    return ThreadStage(layout, coef, intercept)


@dataclass
class ThreadSelection:
    params: ThreadParams
    stage: ThreadStage
    out_of_fold: np.ndarray  # label probabilities of every thread training row, from the chosen candidate
    tried: list[dict[str, Any]]


def _score(rows: ThreadRows, labels: list[str], probs: np.ndarray, threshold: float) -> tuple[float, dict[str, float]]:
    m = compute_metrics(rows.labels, probs, labels, threshold, rows.kinds)
    y = np.array([lab == POSITIVE_LABEL for lab in rows.labels])
    auc = roc_auc(y.astype(float), probs[:, labels.index(POSITIVE_LABEL)]) or 0.0
    kinds = float(np.mean([v["accuracy"] for v in m.get("kinds", {}).values()])) if m.get("kinds") else 0.0
    parts = {"roc_auc": float(auc), "flag_macro_f1": float(m["flag_macro_f1"]), "kinds": kinds}
    return float(np.mean(list(parts.values()))), {k: round(v, 4) for k, v in parts.items()}


def select_thread_stage(
    scorer: Scorer,
    rows: ThreadRows,
    folds: int = 5,
    random_state: int = 0,
    search: bool = True,
    params: ThreadParams | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> ThreadSelection:
    """Choose and fit the thread stage on top of a fitted first stage (`scorer`)."""
    labels = list(scorer.labels)
    inputs = scorer.thread_inputs(rows.texts, rows.parents, rows.posts)
    y = np.array([labels.index(lab) for lab in rows.labels])
    groups = np.array([post or parent for post, parent in zip(rows.posts, rows.parents, strict=True)], dtype=object)
    splits = list(GroupKFold(n_splits=min(folds, len(set(groups)))).split(np.zeros(len(y)), y, groups))
    tried: list[dict[str, Any]] = []
    seen: dict[ThreadParams, tuple[float, np.ndarray]] = {}

    def evaluate(candidate: ThreadParams, stage: str) -> float:
        if candidate not in seen:
            probs = np.zeros((len(y), len(labels)))
            for train_idx, held in splits:
                fitted = fit_thread_stage(candidate, _subset(inputs, train_idx), y[train_idx], len(labels))
                probs[held] = fitted.probabilities(_subset(inputs, held))
            score, parts = _score(rows, labels, probs, scorer.threshold)
            seen[candidate] = (score, probs)
            tried.append(
                {"stage": stage, "params": candidate.describe(), "selection_score": round(score, 4), "parts": parts}
            )
            say(f"[thread] {stage:<7} {candidate.describe():<40} score {score:.4f}")
        return seen[candidate][0]

    def pick(candidates: list[ThreadParams], stage: str) -> ThreadParams:
        scored = [(c, evaluate(c, stage)) for c in candidates]
        top = max(s for _, s in scored)
        return next(c for c, s in scored if s >= top - SIMPLER_WINS_WITHIN)

    chosen = params or ThreadParams()
    if search:
        chosen = pick([replace(b, C=chosen.C) for b in STAGE_BLOCKS], "blocks")
        chosen = pick([replace(chosen, C=c) for c in STAGE_C], "C")
    evaluate(chosen, "chosen")
    stage = fit_thread_stage(chosen, inputs, y, len(labels), random_state)
    return ThreadSelection(chosen, stage, seen[chosen][1], tried)
