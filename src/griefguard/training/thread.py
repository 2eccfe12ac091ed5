"""Training the thread stage: how a reply reads under the comment it answers (see `griefguard.thread`).

One threshold serves both stages, so the thread stage is calibrated to it: its cut is chosen on its own
cross-validated predictions (the F1-best cut, raised where needed so that at most MAX_THREAD_FLAG_RATE of the
non-critical thread replies are flagged: defenders, agreement with supporters, side talk), and a constant added to
its critical logit moves that cut exactly onto the model's threshold (with fewer than MIN_CALIBRATION_ROWS thread
replies, the cut would be noise, and the stage is left as fitted).

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

from griefguard.engine import FeatureEngine, Rows, Vocabulary
from griefguard.errors import DataError
from griefguard.metrics import compute_metrics, roc_auc
from griefguard.model_file import POSITIVE_LABEL
from griefguard.normalize import Tokens
from griefguard.scorer import Scorer
from griefguard.thread import ThreadInputs, ThreadLayout, ThreadStage, thread_features
from griefguard.training.data import ThreadRows
from griefguard.training.search import SIMPLER_WINS_WITHIN, moderation_threshold
from griefguard.vocabulary_fit import fit_vocabulary

__all__ = ["MAX_THREAD_FLAG_RATE", "ThreadParams", "ThreadSelection", "fit_thread_stage", "select_thread_stage"]

MAX_THREAD_FLAG_RATE = 0.05  # the most non-critical thread replies the calibrated stage may flag (cross-validated)
MIN_CALIBRATION_ROWS = 200  # fewer thread replies than this: the stage is not calibrated


@dataclass(frozen=True)
class ThreadParams:
    """Which blocks the thread stage has (besides its dense columns), the word n-grams of its own reply vocabulary,
    how often an n-gram must occur in the training replies (or parents, posts) to get a column, and the inverse
    regularisation strength."""

    conditioned: bool = True
    parent_block: bool = False
    post_block: bool = False
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 2
    C: float = 16.0

    def describe(self) -> str:
        blocks = ["dense"]
        blocks += [f"reply{self.ngram_range[0]}-{self.ngram_range[1]}|parent"] if self.conditioned else []
        blocks += ["parent"] if self.parent_block else []
        blocks += ["post"] if self.post_block else []
        return f"{'+'.join(blocks)} min_df={self.min_df} C={self.C:g}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ngram_range"] = list(self.ngram_range)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ThreadParams:
        """The parameters recorded in a model card (`as_dict`)."""
        return cls(**{**values, "ngram_range": tuple(values.get("ngram_range", (1, 2)))})


# Candidates, simplest first: the blocks, then C.
STAGE_BLOCKS = [
    ThreadParams(conditioned=False),
    ThreadParams(),
    ThreadParams(parent_block=True),
    ThreadParams(parent_block=True, post_block=True),
]
STAGE_C = [4.0, 16.0, 64.0]


def _frequent(rows: Rows | None, min_df: int) -> np.ndarray:
    """Feature indices that occur in at least `min_df` of the rows."""
    if rows is None or not len(rows.data):
        return np.zeros(0, dtype=np.int64)
    df = np.bincount(rows.indices, minlength=rows.n_features)  # each (row, feature) pair occurs once in Rows
    return np.flatnonzero(df >= min_df).astype(np.int64)


def _matrix(layout: ThreadLayout, inputs: ThreadInputs):  # type: ignore[no-untyped-def]
    dense, blocks = thread_features(layout, inputs)
    return sparse.hstack([sparse.csr_matrix(dense), blocks.to_scipy()[:, layout.n_dense :]]).tocsr()


def fit_thread_stage(
    params: ThreadParams,
    inputs: ThreadInputs,
    tokens: Tokens,
    docs: np.ndarray,
    y: np.ndarray,
    first: Vocabulary,
    sublinear_tf: bool = True,
    random_state: int = 0,
) -> tuple[ThreadStage, ThreadInputs]:
    """The thread stage for `params`, fitted on the replies `docs` (`y`: label indices of all replies), and the
    inputs of every reply completed with their rows in the stage's own vocabulary (to score the others).

    `inputs` and `tokens` come from `Scorer.first_stage_inputs`; `first` is the first stage's vocabulary, whose
    normaliser the stage's vocabulary shares."""
    n_labels = inputs.reply_probs.shape[1]
    if params.conditioned:
        vocabulary, idf = fit_vocabulary(
            tokens, first.normalizer, params.ngram_range, params.min_df, first.negation_scope, docs
        )
    else:
        low, high = params.ngram_range
        empty = [np.zeros(0, dtype=np.int64) for _ in range(low, high + 1)]
        vocabulary, idf = Vocabulary(first.normalizer, low, high, [], empty, first.negation_scope), np.zeros(0)
    engine = FeatureEngine(vocabulary, idf, sublinear_tf)
    complete = replace(inputs, thread_rows=engine.rows(engine.encode(tokens)))
    train = complete.take(docs)
    layout = ThreadLayout(
        n_labels=n_labels,
        vocabulary=vocabulary,
        idf=idf,
        parent_terms=_frequent(train.parent_rows, params.min_df) if params.parent_block else np.zeros(0, np.int64),
        post_terms=_frequent(train.post_rows, params.min_df) if params.post_block else np.zeros(0, np.int64),
    )
    model = LogisticRegression(C=params.C, solver="lbfgs", max_iter=3000, random_state=random_state)
    model.fit(_matrix(layout, train), y[docs])
    coef = np.zeros((layout.n_columns, n_labels))
    intercept = np.full(n_labels, -30.0)  # a label absent from these rows is never predicted
    if len(model.classes_) == 2:  # scikit-learn's binary form: one row for the second class against the first
        coef[:, model.classes_[1]] = model.coef_[0]
        intercept[model.classes_] = [0.0, model.intercept_[0]]
    else:
        coef[:, model.classes_] = model.coef_.T
        intercept[model.classes_] = model.intercept_
    return ThreadStage(layout, coef, intercept), complete


@dataclass
class ThreadSelection:
    params: ThreadParams
    stage: ThreadStage
    out_of_fold: np.ndarray  # label probabilities of every thread training row, from the chosen candidate
    tried: list[dict[str, Any]]
    shift: float = 0.0  # added to the stage's critical logit (see `select_thread_stage`)
    cut: float = 0.5  # the cross-validated cut that the shift moves to the model's threshold


def _score(rows: ThreadRows, labels: list[str], probs: np.ndarray, threshold: float) -> tuple[float, dict[str, float]]:
    m = compute_metrics(rows.labels, probs, labels, threshold, rows.kinds)
    y = np.array([lab == POSITIVE_LABEL for lab in rows.labels])
    auc = roc_auc(y.astype(float), probs[:, labels.index(POSITIVE_LABEL)]) or 0.0
    kinds = float(np.mean([v["accuracy"] for v in m.get("kinds", {}).values()])) if m.get("kinds") else 0.0
    parts = {"roc_auc": float(auc), "flag_macro_f1": float(m["flag_macro_f1"]), "kinds": kinds}
    return float(np.mean(list(parts.values()))), {k: round(v, 4) for k, v in parts.items()}


def _grouped_folds(rows: ThreadRows, folds: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that keep a thread together: grouped by post, or by parent comment when there are fewer posts than
    folds (a file of one thread)."""
    groups = np.array(rows.posts, dtype=object)
    if len(set(rows.posts)) < folds:
        groups = np.array(rows.parents, dtype=object)
    distinct = len(set(groups.tolist()))
    if distinct < 2:
        raise DataError("thread rows need replies to at least two different parent comments to be cross-validated")
    return list(GroupKFold(n_splits=min(folds, distinct)).split(np.zeros(n), groups=groups))


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
    inputs, tokens = scorer.first_stage_inputs(rows.texts, rows.parents, rows.posts)
    first = scorer.model.vocabulary
    sublinear = scorer.model.sublinear_tf
    y = np.array([labels.index(lab) for lab in rows.labels])
    splits = _grouped_folds(rows, folds, len(y))
    tried: list[dict[str, Any]] = []
    seen: dict[ThreadParams, tuple[float, np.ndarray]] = {}

    def evaluate(candidate: ThreadParams, stage: str) -> float:
        if candidate not in seen:
            probs = np.zeros((len(y), len(labels)))
            for train_idx, held in splits:
                fitted, complete = fit_thread_stage(candidate, inputs, tokens, train_idx, y, first, sublinear)
                probs[held] = fitted.probabilities(complete.take(held))
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
    everything = np.arange(len(y), dtype=np.int64)
    stage, _ = fit_thread_stage(chosen, inputs, tokens, everything, y, first, sublinear, random_state)
    out_of_fold = seen[chosen][1]
    c = labels.index(POSITIVE_LABEL)
    critical = y == c
    cut = moderation_threshold(critical, out_of_fold[:, c], ~critical, max_rate=MAX_THREAD_FLAG_RATE)
    if len(y) < MIN_CALIBRATION_ROWS:  # too few out-of-fold predictions to place a cut: left as fitted
        cut = scorer.threshold
    shift = _log_odds(scorer.threshold) - _log_odds(cut)
    say(
        f"[thread] calibrated: critical log-odds {shift:+.2f} (cross-validated cut {cut:.3f} -> {scorer.threshold:.3f})"
    )
    intercept = stage.intercept.copy()
    intercept[c] += shift
    calibrated = replace(stage, intercept=intercept)
    return ThreadSelection(chosen, calibrated, shift_critical(out_of_fold, c, shift), tried, shift, cut)


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return float(np.log(p / (1.0 - p)))


def shift_critical(probs: np.ndarray, c: int, shift: float) -> np.ndarray:
    """Label probabilities with `shift` added to the critical logit (what adding it to the intercept does to a
    softmax): the critical probability's log-odds move by `shift`, the others shrink in proportion."""
    scaled = probs.copy()
    scaled[:, c] *= np.exp(shift)
    return scaled / scaled.sum(axis=1, keepdims=True)
