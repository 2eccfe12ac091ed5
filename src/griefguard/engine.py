"""The feature engine: a batch of replies -> the model's TF-IDF word n-gram rows, with numpy alone.

Training fits a `Vocabulary` here and transforms its data through the same `FeatureEngine` that scores, so
training and scoring cannot disagree. The work is vectorised over the batch:
1. `normalize.tokenize` turns the batch into one token stream with reply and sentence offsets;
2. each token is mapped to an integer id with one dict lookup (a cache that canonicalises each distinct
   token once; unknown tokens get 0);
3. an n-gram is the integer sum(id_k * base**(n-1-k)), formed with array arithmetic on the id stream and
   found in the sorted array of known n-gram keys with `np.searchsorted` (no strings are built);
4. term counts, sublinear TF, IDF and the L2 norm come from one sort and `np.bincount` over row offsets.
A reply's sentences are just other offsets over the same token stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress

import numpy as np

from griefguard.normalize import DOC_MARK, SENTENCE_MARK, Layout, Tokens, canonicalizer, tokenize

__all__ = ["FeatureEngine", "Rows", "Vocabulary", "fit_vocabulary"]


@dataclass(frozen=True)
class Vocabulary:
    """The n-grams a model knows: its tokens (id = index + 1; 0 means unknown) and, for each n from
    `min_n` to `max_n`, the sorted integer keys of its known n-grams. Feature indices run through the
    n-grams of each length in turn, in key order."""

    normalizer: str
    min_n: int
    max_n: int
    tokens: list[str]
    keys: list[np.ndarray]  # keys[n - min_n]: sorted int64 keys of the known n-grams of length n
    negation_scope: int = 0

    def __post_init__(self) -> None:
        canonicalizer(self.normalizer)  # validates the name
        if self.negation_scope < 0:
            raise ValueError("negation_scope must be 0 or more")
        if not 1 <= self.min_n <= self.max_n:
            raise ValueError(f"bad n-gram range ({self.min_n}, {self.max_n})")
        if len(self.keys) != self.max_n - self.min_n + 1:
            raise ValueError("one key array is needed for each n-gram length")
        if self.base**self.max_n >= 2**62:
            raise ValueError("vocabulary too large for integer n-gram keys")
        for k in self.keys:
            if k.dtype != np.int64 or k.ndim != 1 or (len(k) > 1 and not (np.diff(k) > 0).all()):
                raise ValueError("n-gram keys must be strictly increasing int64 arrays")

    @property
    def base(self) -> int:
        return len(self.tokens) + 1

    @property
    def n_features(self) -> int:
        return int(sum(len(k) for k in self.keys))

    @property
    def offsets(self) -> list[int]:
        """The first feature index of each n-gram length."""
        return [0, *np.cumsum([len(k) for k in self.keys]).tolist()][:-1]

    def decode(self, feature: int) -> list[str]:
        """The tokens of a feature index."""
        for n, (offset, keys) in enumerate(zip(self.offsets, self.keys, strict=True), start=self.min_n):
            if feature < offset + len(keys):
                key = int(keys[feature - offset])
                ids = []
                for _ in range(n):
                    key, token_id = divmod(key, self.base)
                    ids.append(token_id)
                return [self.tokens[i - 1] for i in reversed(ids)]
        raise IndexError(f"feature {feature} out of range ({self.n_features} features)")

    def feature_names(self) -> list[str]:
        """Every feature as its n-gram string ("so sorry"), in feature order."""
        return [" ".join(self.decode(j)) for j in range(self.n_features)]


@dataclass(frozen=True)
class Rows:
    """A sparse matrix in CSR form (rows are replies or sentences), without scipy."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_features: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_of(self) -> np.ndarray:
        """The row of each stored value."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.indptr))

    def to_scipy(self):  # type: ignore[no-untyped-def]
        """As a scipy.sparse CSR matrix (training only: scoring never imports scipy)."""
        from scipy import sparse

        return sparse.csr_matrix((self.data, self.indices, self.indptr), shape=(self.n_rows, self.n_features))


class _TokenIds(dict[str, int]):
    """Split token -> id of its canonical form (0 if unknown), filled as tokens are met.

    Each token is canonicalised once; after that a lookup is one C-level dict access. It only ever maps a
    token to the same value, so sharing it between threads is safe, and it stops growing at CACHE_LIMIT
    entries, so memory stays bounded on an endless stream.
    """

    CACHE_LIMIT = 500_000

    def __init__(self, vocabulary: Vocabulary) -> None:
        super().__init__({"\x00": -DOC_MARK, "\x01": -SENTENCE_MARK})  # the batch's separators
        self.known = {t: i for i, t in enumerate(vocabulary.tokens, start=1)}
        self.canonical = canonicalizer(vocabulary.normalizer)

    def __missing__(self, token: str) -> int:
        value = self.known.get(self.canonical(token), 0)
        if len(self) < self.CACHE_LIMIT:
            self[token] = value
        return value


def _segments(starts: np.ndarray) -> np.ndarray:
    """The segment (reply or sentence) of each token, from the segments' start offsets."""
    return np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))


def _ngram_keys(ids: np.ndarray, seg: np.ndarray, n: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """(start position, key) of every n-gram of known tokens that stays inside one segment."""
    span = len(ids) - n + 1
    if span <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ok = seg[:span] == seg[n - 1 :]
    for k in range(n):
        ok &= ids[k : k + span] > 0
    where = np.flatnonzero(ok)
    key = ids[where]
    for k in range(1, n):
        key = key * base + ids[where + k]
    return where, key


class FeatureEngine:
    """TF-IDF rows of a fitted vocabulary: exactly what scikit-learn's TfidfVectorizer computes for the same
    analyzer (smooth IDF, L2 norm, optional sublinear TF), for any batch of replies or their sentences."""

    def __init__(self, vocabulary: Vocabulary, idf: np.ndarray, sublinear_tf: bool = True) -> None:
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        if self.idf.shape != (vocabulary.n_features,):
            raise ValueError(f"idf has shape {self.idf.shape}, expected ({vocabulary.n_features},)")
        self.sublinear_tf = bool(sublinear_tf)
        self._ids = _TokenIds(vocabulary)

    def tokenize(self, texts: Sequence[str]) -> Tokens:
        return tokenize(texts, self.vocabulary.normalizer, self.vocabulary.negation_scope)

    def token_ids(self, tokens: Tokens) -> tuple[np.ndarray, Layout]:
        """Each token's id in the vocabulary (0 for an unknown token), and where replies and sentences start.

        One dict lookup per token: the separators between replies and sentences are looked up too (as
        negative ids), so the layout comes from the same pass.
        """
        flat = np.fromiter(map(self._ids.__getitem__, tokens.flat), dtype=np.int64, count=len(tokens.flat))
        layout = Layout.from_marks(np.where(flat < 0, -flat, 0).astype(np.int8))
        return flat[layout.keep], layout

    @staticmethod
    def coverage(ids: np.ndarray, layout: Layout) -> np.ndarray:
        """The share of each reply's tokens that the model knows (0 for a reply with no tokens)."""
        known = np.concatenate(([0], np.cumsum(ids > 0)))
        count = np.diff(layout.doc_starts)
        hits = known[layout.doc_starts[1:]] - known[layout.doc_starts[:-1]]
        return np.divide(hits, count, out=np.zeros(len(count)), where=count > 0)

    def rows(self, ids: np.ndarray, layout: Layout, by: str = "doc") -> Rows:
        """TF-IDF rows for each reply (`by="doc"`) or each sentence (`by="sentence"`) of a tokenised batch."""
        starts = layout.doc_starts if by == "doc" else layout.sentence_starts
        n_rows = len(starts) - 1
        seg = _segments(starts)
        voc = self.vocabulary
        found_rows, found_features = [], []
        for n, offset, keys in zip(range(voc.min_n, voc.max_n + 1), voc.offsets, voc.keys, strict=True):
            if len(keys) == 0:
                continue
            where, key = _ngram_keys(ids, seg, n, voc.base)
            if n == 1 and voc.min_n == 1 and len(keys) == voc.base - 1:
                position = key - 1  # every token is a known unigram: its key is its position
                hit = np.ones(len(key), dtype=bool)
            else:
                position = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                hit = keys[position] == key
            found_rows.append(seg[where[hit]])
            found_features.append(position[hit] + offset)
        return self._tfidf(n_rows, found_rows, found_features)

    def _tfidf(self, n_rows: int, found_rows: list[np.ndarray], found_features: list[np.ndarray]) -> Rows:
        n_features = self.vocabulary.n_features
        if not found_rows:
            return Rows(np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), n_features)
        pairs = np.concatenate(found_rows) * n_features + np.concatenate(found_features)
        pairs.sort()
        if len(pairs):
            first = np.concatenate(([True], pairs[1:] != pairs[:-1]))
            unique = pairs[first]
            counts = np.diff(np.concatenate((np.flatnonzero(first), [len(pairs)])))
        else:
            unique, counts = pairs, pairs
        row, feature = np.divmod(unique, n_features)
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        weight = tf * self.idf[feature]
        norm = np.sqrt(np.bincount(row, weight * weight, minlength=n_rows))
        data = weight / norm[row]
        indptr = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n_rows)))).astype(np.int64)
        return Rows(indptr, feature, data, n_features)

    def transform(self, texts: Sequence[str]) -> Rows:
        """TF-IDF rows of a batch of replies."""
        return self.rows(*self.token_ids(self.tokenize(texts)))


# -- fitting (training) ----------------------------------------------------------------------------------


def fit_vocabulary(
    tokens: Tokens,
    normalizer: str,
    ngram_range: tuple[int, int],
    min_df: int = 1,
    negation_scope: int = 0,
    docs: np.ndarray | None = None,
) -> tuple[Vocabulary, np.ndarray]:
    """The vocabulary (n-grams in at least `min_df` replies) and smooth IDF weights of a tokenised corpus.

    `tokens` must come from `tokenize(texts, normalizer, negation_scope)`. The result is the same as
    scikit-learn's TfidfVectorizer(min_df=min_df, smooth_idf=True) fitted with the analyzer "word n-grams of
    the canonical tokens". With `docs`, only those replies of the batch are fitted on (cross-validation folds).
    """
    min_n, max_n = ngram_range
    canonical = canonicalizer(normalizer)
    distinct: dict[str, int] = {}
    split = tokens.tokens
    seg = _segments(tokens.layout.doc_starts)
    n_docs = len(tokens)
    if docs is not None:
        chosen = np.zeros(n_docs, dtype=bool)
        chosen[docs] = True
        inside = chosen[seg]
        split = list(compress(split, inside.tolist()))
        seg = seg[inside]
        n_docs = int(chosen.sum())
    for token in dict.fromkeys(map(canonical, dict.fromkeys(split))):
        distinct.setdefault(token, len(distinct) + 1)
    cache = {t: distinct[canonical(t)] for t in dict.fromkeys(split)}
    ids = np.fromiter(map(cache.__getitem__, split), dtype=np.int64, count=len(split))
    base = len(distinct) + 1
    if base**max_n >= 2**62:
        raise ValueError("vocabulary too large for integer n-gram keys")
    kept: list[tuple[int, np.ndarray, np.ndarray]] = []  # (n, ids of each kept n-gram [m, n], document frequency)
    for n in range(min_n, max_n + 1):
        where, key = _ngram_keys(ids, seg, n, base)
        if not len(key):
            kept.append((n, np.zeros((0, n), dtype=np.int64), np.zeros(0, dtype=np.int64)))
            continue
        order = np.lexsort((seg[where], key))
        key, doc = key[order], seg[where][order]
        new_pair = np.concatenate(([True], (key[1:] != key[:-1]) | (doc[1:] != doc[:-1])))
        key = key[new_pair]
        first = np.concatenate(([True], key[1:] != key[:-1]))
        df = np.diff(np.concatenate((np.flatnonzero(first), [len(key)])))
        unique = key[first]
        keep = df >= min_df
        gram_ids = np.zeros((int(keep.sum()), n), dtype=np.int64)
        rest = unique[keep]
        for k in range(n - 1, -1, -1):
            rest, gram_ids[:, k] = np.divmod(rest, base)
        kept.append((n, gram_ids, df[keep]))
    # The model's tokens: those in some kept n-gram, in sorted order (stable across runs and machines).
    old_tokens = list(distinct)
    used = np.unique(np.concatenate([g.ravel() for _, g, _ in kept])) if kept else np.zeros(0, dtype=np.int64)
    names = sorted(old_tokens[i - 1] for i in used.tolist())
    new_id = np.zeros(base, dtype=np.int64)
    new_id[[distinct[t] for t in names]] = np.arange(1, len(names) + 1)
    new_base = len(names) + 1
    keys, dfs = [], []
    for n, gram_ids, df in kept:
        key = np.zeros(len(gram_ids), dtype=np.int64)
        for k in range(n):
            key = key * new_base + new_id[gram_ids[:, k]]
        order = np.argsort(key, kind="stable")
        keys.append(key[order])
        dfs.append(df[order])
    vocabulary = Vocabulary(normalizer, min_n, max_n, names, keys, negation_scope)
    df_all = np.concatenate(dfs) if dfs else np.zeros(0, dtype=np.int64)
    idf = np.log((1.0 + n_docs) / (1.0 + df_all)) + 1.0
    return vocabulary, idf
