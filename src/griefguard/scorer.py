"""Score replies with a trained griefguard model, using numpy only (no scikit-learn at scoring time).

The model is a logistic regression over L2-normalised TF-IDF blocks (word and character n-grams). The
scorer recomputes exactly what scikit-learn's pipeline computes, from the plain arrays in the model file,
so a command-line call starts fast. A reply's score also looks at its most critical sentence, so a
paragraph of condolences cannot dilute one sentence that blames the griever.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.features import TOKENIZERS, Analyzer
from griefguard.model_file import default_model_path, load_model_data
from griefguard.normalize import (
    HAS_CONTENT,
    canonical_token,
    fold_many,
    join_spaced_letters,
    sentence_pieces,
    split_sentences,
    split_tokens_many,
)

__all__ = ["Explanation", "Prediction", "Scorer", "load_scorer", "split_sentences"]

BATCH_SIZE = 2048


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
        self.canonical = canonical_token if self.analyzer.normalizer == "full" else str

    @cached_property
    def terms(self) -> list[str]:
        """Feature index -> n-gram, built on first use (by `explain`), so loading stays fast."""
        names = [""] * len(self.vocabulary)
        for gram, index in self.vocabulary.items():
            names[index] = gram
        return names

    def indices(self, tokens: list[str]) -> list[int]:
        """Feature indices of one document's n-grams that are in the vocabulary (with repeats)."""
        get = self.vocabulary.get
        return [i for g in self.analyzer.from_tokens(tokens) if (i := get(g)) is not None]

    def features(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(document, feature) pairs, one per n-gram occurrence found in the vocabulary.

        `token_lists` are split tokens before `canonical_token` (the scorer's batch form).
        """
        canonical = self.canonical
        docs = [self.indices([canonical(t) for t in tokens]) for tokens in token_lists]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        features = np.fromiter((i for d in docs for i in d), dtype=np.int64, count=int(lengths.sum()))
        return np.repeat(np.arange(len(docs), dtype=np.int64), lengths), features

    def decision(self, n_docs: int, doc_ids: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Each document's contribution to the log-odds: coef . l2normalise(tf * idf)."""
        if len(features) == 0:
            return np.zeros(n_docs)
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


class _WordBlock(_Block):
    """A word n-gram block whose lookups run over a whole batch at once with numpy.

    Every token that occurs in the vocabulary gets a small id; an n-gram is then the integer
    sum(id_k * base**k), looked up in a dict of integers. This finds exactly the n-grams the analyzer would
    produce, without building their strings.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec)
        self.token_ids: dict[str, int] = {}
        for gram in self.vocabulary:
            for token in gram.split(" "):
                self.token_ids.setdefault(token, len(self.token_ids) + 1)  # 0 means "not in any n-gram"
        self.lookup = _TokenIds(self.token_ids, self.canonical)
        self.base = len(self.token_ids) + 1
        if self.base**self.analyzer.max_n >= 2**62:
            raise ValueError("word vocabulary too large for integer n-gram keys")
        self.unigram = np.full(self.base, -1, dtype=np.int64)
        grams: dict[int, tuple[list[int], list[int]]] = {}
        for gram, index in self.vocabulary.items():
            parts = gram.split(" ")
            if len(parts) == 1:
                self.unigram[self.token_ids[gram]] = index
            else:
                keys, indices = grams.setdefault(len(parts), ([], []))
                keys.append(self._key([self.token_ids[t] for t in parts]))
                indices.append(index)
        self.ngrams: dict[int, dict[int, int]] = {n: dict(zip(k, i, strict=True)) for n, (k, i) in grams.items()}

    def _key(self, ids: list[int]) -> int:
        key = 0
        for i in ids:
            key = key * self.base + i
        return key

    def features(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        ids = np.fromiter(
            map(self.lookup.__getitem__, chain.from_iterable(token_lists)), dtype=np.int64, count=int(lengths.sum())
        )
        doc_of = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
        found_docs, found_features = [], []
        if self.analyzer.min_n <= 1:
            feature = self.unigram[ids]
            hit = feature >= 0
            found_docs.append(doc_of[hit])
            found_features.append(feature[hit])
        for n in range(max(2, self.analyzer.min_n), self.analyzer.max_n + 1):
            if n not in self.ngrams or len(ids) < n:
                continue
            span = len(ids) - n + 1
            ok = doc_of[:span] == doc_of[n - 1 :]
            key = np.zeros(span, dtype=np.int64)
            for k in range(n):
                part = ids[k : k + span]
                ok &= part > 0
                key = key * self.base + part
            candidates = np.flatnonzero(ok)
            found = np.fromiter(
                map(self.ngrams[n].get, key[candidates].tolist(), repeat(-1)), dtype=np.int64, count=len(candidates)
            )
            hit = found >= 0
            found_docs.append(doc_of[candidates[hit]])
            found_features.append(found[hit])
        if not found_docs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_docs), np.concatenate(found_features)


class _TokenIds(dict[str, int]):
    """Split token -> id of its canonical form in a word vocabulary (0 if absent), filled as tokens are met.

    Only ever maps a token to the same value, so sharing it between threads is safe; it stops growing at
    CACHE_LIMIT tokens, so memory stays bounded on an endless stream.
    """

    CACHE_LIMIT = 200_000

    def __init__(self, known: dict[str, int], canonical: Callable[[str], str]) -> None:
        super().__init__()
        self.known = known
        self.canonical = canonical

    def __missing__(self, token: str) -> int:
        value = self.known.get(self.canonical(token), 0)
        if len(self) < self.CACHE_LIMIT:
            self[token] = value
        return value


def _raw_tokens(texts: list[str], normalizer: str) -> list[list[str]]:
    """Tokens of a batch after folding and splitting, before spaced letters are joined and tokens canonicalised."""
    if normalizer != "full":
        return split_tokens_many([" ".join(t.lower().split()) for t in texts])
    return split_tokens_many(fold_many(texts))


def _join_spaced(token_lists: list[list[str]]) -> list[list[str]]:
    """Apply `join_spaced_letters` to the (rare) documents with four single-character tokens in a row."""
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    flat_len = np.fromiter(map(len, chain.from_iterable(token_lists)), dtype=np.int64, count=int(lengths.sum()))
    if len(flat_len) >= 4:
        single = flat_len == 1
        run = single[:-3] & single[1:-2] & single[2:-1] & single[3:]
        if run.any():
            doc_of = np.repeat(np.arange(len(token_lists)), lengths)
            for d in np.unique(doc_of[np.flatnonzero(run)]).tolist():
                token_lists[d] = join_spaced_letters(token_lists[d])
    return token_lists


def _pieces(texts: list[str]) -> list[list[str]]:
    """`sentence_pieces(t)` for each text t, computed in one pass.

    The texts are joined with NUL (removed from the texts first: normalisation drops it anyway), split once,
    and the pieces handed back to their texts.
    """
    joined = "\x00".join(t.replace("\x00", "") for t in texts)
    out: list[list[str]] = [[] for _ in texts]
    i = 0
    for piece in sentence_pieces(joined):
        first, *rest = piece.split("\x00")
        out[i].append(first)
        for part in rest:
            i += 1
            out[i].append(part)
    return out


def _make_block(spec: dict[str, Any]) -> _Block:
    return _WordBlock(spec) if spec["analyzer"]["kind"] == "word" else _Block(spec)


class Scorer:
    """A loaded griefguard model. Its only state after loading is caches of values derived from the model
    (which always agree), so one instance can serve many threads."""

    def __init__(self, model: dict[str, Any], path: Path | None = None) -> None:
        self.path = path
        self._blocks = [_make_block(b) for b in model["blocks"]]
        self._intercept = float(model["intercept"])
        self.threshold = float(model["threshold"])
        self.sentence_weight = float(model["sentence_weight"])
        self.sentence_gate = float(model["sentence_gate"])
        self.sentence_min = int(model["sentence_min"])
        self.card: dict[str, Any] = dict(model["card"])
        normalizers = {b.analyzer.normalizer for b in self._blocks}
        if len(normalizers) != 1:
            raise ValueError("all blocks of a model must share one normalizer")
        self._normalizer = normalizers.pop()

    # -- whole-reply probabilities: exactly the scikit-learn pipeline's predict_proba -------------------
    def _tokens(self, text: str) -> list[str]:
        return TOKENIZERS[self._normalizer](text)

    def _probabilities(self, token_lists: list[list[str]]) -> np.ndarray:
        z = np.full(len(token_lists), self._intercept)
        for block in self._blocks:
            z += block.decision(len(token_lists), *block.features(token_lists))
        return 1.0 / (1.0 + np.exp(-z))

    def _finish(self, token_lists: list[list[str]]) -> list[list[str]]:
        return _join_spaced(token_lists) if self._normalizer == "full" else token_lists

    def _tokenise(self, texts: list[str]) -> tuple[list[list[str]], list[list[str]], list[int]]:
        """Tokens of each reply and of the sentences of multi-sentence replies, with each sentence's reply.

        Tokens are defined sentence by sentence (`normalize.tokens`), so each piece is normalised once and a
        reply's tokens are its pieces' tokens end to end.
        """
        pieces = _pieces(texts)
        raw = _raw_tokens([p for ps in pieces for p in ps], self._normalizer)
        whole: list[list[str]] = []
        sentences: list[list[str]] = []
        owners: list[int] = []
        k = 0
        for i, parts in enumerate(pieces):
            tokens = raw[k : k + len(parts)]
            k += len(parts)
            if len(parts) == 1:
                whole.append(tokens[0])
                continue
            whole.append(list(chain.from_iterable(tokens)))
            content = [t for p, t in zip(parts, tokens, strict=True) if HAS_CONTENT.search(p)]
            if len(content) > 1:
                sentences.extend(content)
                owners.extend([i] * len(content))
        return self._finish(whole), sentences, owners

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Probability that each whole reply is critical, ignoring sentence structure."""
        return self._probabilities(self._tokenise(texts)[0])

    # -- scores: the whole reply, raised towards its most critical sentence when that one is clearly critical --
    def _score_batch(self, texts: list[str]) -> np.ndarray:
        whole, sentences, owners = self._tokenise(texts)
        scores = self._probabilities(whole)
        if self.sentence_weight == 0.0 or not sentences:
            return scores
        worst = np.zeros(len(texts))
        owner = np.asarray(owners)
        np.maximum.at(worst, owner, self._probabilities(self._finish(sentences)))
        # Only a sentence the model is sure of, in a reply long enough to dilute it, may raise its reply.
        worst[(worst < self.sentence_gate) | (np.bincount(owner, minlength=len(texts)) < self.sentence_min)] = 0.0
        return scores + self.sentence_weight * np.maximum(worst - scores, 0.0)

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
            if block.analyzer.kind == "word":
                for j, c in contrib.items():
                    terms[block.terms[j]] += c
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
