"""Score replies with a trained griefguard model, using numpy only (no scikit-learn at scoring time).

The model is a logistic regression over L2-normalised TF-IDF blocks (word and character n-grams). The
scorer recomputes exactly what scikit-learn's pipeline computes, from the plain arrays in the model file,
so a command-line call starts fast. A reply's score also looks at its most critical sentence, so a
paragraph of condolences cannot dilute one sentence that blames the griever.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.features import NORMALIZERS, Analyzer, tokenize
from griefguard.model_file import default_model_path, load_model_data

__all__ = ["Explanation", "Prediction", "Scorer", "load_scorer", "split_sentences"]

BATCH_SIZE = 2048
# A sentence ends at . ! ? or an ellipsis followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")
_HAS_CONTENT = re.compile(r"[^\W_]|[^\x00-\x7f]")


def split_sentences(text: str) -> list[str]:
    """Split a reply into sentences (by end punctuation and line breaks), dropping empty pieces."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and _HAS_CONTENT.search(s)]


@dataclass(frozen=True)
class Prediction:
    """A scored reply: `score` is the probability it is critical; `flagged` means score >= threshold."""

    text: str
    score: float
    label: str
    flagged: bool


@dataclass(frozen=True)
class Explanation:
    """Why a reply scored as it did.

    `raising` and `lowering` hold (term, contribution) pairs, contributions in log-odds, largest first;
    `sentence` is the most critical sentence of a reply of two or more sentences, with its own score.
    """

    text: str
    score: float
    threshold: float
    flagged: bool
    raising: list[tuple[str, float]] = field(default_factory=list)
    lowering: list[tuple[str, float]] = field(default_factory=list)
    sentence: str | None = None
    sentence_score: float | None = None


class _Block:
    """One TF-IDF block of the model: an analyzer, its vocabulary, IDF weights and coefficients."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.analyzer = Analyzer(**spec["analyzer"])
        self.vocabulary: dict[str, int] = spec["vocabulary"]
        self.idf = np.asarray(spec["idf"], dtype=np.float64)
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.sublinear_tf = bool(spec["sublinear_tf"])
        if not (len(self.vocabulary) == len(self.idf) == len(self.coef)):
            raise ValueError("vocabulary, idf and coef sizes differ")

    def indices(self, tokens: list[str]) -> list[int]:
        get = self.vocabulary.get
        return [i for g in self.analyzer.from_tokens(tokens) if (i := get(g)) is not None]

    def decision(self, docs: list[list[int]]) -> np.ndarray:
        """Each document's contribution to the log-odds: coef . l2normalise(tf * idf)."""
        n_docs = len(docs)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n_docs)
        if lengths.sum() == 0:
            return np.zeros(n_docs)
        features = np.fromiter((i for d in docs for i in d), dtype=np.int64, count=int(lengths.sum()))
        doc_ids = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys, counts = np.unique(doc_ids * len(self.idf) + features, return_counts=True)
        doc_of, feature_of = np.divmod(keys, len(self.idf))
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        weight = tf * self.idf[feature_of]
        norm = np.sqrt(np.bincount(doc_of, weight * weight, minlength=n_docs))
        dot = np.bincount(doc_of, weight * self.coef[feature_of], minlength=n_docs)
        return np.divide(dot, norm, out=np.zeros(n_docs), where=norm > 0)

    def contributions(self, tokens: list[str]) -> dict[int, float]:
        """Per-feature log-odds contributions for one document."""
        counts = Counter(self.indices(tokens))
        if not counts:
            return {}
        weights = {j: (1.0 + math.log(c) if self.sublinear_tf else float(c)) * self.idf[j] for j, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {j: float(self.coef[j] * w / norm) for j, w in weights.items()}


class Scorer:
    """A loaded griefguard model. Immutable after construction, so one instance can serve many threads."""

    def __init__(self, model: dict[str, Any], path: Path | None = None) -> None:
        self.path = path
        self._blocks = [_Block(b) for b in model["blocks"]]
        self._intercept = float(model["intercept"])
        self.threshold = float(model["threshold"])
        self.sentence_weight = float(model["sentence_weight"])
        self.card: dict[str, Any] = dict(model["card"])
        normalizers = {b.analyzer.normalizer for b in self._blocks}
        if len(normalizers) != 1:
            raise ValueError("all blocks of a model must share one normalizer")
        self._normalize = NORMALIZERS[normalizers.pop()]

    # -- whole-reply probabilities: exactly the scikit-learn pipeline's predict_proba -------------------
    def _tokens(self, text: str) -> list[str]:
        return tokenize(self._normalize(text))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Probability that each whole reply is critical, ignoring sentence structure."""
        token_lists = [self._tokens(t) for t in texts]
        z = np.full(len(texts), self._intercept)
        for block in self._blocks:
            z += block.decision([block.indices(tokens) for tokens in token_lists])
        return 1.0 / (1.0 + np.exp(-z))

    # -- scores: the whole reply, raised towards its most critical sentence ----------------------------
    def _score_batch(self, texts: list[str]) -> np.ndarray:
        whole = self.probabilities(texts)
        if self.sentence_weight == 0.0:
            return whole
        owners: list[int] = []
        sentences: list[str] = []
        for i, text in enumerate(texts):
            parts = split_sentences(text)
            if len(parts) > 1:
                owners.extend([i] * len(parts))
                sentences.extend(parts)
        if not sentences:
            return whole
        worst = np.zeros(len(texts))
        np.maximum.at(worst, np.asarray(owners), self.probabilities(sentences))
        return whole + self.sentence_weight * np.maximum(worst - whole, 0.0)

    def iter_scores(self, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> Iterator[float]:
        """Scores for a stream of replies, in order, computed a batch at a time (memory stays flat)."""
        iterator = iter(texts)
        while batch := list(islice(iterator, batch_size)):
            yield from self._score_batch(batch).tolist()

    def score_many(self, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Probability that each reply is critical, as a numpy array (any iterable, read in batches)."""
        return np.fromiter(self.iter_scores(texts, batch_size), dtype=np.float64)

    def score(self, text: str) -> float:
        """Probability that one reply is critical."""
        return float(self._score_batch([text])[0])

    def _threshold(self, threshold: float | None) -> float:
        if threshold is None:
            return self.threshold
        if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        return threshold

    def classify(self, texts: Iterable[str] | str, threshold: float | None = None) -> list[Prediction]:
        """Label replies: flagged (critical) when the score reaches the model's threshold, or the one given."""
        cut = self._threshold(threshold)
        items = [texts] if isinstance(texts, str) else list(texts)
        return [
            Prediction(text=t, score=s, label="critical" if s >= cut else "supportive", flagged=s >= cut)
            for t, s in zip(items, self.iter_scores(items), strict=True)
        ]

    def explain(self, text: str, top: int = 6, threshold: float | None = None) -> Explanation:
        """The terms that pushed a reply's score up and down most, and its most critical sentence."""
        cut = self._threshold(threshold)
        tokens = self._tokens(text)
        terms: Counter[str] = Counter()
        for block in self._blocks:
            contrib = block.contributions(tokens)
            if not contrib:
                continue
            names = {j: g for g, j in block.vocabulary.items() if j in contrib} if block.analyzer.kind == "word" else {}
            if block.analyzer.kind == "word":
                for j, c in contrib.items():
                    terms[names[j]] += c
            else:  # attribute each character gram's share to the words it occurs in
                per_token = [Counter(block.indices([tok])) for tok in tokens]
                total = Counter(block.indices(tokens))
                for tok, grams in zip(tokens, per_token, strict=True):
                    terms[tok] += sum(contrib[j] * n / total[j] for j, n in grams.items())
        ranked = sorted(terms.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        raising = [(t, round(c, 4)) for t, c in ranked if c > 0][:top]
        lowering = [(t, round(c, 4)) for t, c in ranked if c < 0][:top]
        score = self.score(text)
        sentence = sentence_score = None
        parts = split_sentences(text)
        if len(parts) > 1:
            probs = self.probabilities(parts)
            k = int(np.argmax(probs))
            sentence, sentence_score = parts[k], float(probs[k])
        return Explanation(
            text=text,
            score=score,
            threshold=cut,
            flagged=score >= cut,
            raising=raising,
            lowering=lowering,
            sentence=sentence,
            sentence_score=sentence_score,
        )


def load_scorer(path: str | Path | None = None) -> Scorer:
    """Load a model file (default: the bundled model, or $GRIEFGUARD_MODEL) into a Scorer.

    Raises ModelError with one clear line when the file is missing, corrupt or not a griefguard model.
    """
    from griefguard.errors import ModelError

    model_path = Path(path) if path is not None else default_model_path()
    data = load_model_data(model_path)
    try:
        return Scorer(data, path=model_path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model file {model_path} is damaged ({exc})") from None
