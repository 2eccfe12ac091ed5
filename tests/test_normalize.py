"""The normaliser reads the spellings people use to dodge moderation as the plain words."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from griefguard.normalize import fold, fold_many, normalize, split_tokens, split_tokens_many, tokens


@pytest.mark.parametrize(
    ("obfuscated", "plain"),
    [
        ("ＦＡＫＥ", "fake"),  # full-width letters (NFKC)
        ("FAKE", "fake"),  # case
        ("fa\u200bke", "fake"),  # zero-width space inside a word
        ("f\u00adake", "fake"),  # soft hyphen
        ("sooooo fakeeeee", "soo fakee"),  # stretched letters shortened
        ("fаke", "fake"),  # Cyrillic а
        ("ѕһаmе", "shame"),  # several Cyrillic look-alikes
        ("4tt3nti0n s33k3r", "attention seeker"),  # digits as letters
        ("$hame", "shame"),
        ("cl0ut ch@sing", "clout chasing"),
        ("f a k e", "fake"),  # spaced-out letters
        ("F.A.K.E", "fake"),
        ("f-a-k-e news", "fake news"),
        ("fåké", "fake"),  # accents
        ("isn’t", "isn't"),  # typographic apostrophe
        ("❤️", "❤"),  # variation selector dropped, emoji kept
        ("so sad!!!", "so sad ! ! !"),
        ("@maria this is fake", "maria this is fake"),  # a mention is a name
        ("'attention seeker' they said", "qxattention qxseeker they said"),  # quoted words are marked
    ],
)
def test_obfuscations_read_as_plain_words(obfuscated: str, plain: str) -> None:
    assert normalize(obfuscated) == plain


@pytest.mark.parametrize(
    "ordinary",
    ["3rd time this year", "she was 24 weeks", "raised $5k in 2 days", "90s kid", "u r a joke", "born at 2am"],
)
def test_ordinary_numbers_and_texting_are_left_alone(ordinary: str) -> None:
    assert normalize(ordinary) == ordinary


def test_whitespace_and_control_characters_are_dropped() -> None:
    assert tokens("  so\tsorry \n\n for\x07 you  ") == ["so", "sorry", "for", "you"]


def test_emoji_are_tokens_of_their_own() -> None:
    assert tokens("sorry❤️🙏") == ["sorry", "❤", "🙏"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8))
def test_batch_folding_and_splitting_equal_one_by_one(texts: list[str]) -> None:
    folded = fold_many(texts)
    assert folded == [fold(t) for t in texts]
    assert split_tokens_many(folded) == [split_tokens(f) for f in folded]


def test_batch_on_tricky_mixes() -> None:
    texts = [
        "fa\u200bke",
        "ASCII only `quote`",
        "",
        "\n\n",
        "f a k e\nf a k e",
        "ＦＡＫＥ  ❤️",
        "sooo\u00a0\u00a0sad",
        "   ",
    ]
    folded = fold_many(texts)
    assert folded == [fold(t) for t in texts]
    assert split_tokens_many(folded) == [split_tokens(f) for f in folded]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling her 'fake' is vile", ["calling", "her", "qxfake", "is", "vile"]),
        ('they said "just a dog"', ["they", "said", "qxjust", "qxa", "qxdog"]),
        ("“attention seeker” they wrote", ["qxattention", "qxseeker", "they", "wrote"]),
        ("it's just a dog", ["it's", "just", "a", "dog"]),  # apostrophes are not quotation marks
        ("the kids' toys and the dogs' bowls", ["the", "kids", "toys", "and", "the", "dogs", "bowls"]),
        ("'Fake.' That's what they said.", ["qxfake", "that's", "what", "they", "said"]),
        ("'So fake. Staged.' Wow.", ["so", "fake", "staged", "wow"]),  # a quote across sentences is not marked
    ],
)
def test_quoted_words_are_marked(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected
