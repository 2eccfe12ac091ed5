"""Reading a reply under the comment it answers: the thread stage of a model (numpy only).

Whether a reply is critical depends on whom it answers: "nobody asked you, go outside" under a critic defends the
griever, "well said" under the same critic piles on. A model may carry a second stage for replies that answer
another comment (their `parent`): a logistic regression over features built with the first stage, the reply-only
model, in blocks that are never merged into one bag of words:
- dense: the reply's own label log-probabilities (zeros, and a flag, when it has no known word), the parent's
  label probabilities, their products (a reply that reads critical, under a critic), and the reply's cosine
  similarity to its parent under each label (a pile-on repeats the critic's words; a defender quoting them marks
  the quote, and quoted words are other terms);
- the reply's TF-IDF terms conditioned on the parent: for each label, a copy of the reply's terms weighted by the
  parent's probability of that label, so that an insult under a critic and under a supporter get their own weights;
- optionally the parent's own TF-IDF terms, and the post's.
A reply without a parent is scored by the first stage alone, exactly as a model without a thread stage scores it.
`thread_features` is the one definition of these features: training builds its matrix from it, scoring takes
its dot product with the coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from griefguard.engine import Rows, Vocabulary

__all__ = ["LOG_FLOOR", "ThreadInputs", "ThreadLayout", "ThreadStage", "thread_features"]

LOG_FLOOR = float(np.log(1e-4))  # a reply's label log-probabilities are clipped here (stable weights)


@dataclass(frozen=True)
class ThreadLayout:
    """Which columns the thread stage has. The reply's terms come from the stage's own vocabulary (`vocabulary`,
    `idf`: word n-grams of the thread replies it was trained on, with the first stage's normaliser), so the words of
    replies to comments ("well said", "touch grass") have columns even where the reply-only corpus lacks them.
    The parent's and post's optional blocks are first-stage feature indices (`parent_terms`, `post_terms`; empty
    for none)."""

    n_labels: int
    vocabulary: Vocabulary
    idf: np.ndarray
    parent_terms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    post_terms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if self.idf.shape != (self.vocabulary.n_features,):
            raise ValueError(f"thread idf has shape {self.idf.shape}, expected ({self.vocabulary.n_features},)")
        for name in ("parent_terms", "post_terms"):
            values = getattr(self, name)
            if values.dtype != np.int64 or values.ndim != 1 or (len(values) > 1 and not (np.diff(values) > 0).all()):
                raise ValueError(f"thread {name} must be a strictly increasing int64 array")
            if len(values) and values[0] < 0:
                raise ValueError(f"thread {name} holds a negative feature index")

    @property
    def n_terms(self) -> int:
        return self.vocabulary.n_features

    @property
    def n_dense(self) -> int:
        """The reply's log-probabilities, the unknown-reply flag, the parent's probabilities, their products, and
        the reply's similarity to its parent under each of the parent's labels."""
        k = self.n_labels
        return k + 1 + k + k * k + k

    @property
    def offsets(self) -> tuple[int, int, int, int]:
        """First column of the conditioned, parent and post blocks, and the number of columns."""
        conditioned = self.n_dense
        parent = conditioned + self.n_labels * self.n_terms
        post = parent + len(self.parent_terms)
        return conditioned, parent, post, post + len(self.post_terms)

    @property
    def n_columns(self) -> int:
        return self.offsets[3]

    def dense_names(self, labels: tuple[str, ...]) -> list[str]:
        """Readable names of the dense columns, for explanations."""
        return (
            [f"the reply alone reads {lab}" for lab in labels]
            + ["the reply has no known word"]
            + [f"under a {lab} comment" for lab in labels]
            + [f"reads {a}, under a {b} comment" for a in labels for b in labels]
            + [f"repeats a {lab} comment's words" for lab in labels]
        )


@dataclass(frozen=True)
class ThreadInputs:
    """What the first stage says about replies that have a parent: the replies' TF-IDF rows, label probabilities
    and whether they hold a known word; the parents' probabilities and TF-IDF rows; the replies' rows in the thread
    stage's vocabulary; and, for a post block, the posts' TF-IDF rows (one row per reply)."""

    reply_rows: Rows
    reply_probs: np.ndarray
    reply_known: np.ndarray
    parent_probs: np.ndarray
    parent_rows: Rows
    thread_rows: Rows  # the replies' rows in the thread stage's own vocabulary
    post_rows: Rows | None = None

    def take(self, chosen: np.ndarray) -> ThreadInputs:
        """The replies `chosen` (indices), in that order."""
        return ThreadInputs(
            self.reply_rows.take(chosen),
            self.reply_probs[chosen],
            self.reply_known[chosen],
            self.parent_probs[chosen],
            self.parent_rows.take(chosen),
            self.thread_rows.take(chosen),
            None if self.post_rows is None else self.post_rows.take(chosen),
        )

    @property
    def similarity(self) -> np.ndarray:
        """Each reply's cosine similarity to its parent (both rows are L2-normalised TF-IDF)."""
        return row_dot(self.reply_rows, self.parent_rows)


def row_dot(a: Rows, b: Rows) -> np.ndarray:
    """The dot product of each row of `a` with the same row of `b`."""
    width = max(a.n_features, b.n_features)
    keys_a, keys_b = a.row * width + a.indices, b.row * width + b.indices
    _, ia, ib = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    return np.bincount(a.row[ia], a.data[ia] * b.data[ib], minlength=a.n_rows)


def _lookup(terms: np.ndarray, n_features: int) -> np.ndarray:
    table = np.full(max(n_features, int(terms[-1]) + 1 if len(terms) else 0), -1, dtype=np.int64)
    table[terms] = np.arange(len(terms), dtype=np.int64)
    return table


def _restricted(rows: Rows, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, position among `terms`, value) of the entries of `rows` whose feature is one of `terms`."""
    if not len(terms) or not len(rows.data):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    position = _lookup(terms, rows.n_features)[rows.indices]
    keep = position >= 0
    return rows.row[keep], position[keep], rows.data[keep]


def thread_features(layout: ThreadLayout, inputs: ThreadInputs) -> tuple[np.ndarray, Rows]:
    """The thread stage's features: a dense matrix (replies x `layout.n_dense`) and the sparse blocks as Rows
    whose column indices start at `layout.n_dense` (see the module docstring)."""
    n, k = inputs.reply_probs.shape
    known = inputs.reply_known.astype(bool)
    own = np.where(known[:, None], np.maximum(np.log(np.maximum(inputs.reply_probs, 1e-300)), LOG_FLOOR), 0.0)
    shown = np.where(known[:, None], inputs.reply_probs, 0.0)
    parent = inputs.parent_probs
    products = (shown[:, :, None] * parent[:, None, :]).reshape(n, k * k)
    repeats = inputs.similarity[:, None] * parent
    dense = np.hstack([own, (~known).astype(np.float64)[:, None], parent, products, repeats])
    conditioned, parent_at, post_at, total = layout.offsets
    rows, cols, vals = [], [], []
    r, pos, v = inputs.thread_rows.row, inputs.thread_rows.indices, inputs.thread_rows.data
    for label in range(k):
        rows.append(r)
        cols.append(conditioned + label * layout.n_terms + pos)
        vals.append(v * parent[r, label])
    for block, start, terms in (
        (inputs.parent_rows, parent_at, layout.parent_terms),
        (inputs.post_rows, post_at, layout.post_terms),
    ):
        if len(terms):
            if block is None:
                raise ValueError("this thread stage needs the rows of its parent and post blocks")
            r, pos, v = _restricted(block, terms)
            rows.append(r)
            cols.append(start + pos)
            vals.append(v)
    if rows:
        row, col, val = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        keep = val != 0.0
        row, col, val = row[keep], col[keep], val[keep]
    else:
        row = col = np.zeros(0, dtype=np.int64)
        val = np.zeros(0)
    return dense, Rows(row, col, val, n, total)


@dataclass(frozen=True)
class ThreadStage:
    """A fitted thread stage: its layout, and a multinomial logistic regression over its columns."""

    layout: ThreadLayout
    coef: np.ndarray  # (layout.n_columns, labels)
    intercept: np.ndarray  # (labels,)

    def __post_init__(self) -> None:
        k = self.layout.n_labels
        if self.coef.shape != (self.layout.n_columns, k):
            raise ValueError(f"thread coef has shape {self.coef.shape}, expected ({self.layout.n_columns}, {k})")
        if self.intercept.shape != (k,):
            raise ValueError(f"thread intercept has shape {self.intercept.shape}, expected ({k},)")
        if not (np.isfinite(self.coef).all() and np.isfinite(self.intercept).all()):
            raise ValueError("the thread stage holds values that are not finite")

    def logits(self, inputs: ThreadInputs) -> np.ndarray:
        dense, sparse = thread_features(self.layout, inputs)
        z = self.intercept + dense @ self.coef[: self.layout.n_dense]
        if len(sparse.data):
            weighted = sparse.data[:, None] * self.coef[sparse.indices]
            for label in range(z.shape[1]):
                z[:, label] += np.bincount(sparse.row, weighted[:, label], minlength=sparse.n_rows)
        return z

    def probabilities(self, inputs: ThreadInputs) -> np.ndarray:
        """Label probabilities of replies read under their parents (softmax of the logits)."""
        z = self.logits(inputs)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)
