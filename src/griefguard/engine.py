"""The feature engine: a batch of replies -> the model's TF-IDF rows (word n-grams, and optionally character
n-grams inside each token), with numpy alone.

Training fits a `Vocabulary` (`vocabulary_fit`) and transforms its data through the same `FeatureEngine` that
scores, so training and scoring cannot disagree; the most critical sentence is in `sentences`. The work is
vectorised over the batch:
1. the batch becomes one token stream with reply and sentence offsets: `normalize.tokenize`, or for a batch of
   `FeatureEngine.FAST_PATH_AT` replies or more `chunks.tokenize`, the same tokens read through a cache of
   whitespace-separated chunks;
2. each token gets an integer id (unknown tokens 0): from the chunk cache, each distinct chunk's ids are kept
   (`chunks.ChunkIds`) and a batch's are gathered with array indexing; otherwise each token is one dict lookup
   (a cache that canonicalises each distinct token once);
3. an n-gram is the integer sum(id_k * base**(n-1-k)), formed with array arithmetic on the id stream and
   found among the known n-gram keys (`vocabulary.NgramLookup`: a hash table built once per vocabulary, or
   `np.searchsorted` until it is worth building; no strings are built);
4. term counts, sublinear TF, IDF and the L2 norm come from one sort and `np.bincount` over row offsets.
A reply's sentences are just other offsets over the same token stream. With a character block, the cache maps
each distinct token to its list of known character n-grams once; each occurrence's grams are then gathered
with array indexing. The two blocks are normalised separately, as scikit-learn's FeatureUnion of two
TfidfVectorizers does.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import TYPE_CHECKING

import numpy as np

from griefguard.normalize import (
    DOC_MARK,
    DOC_TYPE,
    SENTENCE_MARK,
    SENTENCE_TYPE,
    Layout,
    Tokens,
    canonicalizer,
    tokenize,
)
from griefguard.vocabulary import CharVocabulary, NgramLookup, Vocabulary, char_grams

if TYPE_CHECKING:
    from griefguard.chunks import ChunkIds, ChunkTable

__all__ = [
    "MAX_COLLAPSED",
    "CharVocabulary",
    "Encoded",
    "FeatureEngine",
    "Rows",
    "Vocabulary",
    "char_grams",
    "known_collapsed",
]


@dataclass(frozen=True)
class Rows:
    """A sparse matrix of TF-IDF rows (replies or sentences) in coordinate form, without scipy."""

    row: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_rows: int
    n_features: int

    def take(self, chosen: np.ndarray) -> Rows:
        """The rows `chosen` (indices, repeats allowed), renumbered 0 to len(chosen) - 1 in that order."""
        chosen = np.asarray(chosen, dtype=np.int64)
        order = np.argsort(self.row, kind="stable")
        starts = np.searchsorted(self.row[order], np.arange(self.n_rows + 1))
        lengths = starts[chosen + 1] - starts[chosen]
        total = int(lengths.sum())
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        picked = order[np.repeat(starts[chosen], lengths) + within]
        new_row = np.repeat(np.arange(len(chosen), dtype=np.int64), lengths)
        return Rows(new_row, self.indices[picked], self.data[picked], len(chosen), self.n_features)

    def to_scipy(self):  # type: ignore[no-untyped-def]
        """As a scipy.sparse CSR matrix (training only: scoring never imports scipy)."""
        from scipy import sparse

        matrix = sparse.coo_matrix((self.data, (self.row, self.indices)), shape=(self.n_rows, self.n_features))
        return matrix.tocsr()


@dataclass(frozen=True)
class Encoded:
    """A tokenised batch as the engine reads it: each token's word id (0 if unknown), its type (an index into
    the engine's per-token cache, for character n-grams; None without a character block) and the layout."""

    ids: np.ndarray
    types: np.ndarray | None
    layout: Layout
    cache: _TokenTypes | None = None  # the arrays the types index


_DOUBLED = re.compile(r"([^\W\d_])\1")
MAX_COLLAPSED = 4  # doubled letters tried one by one; beyond this many, a token is not searched further


def known_collapsed(token: str, known: dict[str, int]) -> int:
    """The id of the first known form of `token` with some of its doubled letters made single (fewest first, left
    first), or 0. Stretched letters are cut to two by the normaliser ("deeeead" -> "deead"), which no vocabulary
    holds; the collapsed form ("dead") usually is."""
    spots = [m.start() for m in _DOUBLED.finditer(token)][:MAX_COLLAPSED]
    for size in range(1, len(spots) + 1):
        for chosen in itertools.combinations(spots, size):
            cut = set(chosen)
            variant = "".join(ch for i, ch in enumerate(token) if i not in cut)
            if (found := known.get(variant, 0)) > 0:
                return found
    return 0


class _TokenIds(dict[str, int]):
    """Split token -> id of its canonical form (0 if unknown), filled as tokens are met.

    Each token is canonicalised once; after that a lookup is one C-level dict access. It only ever maps a
    token to the same value, so sharing it between threads is safe, and it stops growing at `limit` entries,
    so memory stays bounded on an endless stream.
    """

    def __init__(self, vocabulary: Vocabulary, limit: int, collapse: bool = True) -> None:
        super().__init__({"\x00": -DOC_MARK, "\x01": -SENTENCE_MARK})  # the batch's separators
        self.known = {t: i for i, t in enumerate(vocabulary.tokens, start=1)}
        self.canonical = canonicalizer(vocabulary.normalizer)
        self.limit = limit
        self.collapse = collapse

    def __missing__(self, token: str) -> int:
        canonical = self.canonical(token)
        value = self.known.get(canonical, 0)
        if not value and self.collapse:
            value = known_collapsed(canonical, self.known)
        if len(self) < self.limit:
            self[token] = value
        return value


class _TokenTypes:
    """Split token -> a dense type id, with each type's word id and its known character n-grams.

    Each distinct token is canonicalised and cut into character n-grams once, under a lock; after that a lookup
    is one C-level dict access, and a batch's n-grams are gathered from flat arrays. The arrays only grow (new
    types are written before they are published), so readers in other threads never need the lock.
    """

    MISSING = -(1 << 40)

    def __init__(self, vocabulary: Vocabulary, chars: CharVocabulary, collapse: bool = True) -> None:
        self.index: dict[str, int] = {"\x00": -DOC_MARK, "\x01": -SENTENCE_MARK}
        self.known = {t: i for i, t in enumerate(vocabulary.tokens, start=1)}
        self.collapse = collapse
        self.canonical = canonicalizer(vocabulary.normalizer)
        self.chars = chars
        self.lock = threading.Lock()
        self.count = 0
        self.word = np.zeros(1024, dtype=np.int64)
        self.ptr = np.zeros(1025, dtype=np.int64)
        self.feat = np.zeros(16384, dtype=np.int64)

    def _add(self, tokens: list[str]) -> None:
        with self.lock:
            tokens = [t for t in tokens if t not in self.index]
            if not tokens:
                return
            canonical = [self.canonical(t) for t in tokens]
            words = [
                self.known.get(c, 0) or (known_collapsed(c, self.known) if self.collapse else 0) for c in canonical
            ]
            feats = [self.chars.features_of(c) for c in canonical]
            n, m = self.count, len(tokens)
            total = int(self.ptr[n]) + sum(map(len, feats))
            if n + m > len(self.word):
                size = 2 * (n + m)
                word, ptr = np.zeros(size, dtype=np.int64), np.zeros(size + 1, dtype=np.int64)
                word[:n], ptr[: n + 1] = self.word[:n], self.ptr[: n + 1]
                self.word, self.ptr = word, ptr
            if total > len(self.feat):
                feat = np.zeros(2 * total, dtype=np.int64)
                feat[: self.ptr[n]] = self.feat[: self.ptr[n]]
                self.feat = feat
            self.word[n : n + m] = words
            self.ptr[n + 1 : n + m + 1] = self.ptr[n] + np.cumsum([len(f) for f in feats])
            self.feat[self.ptr[n] : total] = [j for f in feats for j in f]
            self.count = n + m
            for i, token in enumerate(tokens):  # published last: a reader that finds a type finds its data
                self.index[token] = n + i

    def types(self, flat: list[str]) -> np.ndarray:
        found = np.fromiter(map(self.index.get, flat, repeat(self.MISSING)), dtype=np.int64, count=len(flat))
        missing = found == self.MISSING
        if missing.any():
            new = list(compress(flat, missing.tolist()))
            self._add(list(dict.fromkeys(new)))
            found[missing] = [self.index[t] for t in new]
        return found


def _segments(starts: np.ndarray) -> np.ndarray:
    """The segment (reply or sentence) of each token, from the segments' start offsets."""
    return np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))


def _ngram_keys(
    ids: np.ndarray, seg: np.ndarray, n: int, base: int, shorter: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(start position, key) of every n-gram of known tokens that stays inside one segment.

    With `shorter` (whether the known (n - 1)-grams include the one at each position), only the n-grams whose two
    (n - 1)-grams are both known: the others cannot be known n-grams of a vocabulary closed under them."""
    span = len(ids) - n + 1
    if span <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ok = seg[:span] == seg[n - 1 :]
    if shorter is not None:
        ok &= shorter[:span]
        ok &= shorter[1 : span + 1]
    else:
        for k in range(n):
            ok &= ids[k : k + span] > 0
    where = np.flatnonzero(ok)
    key = ids[where]
    for k in range(1, n):
        key = key * base + ids[where + k]
    return where, key


class FeatureEngine:
    """TF-IDF rows of a fitted vocabulary: exactly what scikit-learn computes for the same analyzers (a
    TfidfVectorizer per block, with smooth IDF, L2 norm and optional sublinear TF, joined as a FeatureUnion),
    for any batch of replies or their sentences."""

    CACHE_LIMIT = 500_000  # distinct tokens a token cache holds (memory stays bounded on an endless stream)
    FAST_PATH_AT = 40  # replies in a batch from which `tokenize` goes through the chunk table

    def __init__(
        self,
        vocabulary: Vocabulary,
        idf: np.ndarray,
        sublinear_tf: bool = True,
        chars: CharVocabulary | None = None,
        char_idf: np.ndarray | None = None,
        collapse_unknown: bool = True,
    ) -> None:
        """`collapse_unknown`: an unknown token with doubled letters is looked up with some of them made single
        (`known_collapsed`), against letter stretching; False gives scikit-learn's exact features."""
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        if self.idf.shape != (vocabulary.n_features,):
            raise ValueError(f"idf has shape {self.idf.shape}, expected ({vocabulary.n_features},)")
        self.chars = chars
        self.char_idf = None if char_idf is None else np.asarray(char_idf, dtype=np.float64)
        if (chars is None) != (self.char_idf is None):
            raise ValueError("a character block needs both its vocabulary and its idf")
        if chars is not None and self.char_idf is not None and self.char_idf.shape != (chars.n_features,):
            raise ValueError(f"char idf has shape {self.char_idf.shape}, expected ({chars.n_features},)")
        self.sublinear_tf = bool(sublinear_tf)
        # One token cache: word ids alone, or (with a character block) word ids and character n-grams.
        self._ids = _TokenIds(vocabulary, self.CACHE_LIMIT, collapse_unknown) if chars is None else None
        self._types = _TokenTypes(vocabulary, chars, collapse_unknown) if chars is not None else None
        self._chunk_ids: ChunkIds | None = None  # word ids per chunk type of the current chunk table
        self._lookup = NgramLookup(vocabulary)

    @property
    def n_features(self) -> int:
        return self.vocabulary.n_features + (self.chars.n_features if self.chars is not None else 0)

    def tokenize(self, texts: Sequence[str]) -> Tokens:
        """The batch's tokens: through the chunk table (`chunks.tokenize`, the same tokens) from `FAST_PATH_AT`
        replies on; a smaller batch takes `normalize.tokenize`, which costs less for a few replies."""
        voc = self.vocabulary
        if len(texts) < self.FAST_PATH_AT:
            return tokenize(texts, voc.normalizer, voc.negation_scope)
        from griefguard import chunks  # (loaded by the first large batch: a one-reply command never loads it)

        return chunks.tokenize(texts, voc.normalizer, voc.negation_scope)

    def encode(self, tokens: Tokens) -> Encoded:
        """Each token's word id (0 for an unknown token) and type, and where replies and sentences start.

        Tokens given as chunk types are gathered from each chunk's ids; others take one dict lookup per token (the
        separators between replies and sentences too, as negative ids). Either way the layout comes from the same
        pass.
        """
        if self._ids is not None and tokens.chunks is not None:
            types = tokens.chunks.types
            ids, lengths = self._chunk_ids_of(tokens.chunks.table).ids(types)
            separators = np.flatnonzero(types <= SENTENCE_TYPE)
            return Encoded(ids, None, Layout.from_lengths(lengths, separators, types[separators] == DOC_TYPE))
        if self._ids is not None:
            flat = np.fromiter(map(self._ids.__getitem__, tokens.flat), dtype=np.int64, count=len(tokens.flat))
            layout = Layout.from_marks(np.where(flat < 0, -flat, 0).astype(np.int8))
            return Encoded(flat[layout.keep], None, layout)
        cache = self._types
        assert cache is not None
        if cache.count > self.CACHE_LIMIT:
            cache = self._types = _TokenTypes(self.vocabulary, cache.chars, cache.collapse)
        types = cache.types(tokens.flat)
        layout = Layout.from_marks(np.where(types < 0, -types, 0).astype(np.int8))
        types = types[layout.keep]
        return Encoded(cache.word[types], types, layout, cache)

    def _chunk_ids_of(self, table: ChunkTable) -> ChunkIds:
        """The word ids of the chunk types of `table` (started again when the chunk table is)."""
        chunk_ids = self._chunk_ids
        if chunk_ids is None or chunk_ids.table is not table:
            from griefguard.chunks import ChunkIds  # (loaded already: the tokens came from a chunk table)

            assert self._ids is not None
            chunk_ids = self._chunk_ids = ChunkIds(table, self._ids)
        return chunk_ids

    def coverage(self, encoded: Encoded) -> np.ndarray:
        """The share of each reply's tokens that the model knows (0 for a reply with no tokens)."""
        layout = encoded.layout
        known = np.concatenate(([0], np.cumsum(encoded.ids > 0)))
        count = np.diff(layout.doc_starts)
        hits = known[layout.doc_starts[1:]] - known[layout.doc_starts[:-1]]
        return np.divide(hits, count, out=np.zeros(len(count)), where=count > 0)

    def rows(self, encoded: Encoded, by: str = "doc") -> Rows:
        """TF-IDF rows for each reply (`by="doc"`) or each sentence (`by="sentence"`) of an encoded batch."""
        layout, ids = encoded.layout, encoded.ids
        starts = layout.doc_starts if by == "doc" else layout.sentence_starts
        n_rows = len(starts) - 1
        seg = _segments(starts)
        voc = self.vocabulary
        found_rows, found_features = [], []
        shorter = None  # whether the (n - 1)-gram at each position is known
        for n, offset, keys in zip(range(voc.min_n, voc.max_n + 1), voc.offsets, voc.keys, strict=True):
            if len(keys) == 0:
                shorter = None
                continue
            where, key = _ngram_keys(ids, seg, n, voc.base, shorter if self._lookup.closed(n) else None)
            if n == 1 and voc.min_n == 1 and len(keys) == voc.base - 1:
                position = key - 1  # every token is a known unigram: its key is its position
                hit = np.ones(len(key), dtype=bool)
            else:
                position = self._lookup.find(n, key)
                hit = position >= 0
            found_rows.append(seg[where[hit]])
            found_features.append(position[hit] + offset)
            if n < voc.max_n:
                shorter = np.zeros(len(ids), dtype=bool)
                shorter[where[hit]] = True
        words = _tfidf(n_rows, found_rows, found_features, voc.n_features, self.idf, self.sublinear_tf)
        if self.chars is None or encoded.types is None or encoded.cache is None:
            return Rows(*words, n_rows, self.n_features)
        cache, types = encoded.cache, encoded.types
        begin = cache.ptr[types]
        length = cache.ptr[types + 1] - begin
        total = int(length.sum())
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(length) - length, length)
        grams = cache.feat[np.repeat(begin, length) + within]
        assert self.char_idf is not None
        char_rows = _tfidf(
            n_rows, [np.repeat(seg, length)], [grams], self.chars.n_features, self.char_idf, self.sublinear_tf
        )
        return Rows(
            np.concatenate((words[0], char_rows[0])),
            np.concatenate((words[1], char_rows[1] + voc.n_features)),
            np.concatenate((words[2], char_rows[2])),
            n_rows,
            self.n_features,
        )

    def transform(self, texts: Sequence[str]) -> Rows:
        """TF-IDF rows of a batch of replies."""
        return self.rows(self.encode(self.tokenize(texts)))


def _tfidf(
    n_rows: int,
    found_rows: list[np.ndarray],
    found_features: list[np.ndarray],
    n_features: int,
    idf: np.ndarray,
    sublinear_tf: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, feature, value) of the L2-normalised TF-IDF of (row, feature) occurrences."""
    empty = np.zeros(0, dtype=np.int64)
    if not found_rows or not sum(len(r) for r in found_rows):
        return empty, empty, np.zeros(0)
    shift = max(1, (n_features - 1).bit_length())  # a pair is row * 2**shift + feature
    pairs = np.concatenate(found_rows) << shift
    pairs |= np.concatenate(found_features)
    pairs.sort(kind="stable")  # a merge sort: the pairs come in runs already ordered by row
    first = np.empty(len(pairs), dtype=bool)
    first[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    unique = pairs[starts]
    counts = np.diff(np.append(starts, len(pairs)))
    row, feature = unique >> shift, unique & ((1 << shift) - 1)
    tf = counts.astype(np.float64)
    if sublinear_tf:
        repeated = counts > 1  # (log(1) + 1 is 1: most terms occur once in their row)
        tf[repeated] = np.log(tf[repeated]) + 1.0
    weight = tf * idf[feature]
    norm = np.sqrt(np.bincount(row, weight * weight, minlength=n_rows))
    return row, feature, weight / norm[row]
