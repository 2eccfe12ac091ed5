"""Text normalisation shared by training and scoring, so that obfuscated spellings read like plain ones.

`normalize` folds Unicode tricks (compatibility forms, invisible characters, look-alike letters from other
scripts), case, stretched letters, digits or symbols used as letters, and spaced-out words into plain
lower-case text. Training and scoring call the same function, so the model never sees a spelling at
scoring time that it could not have seen at training time.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize"]

# Look-alike letters from Cyrillic, Greek and other scripts, mapped to the Latin letter they imitate.
# Applied after NFKC and case folding, so only lower-case forms are needed.
_CONFUSABLES = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "һ": "h",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ү": "y",
    "ɡ": "g",
    "ӏ": "l",
    "ո": "n",
    "ս": "u",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ς": "s",
    "σ": "o",
    "μ": "u",
    # Latin letters with strokes or hooks that NFKC keeps
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ȷ": "j",
    "ɑ": "a",
    "ɩ": "i",
    "ʀ": "r",
    "ʏ": "y",
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ꜰ": "f",
    "ɢ": "g",
    "ʜ": "h",
    "ɪ": "i",
    "ᴊ": "j",
    "ᴋ": "k",
    "ʟ": "l",
    "ᴍ": "m",
    "ɴ": "n",
    "ᴏ": "o",
    "ᴘ": "p",
    "ꞯ": "q",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ᴢ": "z",
    # Typographic quotes and dashes, so "isn’t" and "isn't" are the same word
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)

# Digits and symbols that stand for letters inside a word ("4tt3nti0n", "$hame", "f@ke").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_LEET_CHARS = "013457@$!"
# A run of letters and leet characters that contains at least one letter and one leet character.
_LEET_WORD = re.compile(r"(?<![\w@$])[\w@$!]*[^\W\d_][\w@$!]*(?![\w@$])")
# Tokens with digits that are ordinary, not obfuscation: "3rd", "90s", "24h", "2am", "5k", "10yo".
_NUMERIC_WORD = re.compile(r"[$]?\d+(?:st|nd|rd|th|s|h|hrs?|am|pm|k|m|yo|yrs?|wks?|lbs?|kg|mins?)?")

_INVISIBLE_CATEGORIES = {"Cf", "Cc", "Cs", "Co", "Cn"}
_ASCII_CONTROLS = {c: None for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}
_VARIATION_SELECTORS = {chr(c) for c in range(0xFE00, 0xFE10)}

_REPEATS = re.compile(r"(.)\1{2,}")
# Four or more single letters separated by one space, dot, dash or underscore: "f a k e", "f.a.k.e".
# (Three would also join texting like "u r a joke".)
_SPACED = re.compile(r"(?<!\w)(?:[^\W\d_][ .\-_]){3,}[^\W\d_](?!\w)")
_SPACES = re.compile(r"\s+")


def _drop_invisible(text: str) -> str:
    """Remove zero-width, control and private-use characters, keeping ordinary whitespace."""
    out = []
    for ch in text:
        if ch in "\n\t ":
            out.append(ch)
        elif ch in _VARIATION_SELECTORS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            continue
        else:
            out.append(ch)
    return "".join(out)


def _read_leet(match: re.Match[str]) -> str:
    word = match.group(0)
    if not any(c in _LEET_CHARS for c in word) or _NUMERIC_WORD.fullmatch(word):
        return word
    core = word.rstrip("!")  # "fake!!" keeps its exclamation marks
    return core.translate(_LEET) + word[len(core) :]


def _join_spaced(match: re.Match[str]) -> str:
    return re.sub(r"[ .\-_]", "", match.group(0))


def normalize(text: str) -> str:
    """Return `text` folded to the plain lower-case form the model reads."""
    if text.isascii():  # fast path: nothing to fold but control characters and case
        text = text.translate(_ASCII_CONTROLS).lower()
    else:
        text = unicodedata.normalize("NFKC", text)
        text = _drop_invisible(text)
        text = text.casefold().translate(_CONFUSABLE_TABLE)
        # Strip combining accents left on letters ("fåke" -> "fake"); emoji and other symbols are kept.
        text = unicodedata.normalize("NFD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _LEET_WORD.sub(_read_leet, text)
    text = _SPACED.sub(_join_spaced, text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()
