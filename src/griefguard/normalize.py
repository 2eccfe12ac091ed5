"""Reply text -> the canonical tokens the model counts, for a whole batch at once (training and scoring).

Four steps, each cheap where text is ordinary:
1. sentences: a sentence ends at . ! ? or an ellipsis followed by whitespace (not after a lone letter, so
   "J. K." and "f. a. k. e." stay whole), or at a line break;
2. `fold`: Unicode compatibility forms (NFKC), invisible characters, case, look-alike letters from other
   scripts and accents are folded away, so "ＦАКЕ" (full-width, Cyrillic) reads as "fake";
3. splitting: words (with inner apostrophes: "isn't"), "!", "?", and each emoji or symbol on its own; a link
   becomes `xurl` and its site's name; words inside quotation marks get the prefix "qx", because quoting a
   critic ("calling her 'fake' is vile") is not calling her fake; spaced-out letters are joined
   ("f a k e" -> "fake");
4. `canonical_token`: digits and symbols used as letters are read as letters ("4tt3nti0n", "$hame"),
   stretched letters are shortened ("fakeeeee" -> "fakee"), and an @mention becomes `xmention`.
Optionally, the words in the scope of a negation ("nobody should be judged") get the prefix "nx".

`tokenize(texts)` runs steps 1-3 over a batch as one string, with C-level string methods and compiled
regular expressions, and returns the tokens end to end with the offsets of every reply and every sentence.
Step 4 is applied per distinct token by whoever maps tokens to features (the feature engine caches it).
Everything else here (`tokens`, `normalize`, `split_sentences`) is `tokenize` on a batch of one, so the
model can never meet a spelling at scoring time that it could not have learned from. `chunks.tokenize` is a
faster path to exactly the same tokens for large batches (each whitespace-separated chunk tokenised once).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress, repeat
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from griefguard.chunks import ChunkedBatch

__all__ = [
    "NEGATION_PREFIX",
    "NORMALIZERS",
    "QUOTED_PREFIX",
    "Tokens",
    "canonical_token",
    "fold",
    "normalize",
    "sentence_texts",
    "split_sentences",
    "tokenize",
    "tokens",
]

NORMALIZERS = ("full", "lower")  # "lower": plain lower-casing, kept as a baseline for model selection
QUOTED_PREFIX = "qx"
URL_TOKEN = "xurl"
MENTION_TOKEN = "xmention"

# Inside a batch, replies are separated by NUL and sentences by SOH; both are removed from the texts first.
_DOC = "\x00"
_SENT = "\x01"

# -- 1. sentences ----------------------------------------------------------------------------------------

_SENTENCE_ENDS = (". ", "! ", "? ", "… ")
# Whitespace other than the line break. (`str.translate` is fast on ASCII text only; other text takes a regex.)
_SPACE_CHARS = "\t\r\x0b\x0c\x1c\x1d\x1e\x1f"
_SPACES = str.maketrans(_SPACE_CHARS, " " * len(_SPACE_CHARS))
_OTHER_SPACE = re.compile("[\t\r\x0b\x0c\x1c-\x1f\x85\xa0]")


def _mark_sentences(text: str) -> str:
    """SOH after every sentence end: . ! ? or … then a space, tab or line break, or a line break alone.

    Plain `str` methods only: they run at C speed over a whole batch.
    """
    text = text.replace("\n", f" {_SENT} ")
    if text.isascii():
        if any(c in text for c in _SPACE_CHARS):
            text = text.translate(_SPACES)
        ends = _SENTENCE_ENDS[:3]
    else:
        text = _OTHER_SPACE.sub(" ", text)
        ends = _SENTENCE_ENDS
    for end in ends:
        if end in text:
            text = text.replace(end, f"{end}{_SENT} ")
    return text


# -- 2. folding ------------------------------------------------------------------------------------------

# Look-alike letters from Cyrillic, Greek and Latin extensions (after case folding), and typographic quotes
# and dashes, mapped to the plain character they imitate: "fаke" with a Cyrillic а reads as "fake".
_LOOKALIKE_FROM = "авеёкмнорстухѕіїјһԁԛԝүɡӏոսαβγεηικνορτυχωςσμøłđħıȷɑɩʀʏᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯᴛᴜᴠᴡᴢ’‘ʼ`´“”–—"
_LOOKALIKE_TO = "abeekmhopctyxsiijhdqwyglnuabyeniknoptuxwsouoldhijairyabcdefghijklmnopqtuvwz'''''\"\"--"
_LOOKALIKES = dict(zip(_LOOKALIKE_FROM, _LOOKALIKE_TO, strict=True))
_LOOKALIKE = re.compile(f"[{_LOOKALIKE_FROM}]")
# ASCII text takes a fast path that only needs this: control characters out (but the batch's separators), the
# backtick read as a quote.
_ASCII_TABLE = str.maketrans({**{c: None for c in [*range(2, 32), 127]}, "`": "'"})

# Zero-width, format, control, private-use and surrogate characters and variation selectors (never the batch's
# separators NUL and SOH). Listed as ranges so that nothing is computed at import time.
_INVISIBLE = re.compile(
    "[\x02-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\uf8ff\ufe00-\ufe0f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000e0100-\U000e01ef\U000f0000-\U000ffffd\U00100000-\U0010fffd]+"
)
# Combining accents on letters ("fåke" -> "fake"), after canonical decomposition.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def _fold(text: str) -> str:
    """Unicode- and case-folded text (whitespace other than spaces already turned into spaces; the batch's
    separators kept).

    Every step works character by character or between spaces, so a reply folds the same in any batch and each
    word the same inside a reply as on its own (the fast path in `chunks` relies on it). Accents are always taken
    off through NFD and NFC: a text without an accented letter can still decompose ("≠" is "=" and a combining
    stroke), and skipping that step for a batch without accents made one reply's tokens depend on the others.
    """
    if text.isascii():
        return text.translate(_ASCII_TABLE).lower()
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _LOOKALIKE.sub(lambda m: _LOOKALIKES[m.group()], text.casefold())
    if text.isascii():  # NFD and NFC leave ASCII as it is
        return text
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", text)))


def fold(text: str) -> str:
    """Unicode- and case-folded text with whitespace collapsed to single spaces."""
    return " ".join(_fold(" ".join(_clean(text).split())).split())


# -- 3. splitting ----------------------------------------------------------------------------------------

# "@" and "$" stay inside words, where they often stand for letters; other ASCII punctuation separates tokens.
_ASCII_PUNCTUATION = '"#%&()*+,-./:;<=>[\\]^_`{|}~'
_SEPARATE = str.maketrans(_ASCII_PUNCTUATION, " " * len(_ASCII_PUNCTUATION))
_PUNCTUATION = re.compile("[" + re.escape(_ASCII_PUNCTUATION) + "]")  # the same, for non-ASCII text
_SYMBOL = re.compile(r"[^\w\s'@$\x00\x01]|_")  # for non-ASCII text: emoji and other symbols become tokens

# A link (with a scheme or www.) becomes `xurl` and the site's name: its path and top-level domain are dropped.
# (Two patterns, each starting with a literal the regex engine searches for fast.)
_URL_SCHEME = re.compile(r"https?://(?:www\.)?([^\s/?#\x00\x01]*)[^\s\x00\x01]*")
_URL_WWW = re.compile(r"www\.([^\s/?#\x00\x01]*)[^\s\x00\x01]*")


def _link(match: re.Match[str]) -> str:
    parts = [p for p in match.group(1).split(".") if p]
    return f" {URL_TOKEN} {' '.join(parts[:-1] if len(parts) > 1 else parts)} "


# A quotation within a sentence: '...' (not an apostrophe: no word character outside either mark) or "...".
# (Two patterns: each starts with its quotation mark, which the regex engine scans for fast.)
_SINGLE_QUOTED = re.compile("'(?<![\\w']')(?=[^\\s'\\x00\\x01])([^\\x00\\x01]*?[^\\s'\\x00\\x01])'(?![\\w'])")
_DOUBLE_QUOTED = re.compile('"([^"\\x00\\x01]+)"')


def _mark_quoted(match: re.Match[str]) -> str:
    words = match.group(1).translate(_SEPARATE).split()
    return " " + " ".join(QUOTED_PREFIX + w for w in words) + " "


def _spaced_symbol(match: re.Match[str]) -> str:
    return f" {match.group()} "


def _spaced(text: str) -> str:
    """Folded text with its tokens separated by spaces (separators kept as tokens of their own)."""
    return _separated(_linked(text))


def _linked(text: str) -> str:
    """Folded text with each link replaced by `xurl` and its site's name."""
    if "://" in text:
        text = _URL_SCHEME.sub(_link, text)
    if "www." in text:
        text = _URL_WWW.sub(_link, text)
    return text


def _separated(text: str) -> str:
    """Folded text with links replaced -> its tokens separated by spaces, quoted words marked."""
    if "'" in text:
        text = _SINGLE_QUOTED.sub(_mark_quoted, text)
    if '"' in text:
        text = _DOUBLE_QUOTED.sub(_mark_quoted, text)
    # (str.translate is fast on ASCII text only; other text takes two regular expressions)
    ascii_only = text.isascii()
    text = text.translate(_SEPARATE) if ascii_only else _SYMBOL.sub(_spaced_symbol, _PUNCTUATION.sub(" ", text))
    text = text.replace("!", " ! ").replace("?", " ? ")
    text = " " + text.replace(_DOC, f" {_DOC} ").replace(_SENT, f" {_SENT} ") + " "
    # Apostrophes at the edge of a word are quotation marks, not part of the word.
    text = text.replace(" '", " ").replace("' ", " ")
    while " '" in text or "' " in text:  # runs of them: rare
        text = text.replace(" '", " ").replace("' ", " ")
    return text


# Four or more single letters in a row, spaced out ("f a k e", after punctuation became spaces): joined into one
# word. (Runs of three would also join texting like "u r a joke".) Rare, so done with one regex over the batch.
_SPACED_LETTERS = re.compile(r" [^\W\d_](?: +[^\W\d_]){3,}(?= )")


def _join_letters(match: re.Match[str]) -> str:
    return " " + "".join(match.group().split()) + " "


# Negation scope: the tokens after a negation word, up to NEGATION_SCOPE of them within the sentence (a "!" or
# "?" ends it), get the prefix "nx", so "nobody should be judged" and "she should be judged" share no n-gram.
NEGATION_PREFIX = "nx"
_NEGATION_CUES = frozenset(
    [
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "none",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "without",
        "don't",
        "dont",
        "doesn't",
        "doesnt",
        "didn't",
        "didnt",
        "isn't",
        "isnt",
        "aren't",
        "arent",
        "wasn't",
        "wasnt",
        "weren't",
        "werent",
        "can't",
        "cant",
        "couldn't",
        "couldnt",
        "won't",
        "wont",
        "wouldn't",
        "wouldnt",
        "shouldn't",
        "shouldnt",
        "haven't",
        "havent",
        "hasn't",
        "hasnt",
        "hadn't",
        "hadnt",
        "ain't",
        "aint",
        "mustn't",
        "mustnt",
        "needn't",
        "neednt",
    ]
)
_SCOPE_ENDS = frozenset({_DOC, _SENT, "!", "?"})


def _mark_negation(flat: list[str], scope: int) -> list[str]:
    """Prefix the `scope` tokens after each negation word (within its sentence) with NEGATION_PREFIX."""
    cues = np.fromiter(map(_NEGATION_CUES.__contains__, flat), dtype=bool, count=len(flat))
    if not cues.any():
        return flat
    out = list(flat)
    for p in np.flatnonzero(cues).tolist():
        for q in range(p + 1, min(p + 1 + scope, len(flat))):
            token = flat[q]
            if token in _SCOPE_ENDS or token in _NEGATION_CUES:
                break
            out[q] = NEGATION_PREFIX + token
    return out


# -- 4. canonical tokens ---------------------------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# Tokens with digits that are ordinary, not obfuscation: "3rd", "90s", "24h", "2am", "$5k", "10yo".
_ORDINARY = re.compile(r"[$]?\d+(?:st|nd|rd|th|s|h|hrs?|am|pm|k|m|yo|yrs?|wks?|lbs?|kg|mins?)?")
_REPEATS = re.compile(r"(.)\1{2,}")


@lru_cache(maxsize=1 << 16)
def canonical_token(token: str) -> str:
    """A token with leetspeak read as letters and letter runs of three or more shortened to two.

    "@maria" -> "xmention", "4tt3nti0n" -> "attention", "$hame" -> "shame", "sooooo" -> "soo";
    ordinary tokens such as "3rd" or "$5k" are kept.
    """
    if token.isalpha():
        return _REPEATS.sub(r"\1\1", token) if len(token) > 2 else token
    if token[0] == "@" and len(token) > 1:
        return MENTION_TOKEN
    if any(c.isalpha() for c in token) and not _ORDINARY.fullmatch(token):
        token = token.translate(_LEET)
    return _REPEATS.sub(r"\1\1", token)


def _identity(token: str) -> str:
    return token


def canonicalizer(normalizer: str) -> Callable[[str], str]:
    """Step 4 for a normaliser: `canonical_token` for "full", nothing for "lower"."""
    if normalizer not in NORMALIZERS:
        raise ValueError(f"unknown normalizer {normalizer!r} (expected one of {', '.join(NORMALIZERS)})")
    return canonical_token if normalizer == "full" else _identity


# -- the batch ---------------------------------------------------------------------------------------------

DOC_MARK = 2  # `Tokens.flat` separator codes: between replies ...
SENTENCE_MARK = 1  # ... and between sentences of a reply
DOC_TYPE, SENTENCE_TYPE = 0, 1  # the separators' types in a chunk table (`chunks`)
_MARKS = {_DOC: DOC_MARK, _SENT: SENTENCE_MARK}


@dataclass(frozen=True)
class Layout:
    """Where each reply and sentence of a batch starts in its token stream (separators removed).

    Reply i is `tokens[doc_starts[i]:doc_starts[i + 1]]`. Every reply is cut into sentences, empty ones
    included (a reply with k sentence ends has k + 1), and sentence j is
    `tokens[sentence_starts[j]:sentence_starts[j + 1]]`, inside reply `sentence_doc[j]`.
    """

    keep: np.ndarray  # which entries of `Tokens.flat` are tokens (not separators)
    doc_starts: np.ndarray
    sentence_starts: np.ndarray
    sentence_doc: np.ndarray

    @classmethod
    def from_marks(cls, marks: np.ndarray) -> Layout:
        """From each flat entry's separator code (0 for a token)."""
        is_mark = marks > 0
        mark_at = np.flatnonzero(is_mark)
        n_tokens = len(marks) - len(mark_at)
        # A separator at flat position p starts a sentence (or reply) at token position p - (separators before p).
        starts_at = mark_at - np.arange(len(mark_at))
        doc_mark = marks[mark_at] == DOC_MARK
        return cls(
            keep=~is_mark,
            doc_starts=np.concatenate(([0], starts_at[doc_mark], [n_tokens])).astype(np.int64),
            sentence_starts=np.concatenate(([0], starts_at, [n_tokens])).astype(np.int64),
            sentence_doc=np.concatenate(([0], np.cumsum(doc_mark))).astype(np.int64),
        )

    @classmethod
    def from_lengths(cls, lengths: np.ndarray, separators: np.ndarray, doc_mark: np.ndarray) -> Layout:
        """From the entries of a batch given as runs of tokens: each entry's number of tokens (0 for a separator),
        the entries that are separators, and which of those separate replies. The same as `from_marks` on the flat
        entries the runs stand for."""
        ends = np.cumsum(lengths)
        n_tokens = int(ends[-1]) if len(ends) else 0
        starts_at = (ends - lengths)[separators]  # the token position each separator starts a sentence at
        keep = np.ones(n_tokens + len(separators), dtype=bool)
        keep[starts_at + np.arange(len(separators))] = False
        return cls(
            keep=keep,
            doc_starts=np.concatenate(([0], starts_at[doc_mark], [n_tokens])).astype(np.int64),
            sentence_starts=np.concatenate(([0], starts_at, [n_tokens])).astype(np.int64),
            sentence_doc=np.concatenate(([0], np.cumsum(doc_mark))).astype(np.int64),
        )


class Tokens:
    """Split tokens of a batch of replies (before `canonical_token`), end to end in `flat`, with a separator
    entry between replies (NUL) and between sentences (SOH). `layout` and `tokens` give them without.

    The fast path (`chunks.tokenize`) gives the same tokens as chunk types (`chunks`), which the feature engine
    reads directly; `flat` is then built from them only when asked for.
    """

    def __init__(self, flat: list[str] | None, n_docs: int, chunks: ChunkedBatch | None = None) -> None:
        if flat is None and chunks is None:
            raise ValueError("Tokens need their flat tokens or their chunks")
        if flat is not None:
            self.__dict__["flat"] = flat
        self.n_docs = n_docs
        self.chunks = chunks

    @cached_property
    def flat(self) -> list[str]:
        """The tokens and separators end to end (built from the chunks when the batch came as chunks)."""
        assert self.chunks is not None
        return self.chunks.flat()

    def marks(self) -> np.ndarray:
        return np.fromiter(map(_MARKS.get, self.flat, repeat(0)), dtype=np.int8, count=len(self.flat))

    @cached_property
    def layout(self) -> Layout:
        return Layout.from_marks(self.marks())

    @cached_property
    def tokens(self) -> list[str]:
        return list(compress(self.flat, self.layout.keep.tolist()))

    def doc(self, i: int) -> list[str]:
        starts = self.layout.doc_starts
        return self.tokens[starts[i] : starts[i + 1]]

    def __len__(self) -> int:
        return self.n_docs


def _clean(text: str) -> str:
    return text.replace(_DOC, "").replace(_SENT, "") if (_DOC in text or _SENT in text) else text


def _lower(text: str) -> str:
    return text.lower()


def _by_ascii(texts: Sequence[str], joined: Callable[[str], str]) -> list[str]:
    """Apply `joined` to the NUL-joined plain-ASCII texts, then to the others, and split the results back.

    Python's string methods run much faster on an all-ASCII string, so the usual replies are kept together.
    """
    flags = [t.isascii() for t in texts]
    if all(flags) or not any(flags):
        return joined(_DOC.join(texts)).split(_DOC)
    out = [""] * len(texts)
    for group in (True, False):
        index = [i for i, f in enumerate(flags) if f == group]
        for i, result in zip(index, joined(_DOC.join(texts[i] for i in index)).split(_DOC), strict=True):
            out[i] = result
    return out


def tokenize(texts: Sequence[str], normalizer: str = "full", negation_scope: int = 0) -> Tokens:
    """Steps 1-3 for a batch of replies: their split tokens end to end, with separators.

    With `negation_scope` > 0, the tokens in the scope of a negation word are marked (`_mark_negation`).
    """
    canonicalizer(normalizer)  # validates the name
    fold_text = _fold if normalizer == "full" else _lower
    texts = [_clean(t) for t in texts]
    if not texts:
        return Tokens([], 0)
    prepared = _by_ascii(texts, lambda s: _spaced(fold_text(_mark_sentences(s))))
    spaced = f" {_DOC} ".join(prepared)
    if normalizer == "full":
        spaced = _SPACED_LETTERS.sub(_join_letters, spaced)
    flat = spaced.split()
    if negation_scope > 0:
        flat = _mark_negation(flat, negation_scope)
    return Tokens(flat, len(texts))


def tokens(text: str, normalizer: str = "full", negation_scope: int = 0) -> list[str]:
    """The canonical tokens of one reply."""
    canonical = canonicalizer(normalizer)
    return [canonical(t) for t in tokenize([text], normalizer, negation_scope).tokens]


def normalize(text: str) -> str:
    """The canonical tokens of a reply as one string: what the model reads, for people and tests."""
    return " ".join(tokens(text))


def sentence_texts(text: str) -> list[str]:
    """A reply cut into its sentences as `tokenize` cuts it (empty pieces kept, so indices match its sentences)."""
    return [" ".join(piece.split()) for piece in _mark_sentences(_clean(text)).split(_SENT)]


def split_sentences(text: str) -> list[str]:
    """A reply's sentences, by end punctuation and line breaks, without the empty ones."""
    return [s for s in sentence_texts(text) if _HAS_CONTENT.search(s)]


_HAS_CONTENT = re.compile(r"[^\W_]|[^\x00-\x7f]")
