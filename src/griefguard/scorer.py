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
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from griefguard.engine import FeatureEngine, Rows
from griefguard.explanations import EXPLAIN_FIELDS, Explanation, explain_scored
from griefguard.labels import NEUTRAL
from griefguard.model_file import POSITIVE_LABEL, ModelData, default_model_path, load_model
from griefguard.normalize import Tokens
from griefguard.sentences import most_critical_sentences
from griefguard.thread import ThreadInputs

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
    thread_chosen: np.ndarray | None = None  # which replies `thread_inputs` holds, in its order


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
        it was trained with them. Every other reply is scored by the reply-only model. With `sentences`, each
        reply's most critical sentence and what the thread stage read are kept (for explanations).
        """
        return self.scored_batch(texts, sentences, parents, posts)[0]

    def scored_batch(
        self,
        texts: list[str],
        sentences: bool = False,
        parents: list[str] | None = None,
        posts: list[str] | None = None,
    ) -> tuple[Batch, Rows, Tokens]:
        """`predict_batch`, with the replies' TF-IDF rows and tokens (what explanations read, so that a batch is
        tokenised once)."""
        batch, rows, tokens = self._first_stage(texts, sentences)
        thread = self._model.thread
        if thread is None or parents is None or not any(parents):
            return batch, rows, tokens
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
        scored = Batch(
            probs,
            batch.coverage,
            batch.worst_sentence,
            batch.worst_score,
            raised,
            threaded,
            batch.alone,
            all_parents,
            inputs if sentences else None,
            chosen if sentences else None,
        )
        return scored, rows, tokens

    def _batches(
        self,
        texts: Iterable[str],
        batch_size: int,
        parents: Iterable[str | None] | None,
        posts: Iterable[str | None] | None,
        sentences: bool = False,
    ) -> Iterator[tuple[list[str], Batch, Rows, Tokens]]:
        """(texts, scores, TF-IDF rows, tokens) a batch at a time; `parents` and `posts` are aligned with `texts`
        when given."""
        if parents is None and posts is None:
            iterator = iter(_check_many(texts))
            while batch := list(islice(iterator, batch_size)):
                checked = [_check_text(t) for t in batch]
                yield checked, *self.scored_batch(checked, sentences)
            return
        triples = _aligned(texts, parents, posts)
        while chunk := list(islice(triples, batch_size)):
            batch_texts = [t for t, _, _ in chunk]
            batch_parents = [p for _, p, _ in chunk]
            batch_posts = [q for _, _, q in chunk]
            yield batch_texts, *self.scored_batch(batch_texts, sentences, batch_parents, batch_posts)

    def iter_batches(
        self,
        texts: Iterable[str],
        batch_size: int = BATCH_SIZE,
        parents: Iterable[str | None] | None = None,
        posts: Iterable[str | None] | None = None,
    ) -> Iterator[tuple[list[str], Batch]]:
        """(texts, scores) a batch at a time, for a stream of replies of any length (memory stays flat).

        `parents` and `posts`, when given, are aligned with `texts` (None or "" for none)."""
        for batch_texts, batch, _, _ in self._batches(texts, batch_size, parents, posts):
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
        for batch_texts, batch, rows, tokens in self._batches(items, BATCH_SIZE, parents, posts, explain):
            start = len(out)
            batch_ids = None if id_list is None else id_list[start : start + len(batch_texts)]
            if batch_ids is not None and len(batch_ids) < len(batch_texts):
                raise ValueError(f"ids has {len(id_list or [])} entries, fewer than the replies")
            explanations = explain_scored(self, batch_texts, batch, rows, tokens, cut, top) if explain else None
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

    # -- explanations (computed in `explanations`) ----------------------------------------------------------
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
        batch, rows, tokens = self.scored_batch([text], True, [parent], [post])
        return explain_scored(self, [text], batch, rows, tokens, self.check_threshold(threshold), top)[0]


def load_scorer(path: str | Path | None = None) -> Scorer:
    """Load a model file (default: the bundled model, or $GRIEFGUARD_MODEL) into a Scorer.

    Raises ModelError with one clear line when the file is missing, corrupt or not a griefguard model.
    """
    model_path = Path(path) if path is not None else default_model_path()
    return Scorer(load_model(model_path), path=model_path)
