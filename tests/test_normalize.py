"""The normaliser reads the spellings people use to dodge moderation as the plain words, the same in a batch as one
reply at a time."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from griefguard.normalize import (
    fold,
    normalize,
    sentence_texts,
    split_sentences,
    tokenize,
    tokens,
)


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
        ("f, a, k, e", "fake"),
        ("fåké", "fake"),  # accents
        ("isn’t", "isn't"),  # typographic apostrophe
        ("❤️", "❤"),  # variation selector dropped, emoji kept
        ("so sad!!!", "so sad ! ! !"),
        ("'attention seeker' they said", "qxattention qxseeker they said"),  # quoted words are marked
    ],
)
def test_obfuscations_read_as_plain_words(obfuscated: str, plain: str) -> None:
    assert normalize(obfuscated) == plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@maria this is fake", "xmention this is fake"),  # a mention is a mention, whoever it names
        ("donate here https://gofund.me/3f9a2c1b pls", "donate here xurl gofund pls"),  # a link is a link
        ("www.smithfuneralhome.com/obits/ann-lee ok", "xurl smithfuneralhome ok"),
    ],
)
def test_mentions_and_links_become_placeholders(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "ordinary",
    ["3rd time this year", "she was 24 weeks", "raised $5k in 2 days", "90s kid", "u r a joke", "born at 2am"],
)
def test_ordinary_numbers_and_texting_are_left_alone(ordinary: str) -> None:
    assert normalize(ordinary) == ordinary


def test_whitespace_and_control_characters_are_dropped() -> None:
    assert tokens("  so\tsorry \n\n for\x07 you  ") == ["so", "sorry", "for", "you"]
    assert tokens("") == [] and tokens("   \n ") == []


def test_emoji_are_tokens_of_their_own() -> None:
    assert tokens("sorry❤️🙏") == ["sorry", "❤", "🙏"]


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


def test_negation_scope_marks_the_words_a_negation_governs() -> None:
    assert tokens("Nobody should be judged for this. She should be judged!", negation_scope=3) == [
        *["nobody", "nxshould", "nxbe", "nxjudged", "for", "this"],
        *["she", "should", "be", "judged", "!"],
    ]
    # The scope ends at the sentence and at "!" or "?"; without a scope nothing is marked.
    assert tokens("not fair! she", negation_scope=3) == ["not", "nxfair", "!", "she"]
    assert tokens("nobody should be judged") == ["nobody", "should", "be", "judged"]


def test_sentences() -> None:
    assert split_sentences("So sorry. Truly!\nShe was loved… rest easy") == [
        "So sorry.",
        "Truly!",
        "She was loved…",
        "rest easy",
    ]
    assert split_sentences("...") == []
    assert sentence_texts("fake.  So fake") == ["fake.", "So fake"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8))
def test_a_batch_is_each_reply_on_its_own(texts: list[str]) -> None:
    batch = tokenize(texts)
    assert len(batch) == len(texts)
    for i, text in enumerate(texts):
        single = tokenize([text])
        assert batch.doc(i) == single.tokens
    # Sentences: a reply's sentences are its sentence pieces, in order.
    layout = batch.layout
    for i, text in enumerate(texts):
        pieces = sentence_texts(text)
        owned = [j for j, d in enumerate(layout.sentence_doc.tolist()) if d == i]
        assert len(owned) == len(pieces)


def test_batch_on_tricky_mixes() -> None:
    texts = [
        "fa\u200bke",
        "ASCII only `quote`",
        "",
        "\n\n",
        "f a k e\nf a k e",
        "ＦＡＫＥ  ❤️",
        "sooo\u00a0\u00a0sad",
        "a\x00b\x01c",
    ]
    batch = tokenize(texts)
    assert [batch.doc(i) for i in range(len(texts))] == [tokenize([t]).tokens for t in texts]
    assert batch.doc(7) == ["abc"]  # the batch's own separators are removed from replies
    assert fold("ＦＡＫＥ  ❤️") == "fake ❤"


@pytest.mark.parametrize("text", ["a≠b", "x ≠ y", "\u1100\u200b\u1161", "a\u0338", "ok ≮ fine"])
def test_folding_does_not_depend_on_the_batch(text: str) -> None:
    """Accents are taken off the same way whatever else the batch holds (it once skipped the step for a batch
    without accented letters, and "≠" decomposes into "=" and a combining stroke)."""
    assert tokenize([text, "fåke"]).doc(0) == tokenize([text]).tokens == tokenize(["ok", text]).doc(1)
