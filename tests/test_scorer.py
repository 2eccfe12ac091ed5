"""The library: lazy loading, scores in [0, 1], explanations, thread safety, clear model errors, hard cases."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import MODEL
from hypothesis import given, settings
from hypothesis import strategies as st

from griefguard import Prediction, load_scorer
from griefguard.errors import ModelError
from griefguard.scorer import split_sentences


@pytest.fixture(scope="module")
def scorer():  # type: ignore[no-untyped-def]
    return load_scorer()


def _flagged(scorer, text: str) -> bool:  # type: ignore[no-untyped-def]
    return scorer.classify([text])[0].flagged


def test_import_loads_no_model_and_scoring_never_imports_sklearn() -> None:
    code = (
        "import sys, griefguard\n"
        "assert 'numpy' not in sys.modules and 'joblib' not in sys.modules, 'import must stay lazy'\n"
        "s = griefguard.load_scorer()\n"
        "s.score('so sorry'); s.explain('fake. so fake.')\n"
        "assert 'sklearn' not in sys.modules, 'the scoring path must not import scikit-learn'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_model_is_the_bundled_one(scorer) -> None:  # type: ignore[no-untyped-def]
    assert scorer.path.resolve() == MODEL.resolve()
    assert 0.0 < scorer.threshold < 1.0


def test_score_and_score_many_agree(scorer) -> None:  # type: ignore[no-untyped-def]
    texts = ["So sorry for your loss", "fake, PR stunt", "Rest easy little one 🕊️"]
    many = scorer.score_many(iter(texts), batch_size=2)  # any iterable, in batches
    assert isinstance(many, np.ndarray) and many.shape == (3,)
    assert many.tolist() == pytest.approx([scorer.score(t) for t in texts], abs=1e-12)
    assert scorer.score_many([]).shape == (0,)


def test_classify_uses_model_threshold_or_the_one_given(scorer) -> None:  # type: ignore[no-untyped-def]
    preds = scorer.classify(["fake, PR stunt", "So sorry for your loss"])
    assert all(isinstance(p, Prediction) for p in preds)
    for p in preds:
        assert p.flagged == (p.score >= scorer.threshold) and p.label == ("critical" if p.flagged else "supportive")
    assert all(p.flagged for p in scorer.classify(["So sorry for your loss"], threshold=0.0))
    assert scorer.classify("one string is one reply")[0].text == "one string is one reply"
    with pytest.raises(ValueError, match="between 0 and 1"):
        scorer.classify(["x"], threshold=1.5)


def test_explain_names_terms_and_the_most_critical_sentence(scorer) -> None:  # type: ignore[no-untyped-def]
    text = (
        "I'm so sorry for your loss and I will keep your family in my prayers. "
        "But honestly she should have rested instead of working double shifts while pregnant."
    )
    exp = scorer.explain(text)
    assert exp.score == pytest.approx(scorer.score(text))
    assert exp.sentence is not None and "should have rested" in exp.sentence
    assert exp.sentence_score is not None and exp.sentence_score > scorer.threshold
    assert exp.raising and all(weight > 0 for _, weight in exp.raising)
    assert exp.lowering and all(weight < 0 for _, weight in exp.lowering)
    assert scorer.explain("fake").sentence is None  # one sentence: nothing to point at


def test_split_sentences() -> None:
    assert split_sentences("So sorry. Truly!\nShe was loved… rest easy") == [
        "So sorry.",
        "Truly!",
        "She was loved…",
        "rest easy",
    ]
    assert split_sentences("...") == []


def test_scorer_is_safe_to_share_between_threads(scorer) -> None:  # type: ignore[no-untyped-def]
    texts = [f"reply number {i}: so sorry, or maybe she did it for likes" for i in range(300)]
    expected = scorer.score_many(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda chunk: scorer.score_many(chunk), [texts[i::4] for i in range(4)]))
    for i in range(4):
        assert np.array_equal(results[i], expected[i::4])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_unicode_string_scores_to_a_probability(text: str) -> None:
    score = SCORER.score(text)
    assert isinstance(score, float) and 0.0 <= score <= 1.0


SCORER = load_scorer()


# -- model files that cannot be used ----------------------------------------------------------------------


def test_missing_and_directory_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_scorer(tmp_path / "nope.joblib")
    with pytest.raises(ModelError, match="is a directory"):
        load_scorer(tmp_path)


def test_corrupt_and_truncated_model(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"\x80\x04this is not a pickle at all")
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_scorer(garbage)
    truncated = tmp_path / "truncated.joblib"
    truncated.write_bytes(MODEL.read_bytes()[: MODEL.stat().st_size // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        load_scorer(truncated)


def test_foreign_and_newer_models(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.joblib"
    joblib.dump({"coef": [1, 2, 3]}, foreign)
    with pytest.raises(ModelError, match="not a griefguard model"):
        load_scorer(foreign)
    newer = tmp_path / "newer.joblib"
    data = joblib.load(MODEL)
    data["format_version"] = 99
    joblib.dump(data, newer)
    with pytest.raises(ModelError, match="format version 99, newer than this griefguard reads"):
        load_scorer(newer)
    damaged = tmp_path / "damaged.joblib"
    data["format_version"] = 1
    data["blocks"][0]["coef"] = data["blocks"][0]["coef"][:5]
    joblib.dump(data, damaged)
    with pytest.raises(ModelError, match="damaged"):
        load_scorer(damaged)


# -- behaviour on hard cases, in plain English ---------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "The people calling her post disgusting are the disgusting ones. Grieve however you need to, mama.",
        "Shame on everyone saying she did this for attention. She lost her son.",
        "Nobody should be judged for sharing photos of their baby.",
        "There's nothing wrong with posting this. She was your daughter.",
        "❤️🙏",
        "so sorry",
        "Oh sure, because grief follows YOUR schedule. Take all the time you need, Dana.",
    ],
)
def test_supportive_replies_pass(scorer, reply: str) -> None:  # type: ignore[no-untyped-def]
    assert not _flagged(scorer, reply)


@pytest.mark.parametrize(
    "reply",
    [
        "Sorry for her loss, but photos like that belong in a family album.",
        "With respect, a memorial video with a discount code in the description is not grief.",
        "Not saying she deserved it, but she was warned about riding without a helmet.",
        "No one needed to see a dead baby on their timeline.",
        "fake",
        "PR stunt",
        "f a k e",
        "4tt3nti0n s33king",
        "It was just a dog. People lose parents every day.",
        "Wow, a grief post with a ring light. So raw. So real.",
    ],
)
def test_critical_replies_are_flagged(scorer, reply: str) -> None:  # type: ignore[no-untyped-def]
    assert _flagged(scorer, reply)


CONDOLENCES = (
    "I am so sorry for your loss. Losing a baby is the hardest thing a family can go through, and I have been "
    "thinking about you all week. Your little girl was beautiful and she will always be part of your family. "
    "Please take care of yourself and lean on the people who love you. "
)


def test_condolences_cannot_dilute_one_blaming_sentence(scorer) -> None:  # type: ignore[no-untyped-def]
    blame = "But honestly she should have rested instead of working double shifts while pregnant."
    reply = CONDOLENCES + blame
    assert scorer.score(blame) >= scorer.sentence_gate, "on its own the sentence is clearly critical"
    assert scorer.probabilities([reply])[0] < scorer.threshold, "the whole-reply model alone would let it through"
    assert _flagged(scorer, reply), "the sentence rule flags it"
    assert scorer.explain(reply).sentence == blame


@pytest.mark.xfail(
    strict=True,
    reason="known gap: on its own the model scores this blame below the sentence gate, so condolences dilute it",
)
def test_condolences_cannot_dilute_a_less_blunt_blaming_sentence(scorer) -> None:  # type: ignore[no-untyped-def]
    reply = CONDOLENCES + "That said, she should have stopped working and rested like her doctor told her."
    assert _flagged(scorer, reply)


def _reference_scores(scorer, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The sentence rule as the model card states it, computed the slow, obvious way."""
    out = []
    for text in texts:
        whole = float(scorer.probabilities([text])[0])
        parts = split_sentences(text)
        worst = float(scorer.probabilities(parts).max()) if len(parts) > 1 else 0.0
        worst = worst if worst >= scorer.sentence_gate and len(parts) >= scorer.sentence_min else 0.0
        out.append(whole + scorer.sentence_weight * max(0.0, worst - whole))
    return np.array(out)


def test_batch_scores_follow_the_stated_sentence_rule(scorer) -> None:  # type: ignore[no-untyped-def]
    from conftest import DATA

    from griefguard.dataset import load_labeled

    texts = [
        *load_labeled(DATA / "test.csv").texts[:400],
        "f. a. k. e.",
        "So sorry.\x00 Fake.",
        "\n'quoted'. \u200bNext one!  ",
        "a\n\nb. c",
        "...",
    ]
    assert np.abs(scorer.score_many(texts) - _reference_scores(scorer, texts)).max() < 1e-12


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from(list("ab .!?…\n'\u200b\x00F4$ é❤")), max_size=30), min_size=1, max_size=6)
)
def test_batch_scores_follow_the_sentence_rule_on_odd_text(texts: list[str]) -> None:
    assert np.abs(SCORER.score_many(texts) - _reference_scores(SCORER, texts)).max() < 1e-12


# The labeling guide's own examples (../shared/labeling.md), as a user would try them first.
_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap: the corpus uses these words far more often in defences and reassurance "
    "('she should be proud', 'the comments are disgusting') than in short blunt criticism",
)
GUIDE_CRITICAL = [
    pytest.param("she should have rested", marks=_GAP),
    "it's just a dog",
    "fake, PR stunt",
    "it's been months, move on",
    "you weren't even that close",
    "at least you can try again",
    "others have it worse",
    "Sorry for her loss, but photos like that belong in a family album",
    pytest.param("posting that is disgusting", marks=_GAP),
]
GUIDE_SUPPORTIVE = [
    "The people shaming her for posting are vile. Grieve however you need to.",
    "nobody should be judged for this",
    "so sorry",
    "❤️🙏",
]


@pytest.mark.parametrize("reply", GUIDE_CRITICAL)
def test_guide_examples_of_critical_replies(scorer, reply: str) -> None:  # type: ignore[no-untyped-def]
    assert _flagged(scorer, reply)


@pytest.mark.parametrize("reply", GUIDE_SUPPORTIVE)
def test_guide_examples_of_supportive_replies(scorer, reply: str) -> None:  # type: ignore[no-untyped-def]
    assert not _flagged(scorer, reply)
