"""Score replies with a trained griefguard model, using numpy only (no scikit-learn at scoring time).

The model is a logistic regression (multinomial, or one-vs-rest) over L2-normalised TF-IDF word n-grams,
with three labels: critical, supportive and neutral. A reply's `score` is its probability of being critical;
it is `flagged` when the score reaches the threshold, and its `label` is the most probable of the three.
`coverage` is the share of the reply's tokens the model knows: a reply with none (empty, or in a language
the model never saw) is never flagged on the model's prior alone; it is labelled neutral with score 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from griefguard.engine import FeatureEngine, Rows, most_critical_sentences
from griefguard.model_file import POSITIVE_LABEL, ModelData, default_model_path, load_model
from griefguard.normalize import canonicalizer, sentence_texts

__all__ = ["Explanation", "Prediction", "Scorer", "load_scorer"]

BATCH_SIZE = 2048


@dataclass(frozen=True)
class Prediction:
    """A scored reply: `score` is the probability it is critical; `flagged` means score >= threshold;
    `label` is the most probable label; `coverage` the share of its tokens the model knows."""

    text: str
    label: str
    score: float
    flagged: bool
    probabilities: dict[str, float]
    coverage: float


@dataclass(frozen=True)
class Explanation:
    """Why a reply scored as it did.

    `raising` and `lowering` hold (term, contribution) pairs, in log-odds of critical against the other labels,
    largest first; `lowering` also names the label each term points to, as (term, contribution, label).
    `sentence` is the most critical sentence of a reply of two or more sentences, with its own score, and
    `from_sentence` says that this sentence set the score (the terms are then that sentence's terms).
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


@dataclass(frozen=True)
class Batch:
    """Scores of a batch: final probabilities (labels in the model's order), coverage, and the most critical
    sentence's index among each reply's sentence pieces (-1 if fewer than two sentences) with its probability
    of being critical, and whether the sentence rule set the score."""

    probabilities: np.ndarray
    coverage: np.ndarray
    worst_sentence: np.ndarray
    worst_score: np.ndarray
    raised: np.ndarray  # the sentence rule set the score


def _check_text(text: object) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray):
        raise TypeError("a reply must be a str, got bytes: decode it first (for example text.decode('utf-8'))")
    raise TypeError(f"a reply must be a str, got {type(text).__name__}")


def _check_many(texts: object) -> Iterable[str]:
    if isinstance(texts, str | bytes | bytearray):
        raise TypeError("expected an iterable of replies, got one string: use score() for a single reply")
    if not isinstance(texts, Iterable):
        raise TypeError(f"expected an iterable of replies, got {type(texts).__name__}")
    return texts


class Scorer:
    """A loaded griefguard model. Immutable after loading (its only state is caches of values derived from the
    model, which always agree), so one instance can serve many threads."""

    __slots__ = ("_card", "_coef", "_critical", "_engine", "_intercept", "_model", "_path")

    def __init__(self, model: ModelData, path: Path | None = None) -> None:
        init = object.__setattr__
        init(self, "_path", path)
        init(
            self, "_engine", FeatureEngine(model.vocabulary, model.idf, model.sublinear_tf, model.chars, model.char_idf)
        )
        init(self, "_coef", np.ascontiguousarray(model.coef))
        init(self, "_intercept", np.asarray(model.intercept, dtype=np.float64))
        init(self, "_critical", model.labels.index(POSITIVE_LABEL))
        init(self, "_card", MappingProxyType(model.card))
        init(self, "_model", model)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Scorer is immutable; cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Worker processes receive the model's arrays, never a path to read again.
        return (Scorer, (self._model, self._path))

    # -- what the model is -----------------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def labels(self) -> tuple[str, ...]:
        return self._model.labels

    @property
    def threshold(self) -> float:
        return self._model.threshold

    @property
    def card(self) -> MappingProxyType[str, Any]:
        return self._card

    @property
    def model(self) -> ModelData:
        return self._model

    @property
    def _fallback(self) -> int:
        """The label of a reply the model knows nothing of: neutral, or the first label that is not critical."""
        labels = self.labels
        if "neutral" in labels:
            return labels.index("neutral")
        return next(i for i in range(len(labels)) if i != self._critical)

    # -- scoring ---------------------------------------------------------------------------------------------
    def _probabilities(self, rows: Rows) -> np.ndarray:
        """Label probabilities for TF-IDF rows: exactly the fitted logistic regression's predict_proba."""
        z = np.tile(self._intercept, (rows.n_rows, 1))
        if len(rows.data):
            weighted = rows.data[:, None] * self._coef[rows.indices]
            for k in range(z.shape[1]):
                z[:, k] += np.bincount(rows.row, weighted[:, k], minlength=rows.n_rows)
        if self._model.link == "softmax":
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
        else:
            p = 1.0 / (1.0 + np.exp(-z))
        return p / p.sum(axis=1, keepdims=True)

    def predict_batch(self, texts: list[str], sentences: bool = False) -> Batch:
        """Score one batch of replies (the one path every public method goes through).

        Each reply's most critical sentence is found when the model has a sentence rule, or when `sentences`
        asks for it (explanations); otherwise `worst_sentence` is -1 throughout.
        """
        engine = self._engine
        encoded = engine.encode(engine.tokenize(texts))
        probs = self._probabilities(engine.rows(encoded))
        coverage = engine.coverage(encoded)
        n = len(texts)
        rule = self._model.sentence_rule
        if rule.active or sentences:

            def critical(chosen: np.ndarray) -> np.ndarray:
                return self._probabilities(engine.rows(encoded, by="sentence"))[chosen, self._critical]

            worst, worst_score, counts = most_critical_sentences(encoded, critical)
            probs, raised = rule.apply(probs, worst_score, counts, self._critical)
        else:
            worst, worst_score, raised = np.full(n, -1, dtype=np.int64), np.zeros(n), np.zeros(n, dtype=bool)
        unknown = coverage == 0.0
        if unknown.any():  # no evidence: neutral, never flagged on the model's prior alone
            probs[unknown] = 0.0
            probs[unknown, self._fallback] = 1.0
            raised[unknown] = False
        return Batch(probs, coverage, worst, worst_score, raised)

    def iter_batches(self, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> Iterator[tuple[list[str], Batch]]:
        """(texts, scores) a batch at a time, for a stream of replies of any length (memory stays flat)."""
        iterator = iter(_check_many(texts))
        while batch := list(islice(iterator, batch_size)):
            yield batch, self.predict_batch([_check_text(t) for t in batch])

    def probabilities_and_coverage(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each reply's probability of each label (columns in the order of `labels`) and its coverage."""
        probs, coverage = [], []
        for _, batch in self.iter_batches(texts):
            probs.append(batch.probabilities)
            coverage.append(batch.coverage)
        if not probs:
            return np.zeros((0, len(self.labels))), np.zeros(0)
        return np.concatenate(probs), np.concatenate(coverage)

    def probabilities(self, texts: Iterable[str]) -> np.ndarray:
        """Each reply's probability of each label (columns in the order of `labels`)."""
        return self.probabilities_and_coverage(texts)[0]

    def iter_scores(self, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> Iterator[float]:
        """Scores for a stream of replies, in order, computed a batch at a time."""
        for _, batch in self.iter_batches(texts, batch_size):
            yield from batch.probabilities[:, self._critical].tolist()

    def score_many(self, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Probability that each reply is critical, as a numpy array (any iterable, read in batches)."""
        return np.fromiter(self.iter_scores(texts, batch_size), dtype=np.float64)

    def score(self, text: str) -> float:
        """Probability that one reply is critical."""
        return float(self.predict_batch([_check_text(text)]).probabilities[0, self._critical])

    def check_threshold(self, threshold: float | None) -> float:
        """The threshold to use: the model's, or the one given if it is a number between 0 and 1."""
        if threshold is None:
            return self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        return float(threshold)

    def predictions(self, texts: list[str], batch: Batch, threshold: float) -> list[Prediction]:
        """Prediction records for a scored batch."""
        labels = self.labels
        out = []
        for text, probs, cov in zip(texts, batch.probabilities.tolist(), batch.coverage.tolist(), strict=True):
            score = probs[self._critical]
            out.append(
                Prediction(
                    text=text,
                    label=labels[max(range(len(labels)), key=probs.__getitem__)],
                    score=score,
                    flagged=score >= threshold,
                    probabilities=dict(zip(labels, probs, strict=True)),
                    coverage=cov,
                )
            )
        return out

    def classify(self, texts: Iterable[str] | str, threshold: float | None = None) -> list[Prediction]:
        """Label replies; flagged when the critical score reaches the model's threshold (or the one given)."""
        cut = self.check_threshold(threshold)
        items = [texts] if isinstance(texts, str) else texts
        out: list[Prediction] = []
        for batch_texts, batch in self.iter_batches(items):
            out.extend(self.predictions(batch_texts, batch, cut))
        return out

    # -- explanations ----------------------------------------------------------------------------------------
    def explain(self, text: str, top: int = 6, threshold: float | None = None) -> Explanation:
        """The terms that pushed a reply's critical score up and down most, and its most critical sentence.

        When the sentence rule set the score, the terms are those of the sentence that set it.
        """
        text = _check_text(text)
        cut = self.check_threshold(threshold)
        batch = self.predict_batch([text], sentences=True)
        probs = batch.probabilities[0]
        score = float(probs[self._critical])
        pieces = sentence_texts(text)
        sentence = sentence_score = None
        if batch.worst_sentence[0] >= 0:
            index = int(batch.worst_sentence[0])
            sentence = pieces[index] if index < len(pieces) else None
            sentence_score = float(batch.worst_score[0])
        from_sentence = bool(batch.raised[0]) and sentence is not None
        explained = sentence if from_sentence and sentence is not None else text
        raising, lowering = self._contributions(explained, top)
        return Explanation(
            text=text,
            score=score,
            threshold=cut,
            flagged=score >= cut,
            label=self.labels[int(np.argmax(probs))],
            coverage=float(batch.coverage[0]),
            raising=raising,
            lowering=lowering,
            sentence=sentence,
            sentence_score=sentence_score,
            from_sentence=from_sentence,
        )

    def _contributions(self, text: str, top: int) -> tuple[list[tuple[str, float]], list[tuple[str, float, str]]]:
        """Each term's contribution to the log-odds of critical against the other labels.

        For a multinomial model this is the local (first-order) share of each term: its weight towards
        critical minus its weight towards the other labels, averaged by their probabilities in this reply.
        For one-vs-rest, the critical classifier's own log-odds terms. Terms are word n-grams; character
        n-grams are credited to the words they occur in, split evenly between their occurrences.
        """
        engine = self._engine
        tokens = engine.tokenize([text])
        encoded = engine.encode(tokens)
        rows = engine.rows(encoded)
        if not len(rows.data):
            return [], []
        c = self._critical
        coef = self._coef[rows.indices]  # (terms, labels)
        if self._model.link == "softmax":
            p = self._probabilities(rows)[0]
            others = [k for k in range(len(self.labels)) if k != c]
            q = p[others] / max(p[others].sum(), 1e-300)
            toward = coef[:, c] - coef[:, others] @ q
        else:
            toward = coef[:, c]
        contribution = rows.data * toward
        against = [k for k in range(len(self.labels)) if k != c]
        vocabulary = engine.vocabulary
        terms: dict[str, list[float]] = {}  # name -> [contribution, contribution toward each other label]

        def credit(name: str, value: float, per_label: np.ndarray) -> None:
            entry = terms.setdefault(name, [0.0] + [0.0] * len(against))
            entry[0] += value
            for i, v in enumerate(per_label.tolist()):
                entry[i + 1] += v

        word = rows.indices < vocabulary.n_features
        for j, value, weight in zip(rows.indices[word].tolist(), contribution[word], rows.data[word], strict=True):
            credit(" ".join(vocabulary.decode(j)), float(value), weight * self._coef[j, against])
        if engine.chars is not None and (~word).any():
            canon = canonicalizer(vocabulary.normalizer)
            owners: dict[int, list[str]] = {}
            for token in map(canon, tokens.tokens):
                for g in engine.chars.features_of(token):
                    owners.setdefault(g, []).append(token)
            for j, value, weight in zip(
                rows.indices[~word].tolist(), contribution[~word], rows.data[~word], strict=True
            ):
                words = owners.get(j - vocabulary.n_features, [])
                for w in words:
                    credit(w, float(value) / len(words), weight * self._coef[j, against] / len(words))
        ranked = sorted(terms.items(), key=lambda kv: (-abs(kv[1][0]), kv[0]))
        raising = [(name, round(v[0], 4)) for name, v in ranked if v[0] > 0][:top]
        lowering = [
            (name, round(v[0], 4), self.labels[against[int(np.argmax(v[1:]))]]) for name, v in ranked if v[0] < 0
        ][:top]
        return raising, lowering


def load_scorer(path: str | Path | None = None) -> Scorer:
    """Load a model file (default: the bundled model, or $GRIEFGUARD_MODEL) into a Scorer.

    Raises ModelError with one clear line when the file is missing, corrupt or not a griefguard model.
    """
    model_path = Path(path) if path is not None else default_model_path()
    return Scorer(load_model(model_path), path=model_path)
