"""Normalisation shared by training and scoring: reply text -> the canonical tokens the model counts.

Three layers, each cheap where text is ordinary:
1. `fold`: Unicode compatibility forms (NFKC), invisible characters, case, look-alike letters from other
   scripts and accents are folded away, so "ＦАКЕ" (full-width, Cyrillic) reads as "fake".
2. `split_tokens`: words (with inner apostrophes: "isn't"), "!", "?", and each emoji or symbol on its own;
   words inside quotation marks get the prefix "qx", because quoting a critic ("calling her 'fake' is vile")
   is not calling her fake.
3. `canonical_token` and `join_spaced_letters`: digits and symbols used as letters are read as letters
   ("4tt3nti0n", "$hame"), stretched letters are shortened ("fakeeeee" -> "fakee"), and spaced-out
   letters are joined ("f a k e", "f.a.k.e" -> "fake").

Tokens are defined sentence by sentence (`sentence_pieces`): a quotation is marked only when it opens and
closes within one sentence, and a reply's tokens are its sentences' tokens end to end, which lets the scorer
tokenise each sentence once for both the reply and the sentence rule.

`tokens(text)` runs all three; training (through `features.Analyzer`) and the scorer use exactly these
functions, so the model never meets a spelling at scoring time that it could not have learned from.
The `*_many` variants give identical results for a batch, faster.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = [
    "fold",
    "fold_many",
    "split_tokens",
    "split_tokens_many",
    "canonical_token",
    "join_spaced_letters",
    "tokens",
    "normalize",
    "sentence_pieces",
    "split_sentences",
    "HAS_CONTENT",
]

# -- 1. folding -------------------------------------------------------------------------------------------

# Look-alike letters from Cyrillic, Greek and Latin extensions (after case folding), and typographic quotes
# and dashes, mapped to the plain character they imitate: "fаke" with a Cyrillic а reads as "fake".
_LOOKALIKES = str.maketrans(
    "авеёкмнорстухѕіїјһԁԛԝүɡӏոսαβγεηικνορτυχωςσμøłđħıȷɑɩʀʏᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯᴛᴜᴠᴡᴢ’‘ʼ`´“”–—",
    "abeekmhopctyxsiijhdqwyglnuabyeniknoptuxwsouoldhijairyabcdefghijklmnopqtuvwz'''''\"\"--",
)
# ASCII text takes a fast path that only needs this: control characters out, the backtick read as a quote.
_ASCII_TABLE = str.maketrans({**{c: None for c in [*range(0, 10), *range(11, 32), 127]}, "`": "'"})

# Zero-width, format, control, private-use and surrogate characters and variation selectors (never the newline,
# which separates replies in a batch). Listed as ranges so that nothing is computed at import time.
_INVISIBLE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\uf8ff\ufe00-\ufe0f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000e0100-\U000e01ef\U000f0000-\U000ffffd\U00100000-\U0010fffd]+"
)
# Combining accents on letters ("fåke" -> "fake"), after canonical decomposition.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def _fold_joined(text: str) -> str:
    """Fold text whose replies are separated by newlines and whose other whitespace is single spaces."""
    if text.isascii():
        return text.translate(_ASCII_TABLE).lower()
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = text.casefold().translate(_LOOKALIKES)
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", text)))


def fold(text: str) -> str:
    """Unicode- and case-folded text with whitespace collapsed to single spaces."""
    return _fold_joined(" ".join(text.split()))


def _by_ascii(texts: Sequence[str], joined: Callable[[str], str]) -> list[str]:
    """Apply `joined` to the newline-joined plain-ASCII texts, then to the others, and split the results back.

    Python's string methods run much faster on an all-ASCII string, so the usual replies are kept together.
    """
    out = [""] * len(texts)
    for ascii_group in (True, False):
        index = [i for i, t in enumerate(texts) if t.isascii() == ascii_group]
        if index:
            for i, result in zip(index, joined("\n".join(texts[i] for i in index)).split("\n"), strict=True):
                out[i] = result
    return out


def fold_many(texts: Sequence[str]) -> list[str]:
    """`[fold(t) for t in texts]`, computed a group at a time."""
    return _by_ascii([" ".join(t.split()) for t in texts], _fold_joined)


# -- 2. tokens --------------------------------------------------------------------------------------------

# "@" and "$" stay inside words, where they often stand for letters; other ASCII punctuation separates tokens.
_ASCII_PUNCTUATION = '"#%&()*+,-./:;<=>[\\]^_`{|}~'
_SEPARATE = str.maketrans(_ASCII_PUNCTUATION, " " * len(_ASCII_PUNCTUATION))
_SYMBOL = re.compile(r"[^\w\s'@$]|_")  # for non-ASCII text: emoji and other symbols become tokens of their own


# A quotation within a line: '...' (not an apostrophe: no word character outside either mark) or "...".
_QUOTED = re.compile("'(?<![\\w']')(?=[^\\s'])([^\\n]*?[^\\s'])'(?![\\w'])|\"([^\"\\n]+)\"")
QUOTED_PREFIX = "qx"


def _mark_quoted(match: re.Match[str]) -> str:
    words = (match.group(1) or match.group(2)).translate(_SEPARATE).split()
    return " " + " ".join(QUOTED_PREFIX + w for w in words) + " "


def _spaced_tokens(text: str) -> str:
    """Folded text with its tokens separated by whitespace (newlines kept, so batches stay split by reply)."""
    if "'" in text or '"' in text:
        text = _QUOTED.sub(_mark_quoted, text)
    if not text.isascii():
        text = _SYMBOL.sub(r" \g<0> ", text)
    text = text.translate(_SEPARATE).replace("!", " ! ").replace("?", " ? ")
    # Apostrophes at the edge of a word are quotation marks, not part of the word.
    text = " " + text.replace("\n", " \n ") + " "
    while " '" in text or "' " in text:
        text = text.replace(" '", " ").replace("' ", " ")
    return text


def split_tokens(folded: str) -> list[str]:
    """Split folded text into word, number, "!"/"?" and emoji/symbol tokens."""
    return _spaced_tokens(folded).split()


def split_tokens_many(folded: Sequence[str]) -> list[list[str]]:
    """`[split_tokens(t) for t in folded]`, computed a group at a time (folded texts have no newlines)."""
    return [part.split() for part in _by_ascii(folded, _spaced_tokens)]


# -- 3. canonical tokens ----------------------------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# Tokens with digits that are ordinary, not obfuscation: "3rd", "90s", "24h", "2am", "$5k", "10yo".
_ORDINARY = re.compile(r"[$]?\d+(?:st|nd|rd|th|s|h|hrs?|am|pm|k|m|yo|yrs?|wks?|lbs?|kg|mins?)?")
_REPEATS = re.compile(r"(.)\1{2,}")


@lru_cache(maxsize=1 << 16)
def canonical_token(token: str) -> str:
    """A token with leetspeak read as letters and letter runs of three or more shortened to two.

    "@maria" -> "maria" (a mention), "4tt3nti0n" -> "attention", "$hame" -> "shame", "sooooo" -> "soo";
    ordinary tokens such as "3rd" or "$5k" are kept.
    """
    if token.isalpha():
        return _REPEATS.sub(r"\1\1", token) if len(token) > 2 else token
    if token[0] == "@" and len(token) > 1:
        token = token[1:]
    if any(c.isalpha() for c in token) and not _ORDINARY.fullmatch(token):
        token = token.translate(_LEET)
    return _REPEATS.sub(r"\1\1", token)


def join_spaced_letters(tokens: list[str]) -> list[str]:
    """Join runs of four or more single-letter tokens: ["f", "a", "k", "e"] -> ["fake"].

    (Runs of three would also join texting like "u r a joke".)
    """
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 4:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if token:
            out.append(token)
    return out


# -- sentences ---------------------------------------------------------------------------------------------

# A sentence ends at . ! ? or an ellipsis followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(r"([.!?…])\s+")  # starts with a character class, which the regex engine scans fast
HAS_CONTENT = re.compile(r"[^\W_]|[^\x00-\x7f]")


def sentence_pieces(text: str) -> list[str]:
    """`text` cut at every sentence end, whitespace and empty pieces kept (cuts fall only on whitespace)."""
    pieces = []
    for line in text.split("\n"):
        parts = _SENTENCE_END.split(line)  # [piece, end mark, piece, end mark, ..., piece]
        pieces.extend(parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2))
        pieces.append(parts[-1])
    return pieces


def split_sentences(text: str) -> list[str]:
    """Split a reply into sentences (by end punctuation and line breaks), dropping empty pieces.

    NUL characters are ignored (folding drops them too), so the scorer can use NUL to join a batch.
    """
    return [s.strip() for s in sentence_pieces(text.replace("\x00", "")) if HAS_CONTENT.search(s)]


def tokens(text: str) -> list[str]:
    """The canonical tokens of a reply: fold and split each sentence, join spaced letters, canonicalise."""
    pieces = sentence_pieces(text.replace("\x00", ""))
    split = [t for piece in pieces for t in split_tokens(fold(piece))]
    return [canonical_token(t) for t in join_spaced_letters(split)]


def lower_tokens(text: str) -> list[str]:
    """The baseline normaliser's tokens: lower-cased and split, sentence by sentence, nothing else."""
    pieces = sentence_pieces(text.replace("\x00", ""))
    return [t for piece in pieces for t in split_tokens(" ".join(piece.lower().split()))]


def normalize(text: str) -> str:
    """The canonical tokens of a reply as one string: what the model reads, for people and tests."""
    return " ".join(tokens(text))
