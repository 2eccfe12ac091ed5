"""Tokens and n-grams: what the model counts."""

from griefguard.features import Analyzer, char_ngrams, word_ngrams
from griefguard.normalize import tokens


def test_tokens_keep_contractions_and_split_off_emoji_and_marks() -> None:
    assert tokens("isn't it 'fake'? so sad!! ❤🙏") == ["isn't", "it", "qxfake", "?", "so", "sad", "!", "!", "❤", "🙏"]
    assert tokens("gofundme.com/help-her, $5k (really)") == ["gofundme", "com", "help", "her", "$5k", "really"]
    assert tokens("") == []


def test_word_and_char_ngrams() -> None:
    assert word_ngrams(["so", "sorry", "mama"], 1, 2) == ["so", "sorry", "mama", "so sorry", "sorry mama"]
    assert word_ngrams(["a", "b", "c"], 2, 3) == ["a b", "b c", "a b c"]
    assert char_ngrams(["ok"], 2, 3) == [" o", "ok", "k ", " ok", "ok "]


def test_analyzer_normalises_before_counting() -> None:
    assert Analyzer("word", 1, 1)("4tt3nti0n S E E K E R") == ["attention", "seeker"]
    assert Analyzer("word", 1, 1, normalizer="lower")("4tt3nti0n S") == ["4tt3nti0n", "s"]
