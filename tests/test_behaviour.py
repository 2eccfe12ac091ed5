"""What a moderator relies on, in plain English: the labeling guide's own examples and the replies that the first
model got wrong on real threads (the bundled model; known gaps are strict xfails, so fixing one is noticed)."""

from __future__ import annotations

import pytest

from griefguard import load_scorer

pytestmark = pytest.mark.model  # the bundled model's behaviour: retrain when data/ changes

SCORER = load_scorer()


def verdict(text: str) -> tuple[str, bool]:
    p = SCORER.classify([text])[0]
    return p.label, p.flagged


_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap: the corpus uses 'should have rested' far more often in reassurance ('you should have "
    "rested more, be gentle with yourself') than in short blunt blame",
)
_QUESTION_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap: thousands of neutral questions (logistics, real requests) make '?' and 'necessary' lean "
    "neutral; 120 hand-written critical questions did not outweigh them",
)
_JUST_UNDER = pytest.mark.xfail(
    strict=True,
    reason="known gap: labelled critical (0.69) but just under the flag threshold (0.70), which rose when the "
    "threshold was held to 3% of real benign comments flagged; the many supportive replies that say 'he was never "
    "just a dog' pull 'just a dog' down",
)
_WHERE_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap: 'where was ...' leans critical (critics ask 'where was the dad?'); logistics questions of "
    "that shape are few in the corpus. Not flagged, but labelled critical",
)
_SHORT_GAP = pytest.mark.xfail(
    strict=True,
    reason="known gap: three common words with no critical cue score near the prior, which leans neutral",
)


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("she should have rested", marks=_GAP),
        "posting that is disgusting",
        pytest.param("it's just a dog", marks=_JUST_UNDER),
        "fake, PR stunt",
        "it's been months, move on",
        "you weren't even that close",
        "at least you can try again",
        pytest.param("others have it worse", marks=_SHORT_GAP),
        "Sorry for her loss, but photos like that belong in a family album",
        pytest.param("was a video really necessary?", marks=_QUESTION_GAP),
        "get a grip",
        "this is so staged",
        "Not saying she deserved it, but she was warned about riding without a helmet.",
        "4tt3nti0n s33king",
    ],
)
def test_critical_replies_are_flagged(reply: str) -> None:
    assert verdict(reply)[1]


@pytest.mark.parametrize(
    "reply",
    [
        "The people shaming her for posting are vile. Grieve however you need to.",
        "nobody should be judged for this",
        "so sorry",
        "❤️🙏",
        "want me to walk Biscuit for you this week?",
        "Shame on everyone saying she did this for attention. She lost her son.",
        "Mis condolencias a toda la familia.",
        "Herzliches Beileid",
        "meus pêsames, fica com Deus",
    ],
)
def test_supportive_replies_pass_as_supportive(reply: str) -> None:
    assert verdict(reply) == ("supportive", False)


@pytest.mark.parametrize(
    "reply",
    [
        "is parking available at the chapel?",
        "What camera did you use for these photos?",
        "Nice photo.",
        pytest.param("Where was the memorial held?", marks=_WHERE_GAP),
        "which charity is the family naming?",
        "@jess look",
        "first!",
        "check my bio for free followers 🔥🔥",
        "the inquest opens in March",
    ],
)
def test_neutral_replies_are_neutral_and_never_flagged(reply: str) -> None:
    assert verdict(reply) == ("neutral", False)


def test_an_empty_or_unknown_reply_is_not_flagged() -> None:
    for text in ("", "🫠", "ᑕᑐᑎᑦ ᐃᓄᒃᑎᑐᑦ"):
        p = SCORER.classify([text])[0]
        assert not p.flagged and (p.coverage > 0 or p.label == "neutral")
