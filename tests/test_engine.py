"""The feature engine computes exactly what scikit-learn's TfidfVectorizer computes, for every feature setting the
model search allows, on any batch of replies (a property, not an example)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from griefguard.engine import CharVocabulary, FeatureEngine, Vocabulary, char_grams
from griefguard.normalize import tokenize, tokens
from griefguard.training.params import TfidfEngine
from griefguard.training.search import STAGE_CHAR_FEATURES, STAGE_FEATURES, STAGE_NORMALIZER
from griefguard.vocabulary_fit import fit_char_vocabulary, fit_vocabulary

# Every setting the search space allows: the n-gram ranges and normalisers it tries, both TF scalings.
RANGES = sorted(
    {(r, ch) for r, ch, _ in STAGE_FEATURES + STAGE_CHAR_FEATURES} | {((1, 1), None), ((2, 3), None), ((1, 1), (1, 3))},
    key=str,
)
SETTINGS = [
    (rng, chars, normalizer, scope, sublinear, min_df)
    for rng, chars in RANGES
    for normalizer, scope in STAGE_NORMALIZER
    for sublinear in (True, False)
    for min_df in (1, 2)
]

# Words that repeat (so n-grams reach min_df), obfuscations, emoji, quotes, negations, sentence ends.
WORDS = st.sampled_from(
    ["so", "sorry", "fake", "f4ke", "FAKE", "not", "nobody", "she", "'fake'", "❤️", "💔", "!", "?", ".", "\n", "x"]
)
REPLY = st.one_of(st.lists(WORDS, max_size=12).map(" ".join), st.text(max_size=40))


def sklearn_reference(fit_texts, texts, rng, chars, normalizer, scope, sublinear, min_df):  # type: ignore[no-untyped-def]
    """scikit-learn: a TfidfVectorizer for word n-grams of the normalised tokens and, with `chars`, another
    for character n-grams inside each padded token, joined by a FeatureUnion. Returns (names, matrix)."""
    from sklearn.pipeline import FeatureUnion

    def words(text: str) -> list[str]:
        toks = tokens(text, normalizer, scope)
        return [" ".join(toks[i : i + n]) for n in range(rng[0], rng[1] + 1) for i in range(len(toks) - n + 1)]

    def letters(text: str) -> list[str]:
        return [g for tok in tokens(text, normalizer, scope) for g in char_grams(tok, *chars)]

    parts = [("word", TfidfVectorizer(analyzer=words, min_df=min_df, sublinear_tf=sublinear))]
    if chars is not None:
        parts.append(("char", TfidfVectorizer(analyzer=letters, min_df=min_df, sublinear_tf=sublinear)))
    union = FeatureUnion(parts)
    matrix = union.fit(fit_texts).transform(texts)
    names = []
    for name, vectorizer in union.transformer_list:
        inverse = {i: g for g, i in vectorizer.vocabulary_.items()}
        names += [("char:" if name == "char" else "") + inverse[i] for i in range(len(inverse))]
    return names, matrix


def as_dicts(matrix, names):  # type: ignore[no-untyped-def]
    matrix = matrix.tocsr()
    return [
        {names[j]: v for j, v in zip(matrix.indices[a:b], matrix.data[a:b], strict=True)}
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(REPLY, min_size=1, max_size=12), st.lists(REPLY, max_size=6), st.sampled_from(SETTINGS))
def test_engine_equals_scikit_learn(fit_texts: list[str], new_texts: list[str], setting) -> None:  # type: ignore[no-untyped-def]
    rng, chars, normalizer, scope, sublinear, min_df = setting
    batch = tokenize(fit_texts, normalizer, scope)
    vocabulary, idf = fit_vocabulary(batch, normalizer, rng, min_df, scope)
    char_vocabulary = char_idf = None
    if chars is not None:
        char_vocabulary, char_idf = fit_char_vocabulary(batch, normalizer, chars, min_df)
    try:
        names, expected = sklearn_reference(fit_texts, fit_texts + new_texts, *setting)
    except ValueError:  # scikit-learn refuses an empty vocabulary; so must we produce one
        assert vocabulary.n_features == 0 or (char_vocabulary is not None and char_vocabulary.n_features == 0)
        return
    engine = FeatureEngine(vocabulary, idf, sublinear, char_vocabulary, char_idf, collapse_unknown=False)
    ours_names = vocabulary.feature_names() + (
        [f"char:{g}" for g in char_vocabulary.grams] if char_vocabulary is not None else []
    )
    assert sorted(ours_names) == sorted(names)
    ours = as_dicts(engine.transform(fit_texts + new_texts).to_scipy(), ours_names)
    theirs = as_dicts(expected, names)
    for a, b in zip(ours, theirs, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert abs(a[key] - b[key]) <= 1e-9


def test_empty_and_unknown_replies_have_no_features() -> None:
    texts = ["so sorry", "so sorry for you", "fake"]
    engine = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1))
    rows = engine.transform(["", "   ", "zzz qqq", "so sorry"])
    assert set(rows.row.tolist()) == {3}
    assert engine.coverage(engine.encode(engine.tokenize(["", "zzz so", "so sorry"]))).tolist() == [0.0, 0.5, 1.0]


def test_sentence_rows_are_the_sentences_on_their_own() -> None:
    texts = ["so sorry. she was fake. so sorry", "fake", "she was so sorry"]
    engine = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 3), 1))
    sentences = engine.rows(engine.encode(engine.tokenize(["so sorry. she was fake"])), by="sentence")
    sentences = sentences.to_scipy().toarray()
    alone = engine.transform(["so sorry.", "she was fake"]).to_scipy().toarray()
    assert np.allclose(sentences, alone)


def test_fitting_on_a_subset_equals_fitting_on_those_replies() -> None:
    texts = ["so sorry", "fake fake", "so sorry for you", "fake news", "so fake", "sorry"]
    keep = np.array([0, 2, 4, 5])
    a, idf_a = fit_vocabulary(tokenize(texts), "full", (1, 2), 1, docs=keep)
    b, idf_b = fit_vocabulary(tokenize([texts[i] for i in keep]), "full", (1, 2), 1)
    assert a.feature_names() == b.feature_names() and np.array_equal(idf_a, idf_b)


def test_character_blocks_are_cached_per_token_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["so sorry", "fake fake", "so sorry for you", "fake news", "sooo fake"]
    batch = tokenize(texts)
    engine = FeatureEngine(
        *fit_vocabulary(batch, "full", (1, 2), 1), True, *fit_char_vocabulary(batch, "full", (2, 4), 1)
    )
    expected = engine.transform(texts).to_scipy().toarray()
    monkeypatch.setattr(FeatureEngine, "CACHE_LIMIT", 3)  # the cache starts again: the same features
    for _ in range(3):
        assert np.allclose(engine.transform(texts).to_scipy().toarray(), expected)
    assert engine.transform(["fakes"]).to_scipy().nnz > 0, "an unknown word still has known character n-grams"
    with pytest.raises(ValueError, match="sorted and distinct"):
        CharVocabulary(2, 3, ["b", "a"])


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
    assert TfidfEngine(ngram_range=(1, 1), char_range=(2, 3), min_df=1).fit(texts).transform(texts).shape[1] > 10
    direct = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1)).transform(texts).to_scipy()
    assert (transformer.transform(texts) != direct).nnz == 0
    assert list(transformer.get_feature_names_out())[:2] == ["fake", "for"]


def test_a_stretched_unknown_token_is_read_as_its_collapsed_known_form() -> None:
    texts = ["so dead inside", "fake tears", "look at this"]
    engine = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1))
    exact = FeatureEngine(*fit_vocabulary(tokenize(texts), "full", (1, 2), 1), collapse_unknown=False)
    for stretched, plain in (("deeeeaaad", "dead"), ("faaaakeee teeears", "fake tears"), ("loooook", "look")):
        assert np.array_equal(engine.transform([stretched]).data, engine.transform([plain]).data), stretched
        assert not len(exact.transform([stretched]).data) or stretched == "loooook"
    assert not len(engine.transform(["zzzz qqqq"]).data), "an unknown word stays unknown"
