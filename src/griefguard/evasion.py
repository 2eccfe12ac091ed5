"""How well flags survive the spellings people use to slip past a filter: stretched letters, leetspeak, look-alike
letters, zero-width characters and capitals.

`evasion_report` takes critical replies a model flags, rewrites each one in every way (with a seeded random
generator, so a run can be repeated) and reports the share still flagged. `python bench/evasion.py` prints it for
the bundled model; a test holds the model to it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from griefguard.scorer import Scorer

__all__ = ["EVASIONS", "evasion_report"]

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}  # Cyrillic
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")


def _words(text: str, rng: random.Random, change: Callable[[str, random.Random], str]) -> str:
    """`change` applied to about half the words of at least four letters (at least one word when there is one)."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    chosen = {i for i in long if rng.random() < 0.5} or set(long[:1])
    return " ".join(change(w, rng) if i in chosen else w for i, w in enumerate(words))


def _stretch(word: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    i = rng.choice(letters)
    return word[: i + 1] + word[i] * rng.randint(2, 4) + word[i + 1 :]


def _swap(word: str, rng: random.Random, table: dict[str, str]) -> str:
    """Each letter with a stand-in swapped with probability 0.6, and at least one of them."""
    spots = [i for i, c in enumerate(word) if c in table]
    chosen = {i for i in spots if rng.random() < 0.6} or set(spots[:1])
    return "".join(table[c] if i in chosen else c for i, c in enumerate(word))


def _leet(word: str, rng: random.Random) -> str:
    return _swap(word, rng, _LEET)


def _look_alike(word: str, rng: random.Random) -> str:
    return _swap(word, rng, _LOOK_ALIKES)


def _zero_width(word: str, rng: random.Random) -> str:
    """Zero-width characters after some letters (at least one, inside the word)."""
    spots = {i for i in range(len(word) - 1) if rng.random() < 0.4} or {len(word) // 2 - 1}
    return "".join(c + (rng.choice(_ZERO_WIDTH) if i in spots else "") for i, c in enumerate(word))


def _capitals(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text) if rng.random() < 0.5 else text.upper()


EVASIONS: dict[str, Callable[[str, random.Random], str]] = {
    "stretched letters": lambda t, r: _words(t, r, _stretch),
    "leetspeak": lambda t, r: _words(t, r, _leet),
    "look-alike letters": lambda t, r: _words(t, r, _look_alike),
    "zero-width characters": lambda t, r: _words(t, r, _zero_width),
    "capitals": _capitals,
}


def evasion_report(scorer: Scorer, texts: Sequence[str], seed: int = 0) -> dict[str, float]:
    """Of the given replies that the model flags, the share still flagged after each rewriting."""
    caught = [t for t, p in zip(texts, scorer.classify(list(texts)), strict=True) if p.flagged]
    report = {}
    for name, rewrite in EVASIONS.items():
        rng = random.Random(f"{seed}:{name}")
        rewritten = [rewrite(t, rng) for t in caught]
        flagged = [p.flagged for p in scorer.classify(rewritten)]
        report[name] = sum(flagged) / len(flagged) if flagged else 1.0
    return report
