"""Fitting the vocabularies on a tokenised corpus (training only; scoring never imports this): word n-grams in at
least `min_df` replies and character n-grams, with their smooth IDF weights, as scikit-learn's TfidfVectorizer
fits them. The n-gram keys are formed by the same function the feature engine transforms with.
"""

from __future__ import annotations

from itertools import compress

import numpy as np

from griefguard.engine import _ngram_keys, _segments
from griefguard.normalize import Tokens, canonicalizer
from griefguard.vocabulary import CharVocabulary, Vocabulary, char_grams

__all__ = ["fit_char_vocabulary", "fit_vocabulary"]


def _fitted_docs(tokens: Tokens, docs: np.ndarray | None) -> tuple[list[str], np.ndarray, int]:
    """The tokens to fit on (all replies, or only `docs`), each token's reply, and the number of replies."""
    split = tokens.tokens
    seg = _segments(tokens.layout.doc_starts)
    if docs is None:
        return split, seg, len(tokens)
    chosen = np.zeros(len(tokens), dtype=bool)
    chosen[docs] = True
    inside = chosen[seg]
    return list(compress(split, inside.tolist())), seg[inside], int(chosen.sum())


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
    split, seg, n_docs = _fitted_docs(tokens, docs)
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


def fit_char_vocabulary(
    tokens: Tokens,
    normalizer: str,
    char_range: tuple[int, int],
    min_df: int = 1,
    docs: np.ndarray | None = None,
) -> tuple[CharVocabulary, np.ndarray]:
    """The character n-grams in at least `min_df` replies, and their smooth IDF weights.

    The same as scikit-learn's TfidfVectorizer(min_df=min_df) fitted with the analyzer "character n-grams of
    each space-padded canonical token" (`char_grams`).
    """
    canonical = canonicalizer(normalizer)
    split, seg, n_docs = _fitted_docs(tokens, docs)
    types: dict[str, int] = {}
    type_of = np.fromiter((types.setdefault(t, len(types)) for t in split), dtype=np.int64, count=len(split))
    gram_ids: dict[str, int] = {}
    lists = [[gram_ids.setdefault(g, len(gram_ids)) for g in char_grams(canonical(t), *char_range)] for t in types]
    length = np.array([len(x) for x in lists], dtype=np.int64)
    ptr = np.concatenate(([0], np.cumsum(length)))
    flat = np.fromiter((g for x in lists for g in x), dtype=np.int64, count=int(ptr[-1]))
    occurrences = length[type_of]
    within = np.arange(int(occurrences.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(occurrences) - occurrences, occurrences
    )
    grams = flat[np.repeat(ptr[type_of], occurrences) + within]
    doc = np.repeat(seg, occurrences)
    pairs = np.unique(doc * max(1, len(gram_ids)) + grams)
    df = np.bincount(pairs % max(1, len(gram_ids)), minlength=len(gram_ids))
    names = list(gram_ids)
    kept = sorted(names[j] for j in np.flatnonzero(df >= min_df).tolist())
    vocabulary = CharVocabulary(char_range[0], char_range[1], kept)
    idf = np.log((1.0 + n_docs) / (1.0 + df[[gram_ids[g] for g in kept]])) + 1.0
    return vocabulary, idf.astype(np.float64)
