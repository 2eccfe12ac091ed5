"""The feature engine computes exactly what scikit-learn's TfidfVectorizer computes, for every feature setting the
model search allows, on any batch of replies (a property, not an example)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from griefguard.engine import FeatureEngine, Vocabulary, fit_vocabulary
from griefguard.normalize import tokenize, tokens
from griefguard.training.params import TfidfEngine
from griefguard.training.search import STAGE_FEATURES, STAGE_NORMALIZER

# Every setting the search space allows: the n-gram ranges and normalisers it tries, both TF scalings.
RANGES = sorted({r for r, _ in STAGE_FEATURES} | {(1, 1), (2, 3)})
SETTINGS = [
    (rng, normalizer, scope, sublinear, min_df)
    for rng in RANGES
    for normalizer, scope in STAGE_NORMALIZER
    for sublinear in (True, False)
    for min_df in (1, 2)
]

# Words that repeat (so n-grams reach min_df), obfuscations, emoji, quotes, negations, sentence ends.
WORDS = st.sampled_from(
    ["so", "sorry", "fake", "f4ke", "FAKE", "not", "nobody", "she", "'fake'", "❤️", "💔", "!", "?", ".", "\n", "x"]
)
REPLY = st.one_of(st.lists(WORDS, max_size=12).map(" ".join), st.text(max_size=40))


def sklearn_reference(fit_texts, texts, rng, normalizer, scope, sublinear, min_df):  # type: ignore[no-untyped-def]
    """scikit-learn's TfidfVectorizer with the analyzer 'word n-grams of the normalised tokens'."""

    def analyzer(text: str) -> list[str]:
        toks = tokens(text, normalizer, scope)
        return [" ".join(toks[i : i + n]) for n in range(rng[0], rng[1] + 1) for i in range(len(toks) - n + 1)]

    vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=min_df, sublinear_tf=sublinear)
    return vectorizer, vectorizer.fit(fit_texts).transform(texts)


def as_dicts(matrix, names):  # type: ignore[no-untyped-def]
    matrix = matrix.tocsr()
    return [
        {names[j]: v for j, v in zip(matrix.indices[a:b], matrix.data[a:b], strict=True)}
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(REPLY, min_size=1, max_size=12), st.lists(REPLY, max_size=6), st.sampled_from(SETTINGS))
def test_engine_equals_scikit_learn(fit_texts: list[str], new_texts: list[str], setting) -> None:  # type: ignore[no-untyped-def]
    rng, normalizer, scope, sublinear, min_df = setting
    vocabulary, idf = fit_vocabulary(tokenize(fit_texts, normalizer, scope), normalizer, rng, min_df, scope)
    try:
        vectorizer, expected = sklearn_reference(fit_texts, fit_texts + new_texts, *setting)
    except ValueError:  # scikit-learn refuses an empty vocabulary; so must we produce one
        assert vocabulary.n_features == 0
        return
    engine = FeatureEngine(vocabulary, idf, sublinear)
    got = engine.transform(fit_texts + new_texts)
    names = vocabulary.feature_names()
    assert sorted(names) == sorted(vectorizer.vocabulary_)
    order = [vectorizer.vocabulary_[n] for n in names]
    assert np.allclose(idf, vectorizer.idf_[order], rtol=0, atol=1e-12)
    inverse = {i: n for n, i in vectorizer.vocabulary_.items()}
    ours = as_dicts(got.to_scipy(), names)
    theirs = as_dicts(expected, [inverse[i] for i in range(len(inverse))])
    for a, b in zip(ours, theirs, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert abs(a[key] - b[key]) <= 1e-9


def test_empty_and_unknown_replies_have_no_features() -> None:
    texts = ["so sorry", "so sorry for you", "fake"]
    engine = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1))
    rows = engine.transform(["", "   ", "zzz qqq", "so sorry"])
    assert np.diff(rows.indptr).tolist()[:3] == [0, 0, 0]
    ids, layout = engine.token_ids(engine.tokenize(["", "zzz so", "so sorry"]))
    assert engine.coverage(ids, layout).tolist() == [0.0, 0.5, 1.0]


def test_sentence_rows_are_the_sentences_on_their_own() -> None:
    texts = ["so sorry. she was fake. so sorry", "fake", "she was so sorry"]
    engine = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 3), 1))
    ids, layout = engine.token_ids(engine.tokenize(["so sorry. she was fake"]))
    sentences = engine.rows(ids, layout, by="sentence").to_scipy().toarray()
    alone = engine.transform(["so sorry.", "she was fake"]).to_scipy().toarray()
    assert np.allclose(sentences, alone)


def test_fitting_on_a_subset_equals_fitting_on_those_replies() -> None:
    texts = ["so sorry", "fake fake", "so sorry for you", "fake news", "so fake", "sorry"]
    keep = np.array([0, 2, 4, 5])
    a, idf_a = fit_vocabulary(tokenize(texts), "full", (1, 2), 1, docs=keep)
    b, idf_b = fit_vocabulary(tokenize([texts[i] for i in keep]), "full", (1, 2), 1)
    assert a.feature_names() == b.feature_names() and np.array_equal(idf_a, idf_b)


def test_vocabulary_checks_its_arrays() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        Vocabulary("full", 1, 1, ["a", "b"], [np.array([2, 1], dtype=np.int64)])
    with pytest.raises(ValueError, match="unknown normalizer"):
        Vocabulary("shout", 1, 1, [], [np.zeros(0, dtype=np.int64)])
    with pytest.raises(ValueError, match="one key array"):
        Vocabulary("full", 1, 2, [], [np.zeros(0, dtype=np.int64)])


def test_the_training_transformer_is_the_engine() -> None:
    texts = ["so sorry", "fake fake", "so sorry for you", "fake news"]
    transformer = TfidfEngine(ngram_range=(1, 2), min_df=1).fit(texts)
    direct = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1)).transform(texts).to_scipy()
    assert (transformer.transform(texts) != direct).nnz == 0
    assert list(transformer.get_feature_names_out())[:2] == ["fake", "for"]
