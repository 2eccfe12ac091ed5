"""Why a reply scored as it did: the terms that raised and lowered its score, its most critical sentence, and how
much the comment it answers moved it (`Scorer.explain`, and `Scorer.predict(..., explain=True)` for a batch).

Explanations read a batch the scorer has already scored (its probabilities, TF-IDF rows and what the thread stage
read), so a batch is tokenised once however many replies are explained. Terms are in log-odds of critical against
the other labels: for a multinomial model the local (first-order) share of each term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from griefguard.normalize import Tokens, canonicalizer, sentence_texts
from griefguard.thread import ThreadInputs, thread_features

if TYPE_CHECKING:
    from griefguard.engine import Rows
    from griefguard.scorer import Batch, Scorer

__all__ = ["EXPLAIN_FIELDS", "Explanation", "explain_scored"]

Terms = tuple[list[tuple[str, float]], list[tuple[str, float, str]]]


EXPLAIN_FIELDS = ("reasons", "against", "sentence", "sentence_score", "explained", "parent_effect")


@dataclass(frozen=True)
class Explanation:
    """Why a reply scored as it did.

    `raising` and `lowering` hold (term, contribution) pairs, in log-odds of critical against the other labels,
    largest first; `lowering` also names the label each term points to, as (term, contribution, label).
    `sentence` is the most critical sentence of a reply of two or more sentences, with its own score, and
    `from_sentence` says that this sentence set the score (the terms are then that sentence's terms).
    For a reply read under its parent comment, `parent_label` is the parent's most probable label,
    `alone_score` the reply's score read alone, and `parent_effect` how much reading it under its parent moved
    the log-odds of critical (the terms are then the thread stage's: the reply's terms under the parent, and
    what it knows of the reply and the parent).
    """

    text: str
    score: float
    threshold: float
    flagged: bool
    label: str
    coverage: float
    raising: list[tuple[str, float]] = field(default_factory=list)
    lowering: list[tuple[str, float, str]] = field(default_factory=list)
    sentence: str | None = None
    sentence_score: float | None = None
    from_sentence: bool = False
    parent_label: str | None = None
    alone_score: float | None = None
    parent_effect: float | None = None

    def fields(self) -> dict[str, Any]:
        """The output fields of an explanation (`EXPLAIN_FIELDS`): terms raising the score as [term, weight], terms
        lowering it as [term, weight, label], the most critical sentence and its score, what was explained
        (`reply`, `sentence`, or `thread` for a reply read under its parent) and the parent's effect in log-odds."""
        return {
            "reasons": [[term, round(weight, 3)] for term, weight in self.raising],
            "against": [[term, round(weight, 3), label] for term, weight, label in self.lowering],
            "sentence": self.sentence,
            "sentence_score": None if self.sentence_score is None else round(self.sentence_score, 6),
            "explained": "thread" if self.parent_effect is not None else "sentence" if self.from_sentence else "reply",
            "parent_effect": None if self.parent_effect is None else round(self.parent_effect, 3),
        }

    @property
    def parent_changed_verdict(self) -> bool:
        """Read alone, the reply would have been flagged differently."""
        return self.alone_score is not None and (self.alone_score >= self.threshold) != self.flagged


def explain_scored(
    scorer: Scorer, texts: list[str], batch: Batch, rows: Rows, tokens: Tokens, threshold: float, top: int
) -> list[Explanation]:
    """An explanation per reply of a batch scored with `sentences=True` (`Scorer.scored_batch`)."""
    labels, c = scorer.labels, scorer._critical
    out = []
    for i, text in enumerate(texts):
        probs = batch.probabilities[i]
        score = float(probs[c])
        sentence = sentence_score = None
        if batch.worst_sentence[i] >= 0:
            pieces = sentence_texts(text)
            index = int(batch.worst_sentence[i])
            sentence = pieces[index] if index < len(pieces) else None
            sentence_score = float(batch.worst_score[i])
        from_sentence = bool(batch.raised[i]) and sentence is not None
        parent_label = alone_score = parent_effect = None
        if batch.threaded[i] and batch.thread_inputs is not None and batch.thread_chosen is not None:
            at = int(np.searchsorted(batch.thread_chosen, i))
            raising, lowering = _thread_terms(scorer, batch.thread_inputs.take(np.array([at])), probs, top)
            parent_label = labels[int(np.argmax(batch.parent_probabilities[i]))]
            alone_score = float(batch.alone[i, c])
            parent_effect = round(_log_odds(score) - _log_odds(alone_score), 4)
        elif from_sentence and sentence is not None:
            engine = scorer._engine
            tokens_of = engine.tokenize([sentence])
            raising, lowering = _reply_terms(scorer, engine.rows(engine.encode(tokens_of)), tokens_of, top)
        else:
            raising, lowering = _reply_terms(scorer, rows.take(np.array([i])), None, top, text)
        out.append(
            Explanation(
                text=text,
                score=score,
                threshold=threshold,
                flagged=score >= threshold,
                label=labels[int(np.argmax(probs))],
                coverage=float(batch.coverage[i]),
                raising=raising,
                lowering=lowering,
                sentence=sentence,
                sentence_score=sentence_score,
                from_sentence=from_sentence,
                parent_label=parent_label,
                alone_score=alone_score,
                parent_effect=parent_effect,
            )
        )
    return out


def _log_odds(p: float) -> float:
    """Log-odds of a probability, clipped at 1e-4 and 1 - 1e-4 (a reply read alone as unknown scores 0)."""
    p = min(max(p, 1e-4), 1.0 - 1e-4)
    return math.log(p / (1.0 - p))


class _Ledger:
    """Contributions per term: toward critical, and toward each other label (to say which one a term favours)."""

    def __init__(self, n_others: int) -> None:
        self.terms: dict[str, list[float]] = {}
        self.n_others = n_others

    def credit(self, name: str, value: float, per_label: np.ndarray) -> None:
        entry = self.terms.setdefault(name, [0.0] * (1 + self.n_others))
        entry[0] += value
        for i, v in enumerate(per_label.tolist()):
            entry[i + 1] += v

    def ranked(self, labels: tuple[str, ...], against: list[int], top: int) -> Terms:
        """Terms by the size of their contribution: those raising the critical score, and those lowering it with
        the label each points to most."""
        ranked = sorted(self.terms.items(), key=lambda kv: (-abs(kv[1][0]), kv[0]))
        raising = [(name, round(v[0], 4)) for name, v in ranked if v[0] > 0][:top]
        lowering = [(name, round(v[0], 4), labels[against[int(np.argmax(v[1:]))]]) for name, v in ranked if v[0] < 0][
            :top
        ]
        return raising, lowering


def _thread_terms(scorer: Scorer, inputs: ThreadInputs, probs: np.ndarray, top: int) -> Terms:
    """The thread stage's terms for one reply: the dense columns by name, the reply's terms under its parent
    ("well said (under a critical comment)"), and the parent's and post's terms."""
    thread = scorer.model.thread
    assert thread is not None
    layout = thread.layout
    dense, sparse = thread_features(layout, inputs)
    labels, c = scorer.labels, scorer._critical
    against = [k for k in range(len(labels)) if k != c]
    q = probs[against] / max(probs[against].sum(), 1e-300)
    toward = thread.coef[:, c] - thread.coef[:, against] @ q
    names = layout.dense_names(labels)
    vocabulary = scorer._engine.vocabulary
    conditioned, parent_at, post_at, _ = layout.offsets
    ledger = _Ledger(len(against))
    for j in np.flatnonzero(dense[0]).tolist():
        ledger.credit(names[j], float(dense[0, j] * toward[j]), dense[0, j] * thread.coef[j, against])
    for j, x in zip(sparse.indices.tolist(), sparse.data.tolist(), strict=True):
        if j < parent_at:
            label, at = divmod(j - conditioned, layout.n_terms)
            name = f"{' '.join(layout.vocabulary.decode(at))} (under a {labels[label]} comment)"
        elif j < post_at:
            name = "parent: " + " ".join(vocabulary.decode(int(layout.parent_terms[j - parent_at])))
        else:
            name = "post: " + " ".join(vocabulary.decode(int(layout.post_terms[j - post_at])))
        ledger.credit(name, x * float(toward[j]), x * thread.coef[j, against])
    return ledger.ranked(labels, against, top)


def _reply_terms(scorer: Scorer, rows: Rows, tokens: Tokens | None, top: int, text: str | None = None) -> Terms:
    """Each term's contribution to one reply's log-odds of critical (its TF-IDF `rows`, one row). For a
    multinomial model: the term's weight toward critical minus its weights toward the other labels, averaged by
    their probabilities in this reply; for one-vs-rest the critical classifier's own terms. Character n-grams are
    credited to the words they occur in (read from `tokens`, or from `text` tokenised again), split evenly."""
    if not len(rows.data):
        return [], []
    engine, coef, labels, c = scorer._engine, scorer._coef, scorer.labels, scorer._critical
    weights = coef[rows.indices]  # (terms, labels)
    against = [k for k in range(len(labels)) if k != c]
    if scorer.model.link == "softmax":
        p = scorer._probabilities(rows)[0]
        q = p[against] / max(p[against].sum(), 1e-300)
        toward = weights[:, c] - weights[:, against] @ q
    else:
        toward = weights[:, c]
    contribution = rows.data * toward
    vocabulary = engine.vocabulary
    ledger = _Ledger(len(against))
    word = rows.indices < vocabulary.n_features
    for j, value, weight in zip(rows.indices[word].tolist(), contribution[word], rows.data[word], strict=True):
        ledger.credit(" ".join(vocabulary.decode(j)), float(value), weight * coef[j, against])
    if engine.chars is not None and (~word).any():
        if tokens is None:
            tokens = engine.tokenize([text or ""])
        canon = canonicalizer(vocabulary.normalizer)
        owners: dict[int, list[str]] = {}
        for token in map(canon, tokens.tokens):
            for g in engine.chars.features_of(token):
                owners.setdefault(g, []).append(token)
        for j, value, weight in zip(rows.indices[~word].tolist(), contribution[~word], rows.data[~word], strict=True):
            words = owners.get(j - vocabulary.n_features, [])
            for w in words:
                ledger.credit(w, float(value) / len(words), weight * coef[j, against] / len(words))
    return ledger.ranked(labels, against, top)
