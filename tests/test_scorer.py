"""The library: lazy loading, three labels, coverage, explanations, thread safety, clear errors, behaviour a
moderator relies on."""

from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from conftest import MODEL
from hypothesis import given, settings
from hypothesis import strategies as st

from griefguard import Prediction, load_scorer
from griefguard.normalize import sentence_texts, tokens
from griefguard.scorer import Scorer
from griefguard.sentences import SentenceRule

SCORER = load_scorer()


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return SCORER


def test_import_loads_nothing_and_scoring_never_imports_scikit_learn_or_scipy() -> None:
    code = (
        "import sys, griefguard\n"
        "assert 'numpy' not in sys.modules, 'import must stay lazy'\n"
        "s = griefguard.load_scorer()\n"
        "s.score('so sorry'); s.explain('fake. so fake.'); s.classify(['x'])\n"
        "assert not {'sklearn', 'scipy', 'joblib'} & set(sys.modules), 'the scoring path must stay lean'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_model_is_the_bundled_one(scorer: Scorer) -> None:
    assert scorer.path is not None and scorer.path.resolve() == MODEL.resolve()
    assert scorer.labels == ("critical", "supportive", "neutral")
    assert 0.0 < scorer.threshold < 1.0


def test_score_score_many_classify_and_probabilities_agree(scorer: Scorer) -> None:
    texts = ["So sorry for your loss", "fake, PR stunt", "Rest easy little one 🕊️", "what camera is that?"]
    many = scorer.score_many(iter(texts), batch_size=2)  # any iterable, in batches
    assert isinstance(many, np.ndarray) and many.shape == (4,)
    assert many.tolist() == pytest.approx([scorer.score(t) for t in texts], abs=1e-12)
    probs = scorer.probabilities(texts)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(axis=1), 1.0)
    assert np.allclose(probs[:, 0], many)
    for p, row in zip(scorer.classify(texts), probs, strict=True):
        assert isinstance(p, Prediction)
        assert p.label == scorer.labels[int(np.argmax(row))]
        assert p.flagged == (p.score >= scorer.threshold)
        assert p.probabilities == dict(zip(scorer.labels, row.tolist(), strict=True))
    same, coverage = scorer.probabilities_and_coverage(iter(texts))
    assert np.array_equal(same, probs) and coverage.tolist() == [p.coverage for p in scorer.classify(texts)]
    assert scorer.score_many([]).shape == (0,) and scorer.probabilities([]).shape == (0, 3)
    assert [a.shape for a in scorer.probabilities_and_coverage([])] == [(0, 3), (0,)]


def test_classify_uses_the_model_threshold_or_the_one_given(scorer: Scorer) -> None:
    assert all(p.flagged for p in scorer.classify(["So sorry for your loss"], threshold=0.0))
    assert not any(p.flagged for p in scorer.classify(["fake, PR stunt"], threshold=1.0))
    assert scorer.classify("one string is one reply")[0].text == "one string is one reply"
    with pytest.raises(ValueError, match="between 0 and 1"):
        scorer.classify(["x"], threshold=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        scorer.classify(["x"], threshold=float("nan"))


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "...", "Zxqvw Äqpfel ühbqzz Bvrqzz xqzv"])
def test_a_reply_with_no_known_word_is_neutral_and_never_flagged(scorer: Scorer, text: str) -> None:
    p = scorer.classify([text], threshold=0.0)[0]
    assert p.coverage == 0.0
    assert (p.label, p.score, p.flagged) == ("neutral", 0.0, False), "not even at threshold 0"
    assert p.probabilities == {"critical": 0.0, "supportive": 0.0, "neutral": 1.0}


def test_a_reply_with_some_known_words_is_scored_on_them(scorer: Scorer) -> None:
    p = scorer.classify(["Zwölf Äpfel überqueren Bürgersteige fake"])[0]
    assert 0.0 < p.coverage < 1.0
    assert p.probabilities != {"critical": 0.0, "supportive": 0.0, "neutral": 1.0}


def test_coverage_is_the_share_of_known_tokens(scorer: Scorer) -> None:
    assert scorer.classify(["so sorry"])[0].coverage == 1.0
    assert scorer.classify(["so sorry qqqzzzxx"])[0].coverage == pytest.approx(2 / 3)


def test_wrong_input_types_are_clear_errors(scorer: Scorer) -> None:
    with pytest.raises(TypeError, match="must be a str, got NoneType"):
        scorer.score(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got bytes: decode it first"):
        scorer.score(b"fake")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got one string: use score"):
        scorer.score_many("fake")
    with pytest.raises(TypeError, match="must be a str, got int"):
        scorer.score_many(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="iterable of replies, got int"):
        scorer.score_many(5)  # type: ignore[arg-type]


def test_a_scorer_is_immutable(scorer: Scorer) -> None:
    with pytest.raises(AttributeError):
        scorer.threshold = 0.1  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        scorer._model = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        scorer.card["threshold"] = 0  # type: ignore[index]


def test_a_scorer_pickles_as_its_model_not_a_path(scorer: Scorer) -> None:
    copy = pickle.loads(pickle.dumps(scorer))
    texts = ["fake", "so sorry", "what song is this"]
    assert np.array_equal(copy.probabilities(texts), scorer.probabilities(texts))
    built = Scorer(scorer.model)  # no path at all
    assert built.path is None and np.array_equal(built.score_many(texts), scorer.score_many(texts))


def test_a_scorer_is_safe_to_share_between_threads(scorer: Scorer) -> None:
    texts = [f"reply number {i}: so sorry, or maybe she did it for likes {i % 7}" for i in range(400)]
    expected = scorer.score_many(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda chunk: scorer.score_many(chunk), [texts[i::4] for i in range(4)]))
    for i in range(4):
        assert np.array_equal(results[i], expected[i::4])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_string_scores_to_a_probability(text: str) -> None:
    p = SCORER.classify([text])[0]
    assert 0.0 <= p.score <= 1.0 and 0.0 <= p.coverage <= 1.0
    assert abs(sum(p.probabilities.values()) - 1.0) < 1e-9


def test_explain_names_terms_for_and_against(scorer: Scorer) -> None:
    exp = scorer.explain("Posting a dead baby online is disgusting.")
    assert exp.score == pytest.approx(scorer.score("Posting a dead baby online is disgusting."))
    assert exp.raising and all(w > 0 for _, w in exp.raising)
    assert all(w < 0 and label in ("supportive", "neutral") for _, w, label in exp.lowering)
    assert exp.sentence is None  # one sentence: nothing to point at
    two = scorer.explain("So sorry for your loss. But she should have rested.")
    assert two.sentence in ("So sorry for your loss.", "But she should have rested.")
    assert two.sentence_score is not None and 0.0 <= two.sentence_score <= 1.0
    assert scorer.explain("").raising == [] and scorer.explain("").coverage == 0.0


RULED = Scorer(replace(SCORER.model, sentence_rule=SentenceRule(weight=1.0, gate=0.5, min_sentences=2)))


def _rule_the_slow_way(ruled: Scorer, texts: list[str]) -> np.ndarray:
    """The sentence rule as documented: each reply and each of its sentences (those with a token) scored on its
    own; in a reply of at least `min_sentences` sentences, the most critical one raises the reply."""
    plain = Scorer(replace(ruled.model, sentence_rule=SentenceRule()))
    whole = plain.probabilities(texts)
    worst = np.zeros(len(texts))
    counts = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        pieces = [p for p in sentence_texts(text) if tokens(p)]
        counts[i] = len(pieces)
        if len(pieces) >= 2:
            worst[i] = plain.probabilities(pieces)[:, 0].max()
    return ruled.model.sentence_rule.apply(whole, worst, counts, 0)[0]


def test_batch_scores_follow_the_stated_sentence_rule() -> None:
    from conftest import DATA

    from griefguard.dataset import load_labeled

    texts = [
        *load_labeled(DATA / "dilution" / "test.csv").texts[:120],
        "f. a. k. e.",
        "So sorry.\x00 Fake.",
        "\n'quoted'. \u200bNext one!  ",
        "a\n\nb. c",
        "...",
        "So sorry. Zwölf qqq xzv.",
    ]
    assert np.abs(RULED.probabilities(texts) - _rule_the_slow_way(RULED, texts)).max() < 1e-12


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from(list("ab .!?…\n'\u200b\x00F4$ é❤")), max_size=30), min_size=1, max_size=6)
)
def test_batch_scores_follow_the_sentence_rule_on_odd_text(texts: list[str]) -> None:
    assert np.abs(RULED.probabilities(texts) - _rule_the_slow_way(RULED, texts)).max() < 1e-12


def test_explain_uses_the_sentence_that_set_the_score() -> None:
    text = "I am so sorry for your loss. She was beautiful. Posting a dead baby online is disgusting."
    exp = RULED.explain(text)
    assert exp.from_sentence and exp.sentence == "Posting a dead baby online is disgusting."
    assert exp.score == pytest.approx(exp.sentence_score)
    assert {t for t, _ in exp.raising} <= {" ".join(g) for g in _grams(exp.sentence)}


def _grams(text: str) -> list[tuple[str, ...]]:
    toks = tokens(text)
    return [tuple(toks[i : i + n]) for n in (1, 2, 3) for i in range(len(toks) - n + 1)]
