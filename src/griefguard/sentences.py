"""Sentences: each reply's most critical sentence, and the sentence rule that may let it raise the reply's score
(scoring, model selection and explanations all use these). `normalize.sentence_texts` cuts the sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from griefguard.engine import Encoded

__all__ = ["SentenceRule", "most_critical_sentences"]


@dataclass(frozen=True)
class SentenceRule:
    """In a reply of at least `min_sentences` sentences, a sentence scoring at least `gate` raises the reply's
    critical probability `weight` of the way towards its own. Weight 0 means no rule."""

    weight: float = 0.0
    gate: float = 1.0
    min_sentences: int = 2

    @property
    def active(self) -> bool:
        return self.weight > 0.0

    def apply(
        self, probs: np.ndarray, worst: np.ndarray, sentences: np.ndarray, critical: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rule on a batch: label probabilities of each reply, its most critical sentence's probability of
        being critical and its number of (non-empty) sentences -> (new probabilities, which replies it raised).

        A raised reply's other labels shrink in proportion, so its probabilities still sum to 1. The one
        implementation of the rule: the scorer, model selection and the tests all call it.
        """
        if not self.active:
            return probs, np.zeros(len(probs), dtype=bool)
        whole = probs[:, critical]
        raised = (sentences >= 2) & (sentences >= self.min_sentences) & (worst >= self.gate) & (worst > whole)
        if not raised.any():
            return probs, raised
        new = whole + self.weight * (worst - whole)
        scale = np.where(raised, (1.0 - new) / np.maximum(1.0 - whole, 1e-300), 1.0)
        out = probs * scale[:, None]
        out[:, critical] = np.where(raised, new, whole)
        return out, raised


def most_critical_sentences(
    encoded: Encoded, critical: Callable[[np.ndarray], np.ndarray], docs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each reply's most critical sentence, for the sentence rule (scoring and model selection both use this).

    `critical(sentences)` gives the probability of critical of the given sentences (indices into the rows of
    `FeatureEngine.rows(encoded, by="sentence")`); only sentences of replies with two or more non-empty ones
    (and in `docs`, when given) are asked for. A sentence with no known word is no evidence: it scores 0.
    Returns, per reply: the index of its most critical sentence among its sentence pieces (as
    `normalize.sentence_texts` cuts it) and that sentence's probability, -1 and 0 for other replies; and the
    number of its non-empty sentences.
    """
    layout, ids = encoded.layout, encoded.ids
    n = len(layout.doc_starts) - 1
    doc_of, starts = layout.sentence_doc, layout.sentence_starts
    nonempty = np.diff(starts) > 0
    counts = np.bincount(doc_of[nonempty], minlength=n)
    index, score = np.full(n, -1, dtype=np.int64), np.zeros(n)
    looked_at = nonempty & (counts[doc_of] >= 2)
    if docs is not None:
        looked_at &= np.isin(doc_of, docs)
    candidates = np.flatnonzero(looked_at)
    if not len(candidates):
        return index, score, counts
    p = np.array(critical(candidates), dtype=np.float64)
    known = np.concatenate(([0], np.cumsum(ids > 0)))
    p[(known[starts[candidates + 1]] - known[starts[candidates]]) == 0] = 0.0
    owner = doc_of[candidates]
    order = np.lexsort((-p, owner))  # by reply, most critical first
    best = order[np.concatenate(([True], owner[order][1:] != owner[order][:-1]))]
    index[owner[best]] = candidates[best] - np.searchsorted(doc_of, owner[best])  # minus the reply's first
    score[owner[best]] = p[best]
    return index, score, counts
