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
from griefguard.labels import NEUTRAL
from griefguard.model_file import POSITIVE_LABEL, ModelData, default_model_path, load_model
from griefguard.normalize import Tokens, canonicalizer, sentence_texts
from griefguard.thread import ThreadInputs, thread_features

__all__ = ["EXPLAIN_FIELDS", "Explanation", "Prediction", "Scorer", "load_scorer"]

BATCH_SIZE = 2048


@dataclass(frozen=True)
class Prediction:
    """A scored reply: `score` is the probability it is critical; `flagged` means score >= threshold;
    `label` is the most probable label; `coverage` the share of its tokens the model knows.

    For a reply read under its parent comment, `parent_label` is the parent's label and `score_alone` the reply's
    score read alone. `id` is whatever the caller gave to recognise the reply; `explanation` is set when asked for.
    `record()` is the one form every interface writes (the CLI, the service, Dask)."""

    text: str
    label: str
    score: float
    flagged: bool
    probabilities: dict[str, float]
    coverage: float
    id: Any = None
    parent_label: str | None = None
    score_alone: float | None = None
    explanation: Explanation | None = None

    def record(self) -> dict[str, Any]:
        """The reply's fields for output, rounded: score, label, flagged, coverage and probabilities; under a
        parent, `parent_label` and `score_alone`; with an explanation, its terms and sentence (`EXPLAIN_FIELDS`)."""
        out: dict[str, Any] = {
            "score": round(self.score, 6),
            "label": self.label,
            "flagged": self.flagged,
            "coverage": round(self.coverage, 4),
            "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
        }
        if self.parent_label is not None and self.score_alone is not None:
            out["parent_label"] = self.parent_label
            out["score_alone"] = round(self.score_alone, 6)
        if self.explanation is not None:
            out.update(self.explanation.fields())
        return out


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


@dataclass(frozen=True)
class Batch:
    """Scores of a batch: final probabilities (labels in the model's order), coverage, and the most critical
    sentence's index among each reply's sentence pieces (-1 if fewer than two sentences) with its probability
    of being critical, and whether the sentence rule set the score. `threaded` marks the replies read under
    their parent by the thread stage; `alone` holds every reply's probabilities read alone and
    `parent_probabilities` the parents' (rows of zeros where there is no parent)."""

    probabilities: np.ndarray
    coverage: np.ndarray
    worst_sentence: np.ndarray
    worst_score: np.ndarray
    raised: np.ndarray  # the sentence rule set the score
    threaded: np.ndarray
    alone: np.ndarray
    parent_probabilities: np.ndarray
    thread_inputs: ThreadInputs | None = None  # what the thread stage read, for explanations


def _check_text(text: object) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray):
        raise TypeError("a reply must be a str, got bytes: decode it first (for example text.decode('utf-8'))")
    raise TypeError(f"a reply must be a str, got {type(text).__name__}")


def _check_many(texts: object, what: str = "replies") -> Iterable[Any]:
    if isinstance(texts, str | bytes | bytearray):
        raise TypeError(f"expected an iterable of {what}, got one string: use score() for a single reply")
    if not isinstance(texts, Iterable):
        raise TypeError(f"expected an iterable of {what}, got {type(texts).__name__}")
    return texts


def _check_context(value: object, what: str) -> str:
    """A parent or post: a str, or None or "" for none."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise TypeError(f"a {what} must be a str or None, got {type(value).__name__}")


_END = object()


def _aligned(
    texts: Iterable[str], parents: Iterable[str | None] | None, posts: Iterable[str | None] | None
) -> Iterator[tuple[str, str, str]]:
    """(reply, parent, post) triples; parents and posts must be as long as the replies when given."""
    columns = [iter(_check_many(texts))]
    for values, what in ((parents, "parents"), (posts, "posts")):
        columns.append(iter(_check_many(values, what)) if values is not None else None)  # type: ignore[arg-type]
    reply_it, parent_it, post_it = columns
    assert reply_it is not None
    while True:
        text = next(reply_it, _END)
        parent = next(parent_it, _END) if parent_it is not None else None
        post = next(post_it, _END) if post_it is not None else None
        if text is _END:
            if (parent is not _END and parent_it is not None) or (post is not _END and post_it is not None):
                raise ValueError("parents and posts must have one entry per reply (more were given)")
            return
        if parent is _END or post is _END:
            raise ValueError("parents and posts must have one entry per reply (fewer were given)")
        yield _check_text(text), _check_context(parent, "parent"), _check_context(post, "post")


class Scorer:
    """A loaded griefguard model. Immutable after loading (its only state is caches of values derived from the
    model, which always agree), so one instance can serve many threads."""

    __slots__ = ("_card", "_coef", "_critical", "_engine", "_intercept", "_model", "_path", "_thread_engine")

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
        thread = model.thread
        thread_engine = None
        if thread is not None:
            thread_engine = FeatureEngine(thread.layout.vocabulary, thread.layout.idf, model.sublinear_tf)
        init(self, "_thread_engine", thread_engine)

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
    def name(self) -> str:
        """What a result came from: the model's file name and when it was trained ("griefguard.npz, trained ...")."""
        name = self.path.name if self.path is not None else "in-memory model"
        return f"{name}, trained {self.card.get('created', 'at an unknown time')}"

    @property
    def labels(self) -> tuple[str, ...]:
        return self._model.labels

    @property
    def threshold(self) -> float:
        return self._model.threshold

    @property
    def card(self) -> MappingProxyType[str, Any]:
        """The model card (`model_file.ModelCard`), read-only."""
        return self._card

    @property
    def model(self) -> ModelData:
        return self._model

    @property
    def _fallback(self) -> int:
        """The label of a reply the model knows nothing of: neutral, or the first label that is not critical."""
        labels = self.labels
        if NEUTRAL in labels:
            return labels.index(NEUTRAL)
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

    def _first_stage(self, texts: list[str], sentences: bool = False) -> tuple[Batch, Rows, Tokens]:
        """The reply-only model on a batch: its scores, and the replies' TF-IDF rows and tokens (for the thread
        stage).

        Each reply's most critical sentence is found when the model has a sentence rule, or when `sentences`
        asks for it (explanations); otherwise `worst_sentence` is -1 throughout.
        """
        engine = self._engine
        tokens = engine.tokenize(texts)
        encoded = engine.encode(tokens)
        rows = engine.rows(encoded)
        probs = self._probabilities(rows)
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
        none = np.zeros(n, dtype=bool)
        batch = Batch(probs, coverage, worst, worst_score, raised, none, probs, np.zeros_like(probs))
        return batch, rows, tokens

    def _context_rows(self, values: list[str]) -> tuple[np.ndarray, Rows]:
        """First-stage probabilities and TF-IDF rows of parents (or posts), each distinct text scored once, as one
        row per reply."""
        distinct = list(dict.fromkeys(values))
        where = {v: i for i, v in enumerate(distinct)}
        index = np.fromiter((where[v] for v in values), dtype=np.int64, count=len(values))
        batch, rows, _ = self._first_stage(distinct)
        return batch.probabilities[index], rows.take(index)

    def _thread_inputs(
        self,
        batch: Batch,
        rows: Rows,
        own: Rows,
        chosen: np.ndarray,
        parents: list[str],
        posts: list[str] | None,
    ) -> ThreadInputs:
        """What the first stage says about the replies `chosen` of a scored batch and about their parents, with
        the replies' rows `own` in the thread stage's vocabulary, and the posts' TF-IDF rows when `posts` are
        given (a thread stage with a post block)."""
        parent_probs, parent_block = self._context_rows([parents[i] for i in chosen])
        post_block = self._context_rows([posts[i] for i in chosen])[1] if posts is not None else None
        known = batch.coverage[chosen] > 0
        return ThreadInputs(rows.take(chosen), batch.alone[chosen], known, parent_probs, parent_block, own, post_block)

    def first_stage_inputs(
        self, texts: list[str], parents: list[str], posts: list[str] | None = None
    ) -> tuple[ThreadInputs, Tokens]:
        """For training a thread stage on this model's first stage: what it says about replies that all have a
        parent and about the parents, the posts' rows when `posts` are given, and the replies' tokens (the
        stage's own vocabulary is fitted on them). The thread rows are left empty until that vocabulary exists."""
        batch, rows, tokens = self._first_stage(list(texts))
        empty = Rows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), len(texts), 0)
        chosen = np.arange(len(texts), dtype=np.int64)
        return self._thread_inputs(batch, rows, empty, chosen, list(parents), posts), tokens

    def predict_batch(
        self,
        texts: list[str],
        sentences: bool = False,
        parents: list[str] | None = None,
        posts: list[str] | None = None,
    ) -> Batch:
        """Score one batch of replies (the one path every public method goes through).

        A reply with a parent (a non-empty entry of `parents`) is read under it by the model's thread stage, when
        the model has one and the reply or its parent holds a known word; `posts` feed the thread stage too when
        it was trained with them. Every other reply is scored by the reply-only model.
        """
        batch, rows, tokens = self._first_stage(texts, sentences)
        thread = self._model.thread
        if thread is None or parents is None or not any(parents):
            return batch
        chosen = np.flatnonzero(np.array([bool(p) for p in parents], dtype=bool))
        assert self._thread_engine is not None
        own = self._thread_engine.rows(self._thread_engine.encode(tokens)).take(chosen)
        with_posts = (posts or [""] * len(texts)) if len(thread.layout.post_terms) else None
        inputs = self._thread_inputs(batch, rows, own, chosen, parents, with_posts)
        parent_probs = inputs.parent_probs
        evidence = inputs.reply_known | (parent_probs[:, self._fallback] < 1.0)  # unknown under unknown: none
        read = thread.probabilities(inputs)
        probs = batch.probabilities.copy()
        probs[chosen[evidence]] = read[evidence]
        threaded = np.zeros(len(texts), dtype=bool)
        threaded[chosen[evidence]] = True
        raised = batch.raised & ~threaded
        all_parents = np.zeros_like(probs)
        all_parents[chosen] = parent_probs
        return Batch(
            probs,
            batch.coverage,
            batch.worst_sentence,
            batch.worst_score,
            raised,
            threaded,
            batch.alone,
            all_parents,
            inputs if sentences else None,
        )

    def _batches(
        self,
        texts: Iterable[str],
        batch_size: int,
        parents: Iterable[str | None] | None,
        posts: Iterable[str | None] | None,
    ) -> Iterator[tuple[list[str], list[str] | None, list[str] | None, Batch]]:
        """(texts, parents, posts, scores) a batch at a time (parents and posts None when not given)."""
        if parents is None and posts is None:
            iterator = iter(_check_many(texts))
            while batch := list(islice(iterator, batch_size)):
                checked = [_check_text(t) for t in batch]
                yield checked, None, None, self.predict_batch(checked)
            return
        triples = _aligned(texts, parents, posts)
        while chunk := list(islice(triples, batch_size)):
            batch_texts = [t for t, _, _ in chunk]
            batch_parents = [p for _, p, _ in chunk]
            batch_posts = [q for _, _, q in chunk]
            batch = self.predict_batch(batch_texts, parents=batch_parents, posts=batch_posts)
            yield batch_texts, batch_parents, batch_posts, batch

    def iter_batches(
        self,
        texts: Iterable[str],
        batch_size: int = BATCH_SIZE,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> Iterator[tuple[list[str], Batch]]:
        """(texts, scores) a batch at a time, for a stream of replies of any length (memory stays flat).

        `parents` and `posts`, when given, are aligned with `texts` (None or "" for none)."""
        for batch_texts, _, _, batch in self._batches(texts, batch_size, parents, posts):
            yield batch_texts, batch

    def probabilities_and_coverage(
        self,
        texts: Iterable[str],
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each reply's probability of each label (columns in the order of `labels`) and its coverage."""
        probs, coverage = [], []
        for _, batch in self.iter_batches(texts, parents=parents, posts=posts):
            probs.append(batch.probabilities)
            coverage.append(batch.coverage)
        if not probs:
            return np.zeros((0, len(self.labels))), np.zeros(0)
        return np.concatenate(probs), np.concatenate(coverage)

    def probabilities(
        self,
        texts: Iterable[str],
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> np.ndarray:
        """Each reply's probability of each label (columns in the order of `labels`)."""
        return self.probabilities_and_coverage(texts, parents, posts)[0]

    def iter_scores(
        self,
        texts: Iterable[str],
        batch_size: int = BATCH_SIZE,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> Iterator[float]:
        """Scores for a stream of replies, in order, computed a batch at a time."""
        for _, batch in self.iter_batches(texts, batch_size, parents, posts):
            yield from batch.probabilities[:, self._critical].tolist()

    def score_many(
        self,
        texts: Iterable[str],
        batch_size: int = BATCH_SIZE,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> np.ndarray:
        """Probability that each reply is critical, as a numpy array (any iterable, read in batches); each reply
        is read under its parent comment where `parents` gives one."""
        return np.fromiter(self.iter_scores(texts, batch_size, parents, posts), dtype=np.float64)

    def score(self, text: str, parent: str | None = None, post: str | None = None) -> float:
        """Probability that one reply is critical (read under `parent` when given)."""
        text = _check_text(text)
        parent, post = _check_context(parent, "parent"), _check_context(post, "post")
        batch = self.predict_batch([text], parents=[parent], posts=[post])
        return float(batch.probabilities[0, self._critical])

    def check_threshold(self, threshold: float | None) -> float:
        """The threshold to use: the model's, or the one given if it is a number between 0 and 1."""
        if threshold is None:
            return self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        return float(threshold)

    def predictions(
        self,
        texts: list[str],
        batch: Batch,
        threshold: float,
        ids: list[Any] | None = None,
        explanations: list[Explanation] | None = None,
    ) -> list[Prediction]:
        """Prediction records for a scored batch (the one place they are built)."""
        labels = self.labels
        critical = self._critical
        best = batch.probabilities.argmax(axis=1).tolist()
        parent_best = batch.parent_probabilities.argmax(axis=1).tolist()
        alone = batch.alone[:, critical].tolist()
        out = []
        for i, (text, probs, cov) in enumerate(
            zip(texts, batch.probabilities.tolist(), batch.coverage.tolist(), strict=True)
        ):
            threaded = bool(batch.threaded[i])
            out.append(
                Prediction(
                    text=text,
                    label=labels[best[i]],
                    score=probs[critical],
                    flagged=probs[critical] >= threshold and (cov > 0.0 or threaded),  # no evidence: never
                    probabilities=dict(zip(labels, probs, strict=True)),
                    coverage=cov,
                    id=None if ids is None else ids[i],
                    parent_label=labels[parent_best[i]] if threaded else None,
                    score_alone=alone[i] if threaded else None,
                    explanation=None if explanations is None else explanations[i],
                )
            )
        return out

    def predict(
        self,
        texts: Iterable[str] | str,
        threshold: float | None = None,
        *,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
        ids: Iterable[Any] | None = None,
        explain: bool = False,
        top: int = 5,
    ) -> list[Prediction]:
        """Prediction records for replies (read under their parents where given), with the caller's `ids` and,
        with `explain`, each reply's explanation (`top` terms each way)."""
        cut = self.check_threshold(threshold)
        items = [texts] if isinstance(texts, str) else texts
        id_list = None if ids is None else list(ids)
        out: list[Prediction] = []
        for batch_texts, batch_parents, batch_posts, batch in self._batches(items, BATCH_SIZE, parents, posts):
            start = len(out)
            batch_ids = None if id_list is None else id_list[start : start + len(batch_texts)]
            if batch_ids is not None and len(batch_ids) < len(batch_texts):
                raise ValueError(f"ids has {len(id_list or [])} entries, fewer than the replies")
            explanations = None
            if explain:
                n = len(batch_texts)
                contexts = zip(batch_texts, batch_parents or [None] * n, batch_posts or [None] * n, strict=True)
                explanations = [self.explain(t, top, cut, parent=p, post=q) for t, p, q in contexts]
            out.extend(self.predictions(batch_texts, batch, cut, batch_ids, explanations))
        if id_list is not None and len(id_list) != len(out):
            raise ValueError(f"ids has {len(id_list)} entries but there are {len(out)} replies")
        return out

    def classify(
        self,
        texts: Iterable[str] | str,
        threshold: float | None = None,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> list[Prediction]:
        """Label replies; flagged when the critical score reaches the model's threshold (or the one given)."""
        return self.predict(texts, threshold, parents=parents, posts=posts)

    # -- explanations ----------------------------------------------------------------------------------------
    def explain(
        self,
        text: str,
        top: int = 6,
        threshold: float | None = None,
        parent: str | None = None,
        post: str | None = None,
    ) -> Explanation:
        """The terms that pushed a reply's critical score up and down most, and its most critical sentence.

        When the sentence rule set the score, the terms are those of the sentence that set it. When the reply
        was read under its `parent`, they are the thread stage's, and `parent_effect` says how much the parent
        moved the score (in log-odds of critical).
        """
        text = _check_text(text)
        parent, post = _check_context(parent, "parent"), _check_context(post, "post")
        cut = self.check_threshold(threshold)
        batch = self.predict_batch([text], sentences=True, parents=[parent], posts=[post])
        probs = batch.probabilities[0]
        score = float(probs[self._critical])
        pieces = sentence_texts(text)
        sentence = sentence_score = None
        if batch.worst_sentence[0] >= 0:
            index = int(batch.worst_sentence[0])
            sentence = pieces[index] if index < len(pieces) else None
            sentence_score = float(batch.worst_score[0])
        from_sentence = bool(batch.raised[0]) and sentence is not None
        parent_label = alone_score = parent_effect = None
        if batch.threaded[0] and batch.thread_inputs is not None:
            raising, lowering = self._thread_contributions(batch.thread_inputs, probs, top)
            parent_label = self.labels[int(np.argmax(batch.parent_probabilities[0]))]
            alone_score = float(batch.alone[0, self._critical])
            parent_effect = round(_log_odds(score) - _log_odds(alone_score), 4)
        else:
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
            parent_label=parent_label,
            alone_score=alone_score,
            parent_effect=parent_effect,
        )

    def _ranked(
        self, terms: dict[str, list[float]], against: list[int], top: int
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float, str]]]:
        """Terms by the size of their contribution: those raising the critical score, and those lowering it with
        the label each points to most."""
        ranked = sorted(terms.items(), key=lambda kv: (-abs(kv[1][0]), kv[0]))
        raising = [(name, round(v[0], 4)) for name, v in ranked if v[0] > 0][:top]
        lowering = [
            (name, round(v[0], 4), self.labels[against[int(np.argmax(v[1:]))]]) for name, v in ranked if v[0] < 0
        ][:top]
        return raising, lowering

    def _thread_contributions(
        self, inputs: ThreadInputs, probs: np.ndarray, top: int
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float, str]]]:
        """The thread stage's terms for one reply, in log-odds of critical against the other labels (the local
        share, as `_contributions` computes it for a multinomial model): the dense columns by name, the reply's
        terms under its parent ("well said (under a critical comment)"), and the parent's and post's terms."""
        thread = self._model.thread
        assert thread is not None
        layout = thread.layout
        dense, sparse = thread_features(layout, inputs)
        c = self._critical
        against = [k for k in range(len(self.labels)) if k != c]
        q = probs[against] / max(probs[against].sum(), 1e-300)
        toward = thread.coef[:, c] - thread.coef[:, against] @ q
        names = layout.dense_names(self.labels)
        vocabulary = self._engine.vocabulary
        conditioned, parent_at, post_at, _ = layout.offsets
        terms: dict[str, list[float]] = {}

        def credit(name: str, value: float, per_label: np.ndarray) -> None:
            entry = terms.setdefault(name, [0.0] * (1 + len(against)))
            entry[0] += value
            for i, v in enumerate(per_label.tolist()):
                entry[i + 1] += v

        for j in np.flatnonzero(dense[0]).tolist():
            credit(names[j], float(dense[0, j] * toward[j]), dense[0, j] * thread.coef[j, against])
        for j, x in zip(sparse.indices.tolist(), sparse.data.tolist(), strict=True):
            if j < parent_at:
                label, at = divmod(j - conditioned, layout.n_terms)
                word = " ".join(layout.vocabulary.decode(at))
                name = f"{word} (under a {self.labels[label]} comment)"
            elif j < post_at:
                name = "parent: " + " ".join(vocabulary.decode(int(layout.parent_terms[j - parent_at])))
            else:
                name = "post: " + " ".join(vocabulary.decode(int(layout.post_terms[j - post_at])))
            credit(name, x * float(toward[j]), x * thread.coef[j, against])
        return self._ranked(terms, against, top)

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
        return self._ranked(terms, against, top)


def _log_odds(p: float) -> float:
    """Log-odds of a probability, clipped at 1e-4 and 1 - 1e-4 (a reply read alone as unknown scores 0)."""
    p = min(max(p, 1e-4), 1.0 - 1e-4)
    return math.log(p / (1.0 - p))


def load_scorer(path: str | Path | None = None) -> Scorer:
    """Load a model file (default: the bundled model, or $GRIEFGUARD_MODEL) into a Scorer.

    Raises ModelError with one clear line when the file is missing, corrupt or not a griefguard model.
    """
    model_path = Path(path) if path is not None else default_model_path()
    return Scorer(load_model(model_path), path=model_path)
