"""What a model knows: its word n-grams (`Vocabulary`) and character n-grams (`CharVocabulary`), and the lookup
of a batch's n-grams among the known ones (`NgramLookup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from griefguard.normalize import canonicalizer

if TYPE_CHECKING:
    from griefguard.key_table import KeyTable

__all__ = ["CharVocabulary", "NgramLookup", "Vocabulary", "char_grams"]


@dataclass(frozen=True)
class Vocabulary:
    """The n-grams a model knows: its tokens (id = index + 1; 0 means unknown) and, for each n from
    `min_n` to `max_n`, the sorted integer keys of its known n-grams. Feature indices run through the
    n-grams of each length in turn, in key order."""

    normalizer: str
    min_n: int
    max_n: int
    tokens: list[str]
    keys: list[np.ndarray]  # keys[n - min_n]: sorted int64 keys of the known n-grams of length n
    negation_scope: int = 0

    def __post_init__(self) -> None:
        canonicalizer(self.normalizer)  # validates the name
        if self.negation_scope < 0:
            raise ValueError("negation_scope must be 0 or more")
        if not 1 <= self.min_n <= self.max_n:
            raise ValueError(f"bad n-gram range ({self.min_n}, {self.max_n})")
        if len(self.keys) != self.max_n - self.min_n + 1:
            raise ValueError("one key array is needed for each n-gram length")
        if self.base**self.max_n >= 2**62:
            raise ValueError("vocabulary too large for integer n-gram keys")
        for k in self.keys:
            if k.dtype != np.int64 or k.ndim != 1 or (len(k) > 1 and not (np.diff(k) > 0).all()):
                raise ValueError("n-gram keys must be strictly increasing int64 arrays")

    @property
    def base(self) -> int:
        return len(self.tokens) + 1

    @property
    def n_features(self) -> int:
        return int(sum(len(k) for k in self.keys))

    @property
    def offsets(self) -> list[int]:
        """The first feature index of each n-gram length."""
        return [0, *np.cumsum([len(k) for k in self.keys]).tolist()][:-1]

    def decode(self, feature: int) -> list[str]:
        """The tokens of a feature index."""
        for n, (offset, keys) in enumerate(zip(self.offsets, self.keys, strict=True), start=self.min_n):
            if feature < offset + len(keys):
                key = int(keys[feature - offset])
                ids = []
                for _ in range(n):
                    key, token_id = divmod(key, self.base)
                    ids.append(token_id)
                return [self.tokens[i - 1] for i in reversed(ids)]
        raise IndexError(f"feature {feature} out of range ({self.n_features} features)")

    def feature_names(self) -> list[str]:
        """Every feature as its n-gram string ("so sorry"), in feature order."""
        return [" ".join(self.decode(j)) for j in range(self.n_features)]


def char_grams(token: str, min_n: int, max_n: int) -> list[str]:
    """The character n-grams of a canonical token padded with a space on each side ("ok" -> " o", "ok", "k ")."""
    padded = f" {token} "
    return [padded[i : i + n] for n in range(min_n, max_n + 1) for i in range(len(padded) - n + 1)]


@dataclass(frozen=True)
class CharVocabulary:
    """The character n-grams a model knows (`min_n` to `max_n` characters inside each space-padded canonical
    token), sorted; a gram's feature index is its position, after all the word features."""

    min_n: int
    max_n: int
    grams: list[str]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_n <= self.max_n:
            raise ValueError(f"bad character n-gram range ({self.min_n}, {self.max_n})")
        if any(a >= b for a, b in zip(self.grams, self.grams[1:], strict=False)):
            raise ValueError("character n-grams must be sorted and distinct")
        object.__setattr__(self, "index", {g: j for j, g in enumerate(self.grams)})

    @property
    def n_features(self) -> int:
        return len(self.grams)

    def features_of(self, token: str) -> list[int]:
        """The known character n-grams of a canonical token, as feature positions (with repeats)."""
        get = self.index.get
        return [j for g in char_grams(token, self.min_n, self.max_n) if (j := get(g)) is not None]


class NgramLookup:
    """A vocabulary's n-gram keys -> their positions among the known n-grams of their length.

    A `KeyTable` is built for a length once it has been asked about four times as many n-grams as it holds (a
    one-reply command never pays for building it); until then, and for lookups of fewer than `HASHED_AT` keys,
    `np.searchsorted` answers. When the table is built it is also checked whether every known n-gram's first and
    last n - 1 tokens are a known (n - 1)-gram, as in any vocabulary fitted with a minimum document frequency: then
    an n-gram whose two (n - 1)-grams are not both known is not looked up at all (`closed`).
    """

    HASHED_AT = 256  # queries from which a lookup takes the hash table (fewer cost less with a binary search)

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.tables: dict[int, KeyTable] = {}
        self.asked = dict.fromkeys(range(vocabulary.min_n, vocabulary.max_n + 1), 0)
        self.closed_lengths: set[int] = set()

    def closed(self, n: int) -> bool:
        """Whether every known n-gram's two (n - 1)-grams are known (checked when its table was built)."""
        return n in self.closed_lengths

    def find(self, n: int, keys: np.ndarray) -> np.ndarray:
        """The position of each n-gram key among the known n-grams of length n, or -1 where it is not one."""
        voc = self.vocabulary
        known = voc.keys[n - voc.min_n]
        table = self.tables.get(n)
        if table is None:
            self.asked[n] += len(keys)
            if self.asked[n] >= 4 * len(known) > 0:
                table = self._build(n)
        if table is not None and len(keys) >= self.HASHED_AT:
            return table.find(keys)
        if not len(known):
            return np.full(len(keys), -1, dtype=np.int64)
        position = np.minimum(np.searchsorted(known, keys), len(known) - 1)
        return np.where(known[position] == keys, position, -1)

    def _build(self, n: int) -> KeyTable:
        from griefguard.key_table import KeyTable  # (loaded when a table is first built: never for one reply)

        voc = self.vocabulary
        table = KeyTable(voc.keys[n - voc.min_n])
        if n > voc.min_n:
            shorter, keys = voc.keys[n - 1 - voc.min_n], table.keys
            if np.isin(keys // voc.base, shorter).all() and np.isin(keys % voc.base ** (n - 1), shorter).all():
                self.closed_lengths.add(n)
        self.tables[n] = table  # published last: `closed` is set before the table is used
        return table
