"""Model selection by stratified cross-validation on the training rows only.

Every candidate is scored on its out-of-fold predictions with one selection score, the mean of:
1. flag macro F1 on the authored rows (critical flagged, everything else not), at the threshold below;
2. mean flag accuracy over the hard-case and everyday kinds (defends, sarcasm, negation, ..., condolence,
   swearing, death_fact, gentle_advice, hedged);
3. label macro F1 on the authored rows (the most probable label against the true one);
4. the share of real neutral and empathic comments that are not flagged;
5. ROC AUC of real hostile comments against real neutral and empathic ones.
(Terms 4 and 5 apply when real comments are trained on.) The threshold is the F1-best one for critical,
raised where needed so that at most MAX_REAL_FLAG_RATE of the real neutral comments, and of the real empathic
ones, are flagged.
Stages try feature sets and link, then C, then the weight of real comments, then the normaliser; each keeps
the simplest candidate within SIMPLER_WINS_WITHIN of its best, because smaller differences are noise at this
size. Features are computed once per fold and feature setting, with the same engine that scores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from griefguard.dataset import EVERYDAY_KINDS, HARD_KINDS
from griefguard.engine import Encoded, FeatureEngine
from griefguard.labels import BENIGN_ROLES
from griefguard.metrics import best_f1_threshold, compute_metrics, roc_auc
from griefguard.model_file import POSITIVE_LABEL
from griefguard.normalize import Tokens, tokenize
from griefguard.sentences import SentenceRule, most_critical_sentences
from griefguard.training.data import TrainingRows
from griefguard.training.params import ModelParams, fit_classifier, fit_engine

__all__ = ["CrossValidation", "SelectionResult", "select_model", "sentence_rule_candidates"]

SIMPLER_WINS_WITHIN = 0.002
# The kinds whose mean accuracy is one term of the selection score: the hard cases, and the everyday replies a
# moderator sees most (condolences, swearing, facts about the death, gentle advice, the critics' hedges).
SELECTION_KINDS = (*HARD_KINDS, *EVERYDAY_KINDS)
MAX_REAL_FLAG_RATE = 0.03  # the most real neutral and empathic comments the threshold may flag (cross-validated)

# Stage candidates, simplest first.
STAGE_FEATURES = [((1, 2), None, "softmax"), ((1, 2), None, "ovr"), ((1, 3), None, "softmax"), ((1, 3), None, "ovr")]
# Character n-grams inside tokens, tried only when asked (`train --search-chars`): they about triple the time of
# model selection, and on the shipped data they rank real hostility better but lose on the authored rows.
STAGE_CHAR_FEATURES = [((1, 2), (2, 5), "softmax"), ((1, 2), (2, 5), "ovr")]
STAGE_C = [4.0, 16.0, 64.0]
STAGE_REAL_WEIGHT = [1.0, 0.5, 0.25]
STAGE_NORMALIZER = [("full", 0), ("full", 3), ("lower", 0)]
STAGE_AUGMENT = [False, True]


def sentence_rule_candidates() -> list[SentenceRule]:
    """No rule first, then every rule tried: weight, gate (a sentence the model is at least this sure of),
    and the fewest sentences a reply must have for a sentence to count."""
    return [SentenceRule()] + [SentenceRule(w, g, m) for w in (0.5, 1.0) for g in (0.8, 0.9, 0.95) for m in (3, 4, 5)]


@dataclass
class OutOfFold:
    """Out-of-fold predictions of one candidate: label probabilities of every row, and (when asked) each
    reply's most critical sentence's probability of being critical (0 for one-sentence replies)."""

    params: ModelParams
    probabilities: np.ndarray
    worst_sentence: np.ndarray | None = None
    sentences: np.ndarray | None = None  # non-empty sentences per reply

    def with_rule(self, rule: SentenceRule, c: int) -> np.ndarray:
        """The probabilities with a sentence rule applied (`SentenceRule.apply`, the scorer's own); needs a run
        with sentences."""
        if self.worst_sentence is None or self.sentences is None:
            raise ValueError("these out-of-fold predictions were made without sentences")
        return rule.apply(self.probabilities, self.worst_sentence, self.sentences, c)[0]


class CrossValidation:
    """Folds, tokens and per-fold features of a training set, shared by every candidate."""

    def __init__(
        self,
        rows: TrainingRows,
        labels: list[str],
        folds: int,
        random_state: int,
        jobs: int = 0,
        derived: tuple[TrainingRows, np.ndarray] | None = None,
    ) -> None:
        self.rows = rows
        self.labels = labels
        self.y = np.array([labels.index(lab) for lab in rows.labels])
        self.is_real = rows.is_real
        # Derived rows (`augment.derived_rows`) follow their source row: they train only where it trains, and are
        # never scored. Their indices come after the rows'.
        extra, self.origin = derived if derived is not None else (TrainingRows(), np.zeros(0, dtype=np.int64))
        self.texts = rows.texts + extra.texts
        self.y_all = np.concatenate([self.y, [labels.index(lab) for lab in extra.labels]]).astype(np.int64)
        self.real_all = np.concatenate([self.is_real, np.zeros(len(extra), dtype=bool)])
        self.random_state = random_state
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        strata = np.array([f"{lab}|{real}" for lab, real in zip(rows.labels, self.is_real, strict=True)])
        self.splits = list(splitter.split(np.zeros(len(self.y)), strata))
        self.jobs = jobs or min(2, os.cpu_count() or 1)
        self._tokens: dict[tuple[str, int], Tokens] = {}
        self._features: dict[tuple[Any, ...], list[tuple[Any, Any]]] = {}

    def tokens(self, normalizer: str, negation_scope: int) -> Tokens:
        key = (normalizer, negation_scope)
        if key not in self._tokens:
            self._tokens[key] = tokenize(self.texts, normalizer, negation_scope)
        return self._tokens[key]

    def _fold_features(self, params: ModelParams) -> list[tuple[Any, Any]]:
        """For each fold: the engine fitted on its training rows, and the TF-IDF matrix of every row."""
        key = params.feature_key()
        if key not in self._features:
            tokens = self.tokens(params.normalizer, params.negation_scope)
            out = []
            for train_idx, _ in self.splits:
                engine = fit_engine(params, tokens, self.training_docs(params, train_idx))
                encoded = engine.encode(tokens)
                out.append((engine, (encoded, engine.rows(encoded).to_scipy())))
            self._features[key] = out
        return self._features[key]

    def training_docs(self, params: ModelParams, train_idx: np.ndarray) -> np.ndarray:
        """A fold's training rows, with the derived rows of those rows when `params.augment`."""
        if not params.augment or not len(self.origin):
            return train_idx
        extra = len(self.y) + np.flatnonzero(np.isin(self.origin, train_idx))
        return np.concatenate([train_idx, extra])

    def weights(self, params: ModelParams) -> np.ndarray:
        """Sample weights of every row, derived rows included (real comments weigh `params.real_weight`)."""
        return np.where(self.real_all, params.real_weight, 1.0)

    def run(self, params: ModelParams, sentences: bool = False) -> OutOfFold:
        """Out-of-fold predictions for `params` (folds fitted in parallel worker processes)."""
        from joblib import Parallel, delayed

        features = self._fold_features(params)
        weight = self.weights(params)
        docs = [self.training_docs(params, train_idx) for train_idx, _ in self.splits]
        jobs = [
            (params, X[d], self.y_all[d], weight[d], self.random_state)
            for d, (_, (_, X)) in zip(docs, features, strict=True)
        ]
        fitted = Parallel(n_jobs=self.jobs)(delayed(fit_classifier)(*job) for job in jobs)
        probs = np.zeros((len(self.y), len(self.labels)))
        worst = np.zeros(len(self.y)) if sentences else None
        counts = np.zeros(len(self.y), dtype=np.int64) if sentences else None
        c = self.labels.index(POSITIVE_LABEL)
        for (_, held), model, (engine, (encoded, X)) in zip(self.splits, fitted, features, strict=True):
            probs[held] = _proba(model, X[held], len(self.labels))
            if sentences:
                assert worst is not None and counts is not None
                w, n = _sentence_scores(engine, model, encoded, held, c, len(self.labels))
                worst[held], counts[held] = w, n
        return OutOfFold(params, probs, worst, counts)


def _proba(model: Any, X: Any, n_labels: int) -> np.ndarray:
    p = model.predict_proba(X)
    if p.shape[1] == n_labels:
        return p
    out = np.zeros((p.shape[0], n_labels))  # a fold without some label: place columns by class index
    out[:, model.classes_] = p
    return out


def _sentence_scores(
    engine: FeatureEngine, model: Any, encoded: Encoded, held: np.ndarray, c: int, n_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """For the held-out replies: the highest sentence probability of critical, and the non-empty sentences."""
    sentence_rows = engine.rows(encoded, by="sentence").to_scipy()

    def critical(chosen: np.ndarray) -> np.ndarray:
        return _proba(model, sentence_rows[chosen], n_labels)[:, c]

    _, worst, counts = most_critical_sentences(encoded, critical, held)
    return worst[held], counts[held]


def moderation_threshold(
    y: np.ndarray,
    score: np.ndarray,
    benign: np.ndarray,
    roles: np.ndarray | None = None,
    max_rate: float = MAX_REAL_FLAG_RATE,
) -> float:
    """The F1-best threshold for critical, raised where needed so that at most `max_rate` of the real neutral and
    empathic comments (`benign`) are flagged, of each role on its own when `roles` are given: a moderation queue
    lives or dies by its false flags."""
    threshold = best_f1_threshold(y, score)
    groups = [benign] if roles is None else [benign & (roles == r) for r in np.unique(roles[benign])]
    for group in groups:
        values = np.sort(score[group])[::-1]
        allowed = int(np.floor(max_rate * len(values)))  # how many may be flagged
        if allowed < len(values) and np.count_nonzero(values >= threshold) > allowed:
            threshold = float(np.nextafter(values[allowed], np.inf))  # just above the first one too many
    return float(threshold)


@dataclass
class Scored:
    score: float
    threshold: float
    metrics: dict[str, Any]


def selection_score(rows: TrainingRows, labels: list[str], probs: np.ndarray) -> Scored:
    """The selection score (see the module docstring) of out-of-fold probabilities."""
    c = labels.index(POSITIVE_LABEL)
    score = probs[:, c]
    y = np.array([lab == POSITIVE_LABEL for lab in rows.labels])
    real = rows.is_real
    roles = np.array(rows.roles, dtype=object)
    threshold = moderation_threshold(y, score, real & np.isin(roles, BENIGN_ROLES), roles)
    authored = ~real
    kinds = [k for k, r in zip(rows.kinds, real, strict=True) if not r]
    m = compute_metrics(
        [lab for lab, r in zip(rows.labels, real, strict=True) if not r], probs[authored], labels, threshold, kinds
    )
    parts = {"flag_macro_f1": m["flag_macro_f1"], "label_macro_f1": m["label"]["macro_f1"]}
    hard = [v["accuracy"] for k, v in m.get("kinds", {}).items() if k in SELECTION_KINDS]
    if hard:
        parts["hard_kinds"] = float(np.mean(hard))
    if real.any():
        benign = real & np.isin(roles, BENIGN_ROLES)
        hostile = real & (roles == "hostile")
        if benign.any():
            parts["real_not_flagged"] = float((score[benign] < threshold).mean())
        if benign.any() and hostile.any():
            auc = roc_auc(np.r_[np.ones(hostile.sum()), np.zeros(benign.sum())], np.r_[score[hostile], score[benign]])
            parts["real_hostile_auc"] = float(auc) if auc is not None else 0.0
    total = float(np.mean([v for v in parts.values() if v is not None]))
    return Scored(total, threshold, {"parts": {k: round(float(v), 4) for k, v in parts.items()}, "authored": m})


@dataclass
class SelectionResult:
    params: ModelParams
    oof: OutOfFold
    scored: Scored
    tried: list[dict[str, Any]]


def _record(tried: list[dict[str, Any]], stage: str, params: ModelParams, scored: Scored) -> None:
    m = scored.metrics["authored"]
    tried.append(
        {
            "stage": stage,
            "params": params.describe(),
            "selection_score": round(scored.score, 4),
            "threshold": round(scored.threshold, 4),
            "parts": scored.metrics["parts"],
            "hard_kinds": {k: v["accuracy"] for k, v in m.get("kinds", {}).items() if k in SELECTION_KINDS},
        }
    )


def select_model(
    cv: CrossValidation,
    start: ModelParams,
    search: bool = True,
    say: Callable[[str], None] = lambda _m: None,
    search_chars: bool = False,
) -> SelectionResult:
    """Stage by stage, the simplest candidate within SIMPLER_WINS_WITHIN of each stage's best."""
    tried: list[dict[str, Any]] = []
    seen: dict[ModelParams, tuple[OutOfFold, Scored]] = {}
    has_real = bool(cv.is_real.any())

    def evaluate(params: ModelParams, stage: str) -> tuple[OutOfFold, Scored]:
        if params not in seen:
            oof = cv.run(params)
            scored = selection_score(cv.rows, cv.labels, oof.probabilities)
            seen[params] = (oof, scored)
            _record(tried, stage, params, scored)
            say(f"[{len(tried):>2}] {stage:<11} {params.describe():<64} score {scored.score:.4f}")
        return seen[params]

    def pick(candidates: list[ModelParams], stage: str) -> ModelParams:
        scored = [(p, evaluate(p, stage)[1].score) for p in candidates]
        top = max(s for _, s in scored)
        return next(p for p, s in scored if s >= top - SIMPLER_WINS_WITHIN)

    params = start
    if search:
        features = STAGE_FEATURES + (STAGE_CHAR_FEATURES if search_chars else [])
        links = features if len(cv.labels) > 2 else [f for f in features if f[2] == "softmax"]
        params = pick([replace(params, ngram_range=n, char_range=ch, link=k) for n, ch, k in links], "features")
        params = pick([replace(params, C=c) for c in STAGE_C], "C")
        if has_real:
            params = pick([replace(params, real_weight=w) for w in STAGE_REAL_WEIGHT], "real weight")
        params = pick([replace(params, normalizer=n, negation_scope=s) for n, s in STAGE_NORMALIZER], "normaliser")
        if len(cv.origin):
            params = pick([replace(params, augment=a) for a in STAGE_AUGMENT], "augment")
    oof, scored = evaluate(params, "chosen")
    return SelectionResult(params, oof, scored, tried)
