"""Turn reply text into the word and character n-gram features the model counts.

Training hands `Analyzer` objects to scikit-learn's vectorizers, and the scorer uses the same functions,
so both see exactly the same features for the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from griefguard.normalize import lower_tokens, tokens

__all__ = ["TOKENIZERS", "Analyzer", "char_ngrams", "word_ngrams"]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "full": tokens,  # the obfuscation-resistant normaliser
    "lower": lower_tokens,  # plain lower-casing, kept as a baseline for model selection
}


def word_ngrams(tokens: list[str], min_n: int = 1, max_n: int = 2) -> list[str]:
    """Word n-grams from `min_n` to `max_n` of a token list, in text order."""
    grams = list(tokens) if min_n <= 1 else []
    for n in range(max(2, min_n), max_n + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(tokens: list[str], min_n: int = 2, max_n: int = 5) -> list[str]:
    """Character n-grams from `min_n` to `max_n` inside each space-padded token.

    Grams never cross a word boundary, which keeps them about spelling (robust to typos and
    obfuscation) rather than about word order, which `word_ngrams` covers.
    """
    grams: list[str] = []
    append = grams.append
    for token in tokens:
        padded = f" {token} "
        length = len(padded)
        for n in range(min_n, min(max_n, length) + 1):
            for i in range(length - n + 1):
                append(padded[i : i + n])
    return grams


@dataclass(frozen=True)
class Analyzer:
    """Callable text -> features: normalise into tokens, then word or char n-grams.

    Plain data (strings and ints), so it pickles and exports without scikit-learn.
    """

    kind: str = "word"  # "word" or "char"
    min_n: int = 1
    max_n: int = 2
    normalizer: str = "full"  # a key of TOKENIZERS

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char"):
            raise ValueError(f"unknown analyzer kind {self.kind!r}")
        if self.normalizer not in TOKENIZERS:
            raise ValueError(f"unknown normalizer {self.normalizer!r}")

    def __call__(self, text: str) -> list[str]:
        return self.from_tokens(TOKENIZERS[self.normalizer](text))

    def from_tokens(self, tokens: list[str]) -> list[str]:
        """Features from already-normalised tokens (lets the scorer normalise once for all blocks)."""
        if self.kind == "word":
            return word_ngrams(tokens, self.min_n, self.max_n)
        return char_ngrams(tokens, self.min_n, self.max_n)
