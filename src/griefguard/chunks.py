"""Reply text -> split tokens through a cache of whitespace-separated chunks: the fast path of `normalize.tokenize`,
with exactly its tokens.

Replies are made of chunks (runs of non-whitespace: "so", "sorry.", "❤️") that recur across replies and batches.
`tokenize` cuts a batch's UTF-8 bytes into chunks and finds each one in a `ChunkTable` with array operations
(`byte_chunks`); a chunk met for the first time is tokenised once, by the normaliser's own steps, and a reply's
tokens are its chunks' tokens end to end. That is exact because every step of the normaliser works within a chunk
(folding character by character or between spaces; links, symbols and apostrophes at word edges inside the chunk),
except these, which are handled here:
- a sentence ends after a chunk ending in . ! ? or … when whitespace follows it, and at a line break, as
  `normalize._mark_sentences` marks them;
- a quotation can span chunks, but not sentences: in a sentence where two or more chunks hold a quote mark that
  could open or close one, the chunks from the first such to the last are tokenised together, as one text;
- spaced-out letters are joined across chunks ("f u c k"), but not across sentences: a sentence where a chunk
  ending in a single letter is followed by one starting with a single letter (chunks without tokens in between),
  or where such a letter meets a stretch tokenised together, is tokenised whole;
- whitespace above U+007F (such as U+00A0) does not separate chunks here: a reply holding some is tokenised whole;
- negation scope spans chunks: it is marked on the joined tokens, by the normaliser's own function.
What is tokenised whole goes through `normalize.tokenize`, and its tokens are stored as chunks of one token each.
`Tokens` from here carry the chunk types, which the feature engine reads through `ChunkIds` without building a
string per token. Only the "full" normaliser takes this path. A table stops at `ChunkTable.LIMIT` chunks and a new
one starts, so memory stays bounded on an endless stream.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

from griefguard import normalize
from griefguard.byte_chunks import NON_ASCII_SPACE, PACKED_BYTES, SPACE, PackedTable, chunk_bounds, pack
from griefguard.normalize import (
    _DOC,
    _SENT,
    _SPACED_LETTERS,
    DOC_TYPE,
    SENTENCE_TYPE,
    Tokens,
    _by_ascii,
    _clean,
    _fold,
    _join_letters,
    _linked,
    _mark_negation,
    _mark_sentences,
    _separated,
)

__all__ = ["ChunkIds", "ChunkStats", "ChunkTable", "ChunkedBatch", "chunk_table", "new_chunk_table", "tokenize"]

# What the per-reply checks need to know of a chunk.
QUOTE = 1  # holds a quote mark that could open or close a quotation: ' at a word's edge, or "
FIRST_LETTER = 2  # its first token (before spaced letters are joined) is a single letter
LAST_LETTER = 4  # its last token is
EMPTY = 8  # it has no token ("...", "—")
SENTENCE_END = 16  # it ends in . ! ? or …: a sentence ends after it if whitespace follows
_SENTENCE_END_CHARS = (".", "!", "?", "…")

# The two ends of `normalize._SINGLE_QUOTED`, found on their own.
_OPENING = re.compile("'(?<![\\w']')(?=[^\\s'\\x00\\x01])")
_CLOSING = re.compile("(?<=[^\\s'\\x00\\x01])'(?![\\w'])")
_LETTER = re.compile(r"[^\W\d_]")  # a single letter, as `normalize._SPACED_LETTERS` reads one


@dataclass
class ChunkStats:
    """What a table has seen: chunks looked up (separators aside), those already known before their batch, the
    distinct new ones tokenised, and the replies; `whole` replies and `whole_sentences` were tokenised whole."""

    chunks: int = 0
    known: int = 0
    new: int = 0
    replies: int = 0
    whole: int = 0
    whole_sentences: int = 0

    @property
    def hit_rate(self) -> float:
        """The share of chunks found in the table, already tokenised by an earlier batch."""
        return self.known / self.chunks if self.chunks else 0.0

    @property
    def reuse_rate(self) -> float:
        """The share of chunks not tokenised again: known before, or repeated inside their batch."""
        return 1.0 - self.new / self.chunks if self.chunks else 0.0


class ChunkTable:
    """Chunk -> a dense type id, with each type's split tokens (`tokens[offsets[t]:offsets[t + 1]]`) and flags for
    the checks.

    Chunks of up to 16 bytes are found in a `PackedTable` without being made into strings; longer ones, and the
    tokens of replies tokenised whole (under the key " " + token: no chunk holds a space), in a dict. Entries only
    grow, and a type's tokens, offsets and flags are written before it is handed out, so they are read without the
    lock.
    """

    LIMIT = 100_000  # chunk types a table holds before `chunk_table` starts a new one

    def __init__(self) -> None:
        self.packed = PackedTable()
        self.named: dict[str, int] = {" " + _DOC: DOC_TYPE, " " + _SENT: SENTENCE_TYPE}
        self.tokens: list[str] = [_DOC, _SENT]
        self.offsets = np.zeros(1024, dtype=np.int64)
        self.offsets[1:3] = [1, 2]
        self.flags = np.zeros(1024, dtype=np.uint8)
        self.count = 2  # types
        self.lock = threading.Lock()
        self.stats = ChunkStats()
        # The separators pack as themselves: NUL (0, 0) and SOH (1, 0).
        self.packed.add(np.array([0, 1], dtype=np.uint64), np.zeros(2, dtype=np.uint64), np.array([0, 1]))

    def __len__(self) -> int:
        return self.count

    def types(self, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The type of each chunk of a batch's UTF-8 bytes (replies joined by NUL), in order, its start and end in
        the bytes, and whether whitespace follows it. Chunks not met before are tokenised and added."""
        array = np.frombuffer(data, dtype=np.uint8)
        starts, ends = chunk_bounds(array)
        lengths = ends - starts
        low, high = pack(array, starts, lengths)
        followed = SPACE[array[np.minimum(ends, len(array) - 1)]] & (ends < len(array))
        with self.lock:
            types = self.packed.find(low, high)
            long = lengths > PACKED_BYTES
            if long.any():
                types[long] = -1  # only part of a long chunk is packed
            missing = np.flatnonzero(types < 0)
            new = 0
            if len(missing):
                types[missing], new = self._add_chunks(data, starts, ends, low, high, missing)
        separators = int(np.count_nonzero(types <= SENTENCE_TYPE))
        stats = self.stats  # (counts only: updates from two threads at once may be lost)
        stats.chunks += len(types) - separators
        stats.known += len(types) - separators - new
        return types, starts, ends, followed

    def _add_chunks(
        self, data: bytes, starts: np.ndarray, ends: np.ndarray, low: np.ndarray, high: np.ndarray, missing: np.ndarray
    ) -> tuple[list[int], int]:
        """The types of the chunks at positions `missing`, adding the ones not in the table (the lock is held), and
        how many of them were not in it."""
        bounds = zip(starts[missing].tolist(), ends[missing].tolist(), strict=True)
        texts = [data[s:e].decode("utf-8", "surrogatepass") for s, e in bounds]
        found = {t: self.named[t] for t in texts if t in self.named}  # long chunks met before
        first = {t: k for k, t in enumerate(texts) if t not in found}
        unknown = len(texts) - sum(t in found for t in texts)
        if first:
            self.stats.new += len(first)
            new = list(first)
            begin = self._append(*_chunk_pieces(new))
            found.update(zip(new, range(begin, begin + len(new)), strict=True))
            at = np.array([missing[first[t]] for t in new], dtype=np.int64)
            short = (ends[at] - starts[at]) <= PACKED_BYTES
            self.packed.add(low[at[short]], high[at[short]], begin + np.flatnonzero(short))
            self.named.update((t, begin + k) for k, t in enumerate(new) if not short[k])
        return [found[t] for t in texts], unknown

    def literal_types(self, tokens: list[str]) -> np.ndarray:
        """The types of split tokens stored as they are (the tokens of replies tokenised whole, with separators)."""
        keys = list(map(" ".__add__, tokens))
        with self.lock:
            named = self.named
            new = [k for k in dict.fromkeys(keys) if k not in named]
            if new:
                begin = self._append([[k[1:]] for k in new], [0] * len(new))
                named.update(zip(new, range(begin, begin + len(new)), strict=True))
            return np.fromiter(map(named.__getitem__, keys), dtype=np.int64, count=len(keys))

    def _append(self, pieces: list[list[str]], flags: list[int]) -> int:
        """Store new types, each with its tokens (the lock is held); returns the first one's id."""
        n, m = self.count, len(pieces)
        if n + m + 1 > len(self.flags):  # arrays grow by doubling: entries of types handed out are never rewritten
            self.flags = np.concatenate((self.flags[:n], np.zeros(n + 2 * m, dtype=np.uint8)))
            self.offsets = np.concatenate((self.offsets[: n + 1], np.zeros(n + 2 * m + 1, dtype=np.int64)))
        self.tokens.extend(chain.from_iterable(pieces))
        self.offsets[n + 1 : n + m + 1] = self.offsets[n] + np.cumsum([len(p) for p in pieces])
        self.flags[n : n + m] = flags
        self.count = n + m
        return n


def _chunk_pieces(chunks: list[str]) -> tuple[list[list[str]], list[int]]:
    """Each chunk's split tokens and flags, by the steps of `normalize.tokenize` on the chunks as replies."""
    linked = _by_ascii(chunks, lambda s: _linked(_fold(_mark_sentences(s))))
    flags = [
        (QUOTE if '"' in s or ("'" in s and (_OPENING.search(s) or _CLOSING.search(s))) else 0)
        | (SENTENCE_END if c.endswith(_SENTENCE_END_CHARS) else 0)
        for c, s in zip(chunks, linked, strict=True)
    ]
    spaced = f" {_DOC} ".join(_by_ascii(linked, _separated))
    before = [piece.split() for piece in spaced.split(_DOC)]
    joined = _SPACED_LETTERS.sub(_join_letters, spaced)
    after = before if joined == spaced else [piece.split() for piece in joined.split(_DOC)]
    match = _LETTER.fullmatch
    for i, tokens in enumerate(before):
        if not tokens:
            flags[i] |= EMPTY
            continue
        if len(tokens[0]) == 1 and match(tokens[0]):
            flags[i] |= FIRST_LETTER
        if len(tokens[-1]) == 1 and match(tokens[-1]):
            flags[i] |= LAST_LETTER
    # A chunk that is its own token keeps one string for both.
    pieces = [[c] if len(t) == 1 and t[0] == c else t for c, t in zip(chunks, after, strict=True)]
    return pieces, flags


_TABLE_LOCK = threading.Lock()
_TABLE: ChunkTable | None = None


def chunk_table() -> ChunkTable:
    """The table every engine shares (created on first use; a new one when it is full)."""
    global _TABLE
    table = _TABLE
    if table is None or len(table) > ChunkTable.LIMIT:
        with _TABLE_LOCK:
            if _TABLE is None or len(_TABLE) > ChunkTable.LIMIT:
                _TABLE = ChunkTable()
            table = _TABLE
    return table


def new_chunk_table() -> ChunkTable:
    """Start again from an empty table (to measure the cache on data it has not seen)."""
    global _TABLE
    with _TABLE_LOCK:
        _TABLE = ChunkTable()
        return _TABLE


@dataclass(frozen=True)
class ChunkedBatch:
    """A batch's tokens as chunk types of a table: entry k stands for the tokens of type `types[k]`."""

    types: np.ndarray
    table: ChunkTable

    def flat(self) -> list[str]:
        """The batch's split tokens and separators, as `normalize.tokenize` gives them in `Tokens.flat`."""
        table, types = self.table, self.types
        offsets = table.offsets
        begin = offsets.take(types)
        return list(map(table.tokens.__getitem__, runs(begin, offsets.take(types + 1) - begin).tolist()))


def tokenize(texts: Sequence[str], normalizer: str = "full", negation_scope: int = 0) -> Tokens:
    """`normalize.tokenize`, through the chunk table: the same tokens, separators and layout."""
    if normalizer != "full" or not texts:
        return normalize.tokenize(texts, normalizer, negation_scope)
    texts = list(texts)
    joined = _DOC.join(texts)
    if joined.count(_DOC) != len(texts) - 1 or _SENT in joined:  # the batch's separators, inside a reply
        texts = [_clean(t) for t in texts]
        joined = _DOC.join(texts)
    data = joined.encode("utf-8", "surrogatepass")
    if b"\n" in data:  # a line break ends a sentence: a mark of its own, as `normalize._mark_sentences` makes it
        data = data.replace(b"\n", b" \x01 ")
    table = chunk_table()
    types, starts, ends, followed = table.types(data)
    flags = table.flags[types]
    # A chunk ending in . ! ? or … and followed by whitespace ends a sentence.
    cut = np.flatnonzero(((flags & SENTENCE_END) != 0) & followed) + 1
    if len(cut):
        types, flags = np.insert(types, cut, SENTENCE_TYPE), np.insert(flags, cut, 0)
        starts, ends = np.insert(starts, cut, 0), np.insert(ends, cut, 0)
    table.stats.replies += len(texts)
    spaced = _with_non_ascii_space(texts)
    ranges = _exact_ranges(types, flags, spaced)
    if ranges:
        types = _with_exact_ranges(types, ranges, texts, data, starts, ends, table)
    batch = ChunkedBatch(types, table)
    if negation_scope > 0:
        return Tokens(_mark_negation(batch.flat(), negation_scope), len(texts))
    return Tokens(None, len(texts), batch)


def _with_non_ascii_space(texts: list[str]) -> list[int]:
    """The replies holding whitespace above U+007F (searched in all the non-ASCII replies at once first)."""
    odd = np.flatnonzero(~np.fromiter(map(str.isascii, texts), dtype=bool, count=len(texts))).tolist()
    if not odd or not NON_ASCII_SPACE.search(_DOC.join([texts[i] for i in odd])):
        return []
    return [i for i in odd if NON_ASCII_SPACE.search(texts[i])]


def _exact_ranges(types: np.ndarray, flags: np.ndarray, spaced: list[int]) -> list[tuple[int, int, int]]:
    """The entries whose tokens are not their chunks' tokens end to end, or may not be, as (start, end, reply)
    ranges to tokenise whole (reply -1 for a range of chunks inside one sentence):
    - in a sentence with quote marks in two or more chunks, the chunks from the first of them to the last (a
      quotation starts and ends at a quote mark, and never crosses a sentence end);
    - a sentence in which spaced letters may be joined across chunks (they never are across a sentence end): two
      chunks in a row, or a range above and the chunk next to it, with a single letter where they meet;
    - a reply with whitespace above U+007F (the replies `spaced`).
    """
    if not len(types):
        return []
    separator = types <= SENTENCE_TYPE
    segment = np.cumsum(separator)  # each entry's sentence (a separator counts with the sentence after it)
    n_segments = int(segment[-1]) + 1
    begin, end = np.zeros(n_segments, dtype=np.int64), np.zeros(n_segments, dtype=np.int64)  # end 0: none
    kept = np.flatnonzero((flags & EMPTY) == 0)  # chunks with tokens, and separators
    kept_flags = flags[kept]
    lettered = segment[kept[:-1][((kept_flags[:-1] & LAST_LETTER) != 0) & ((kept_flags[1:] & FIRST_LETTER) != 0)]]
    quoted = np.flatnonzero((flags & QUOTE) != 0)
    if len(quoted):
        owner = segment[quoted]
        several = np.flatnonzero(np.bincount(owner, minlength=n_segments) >= 2)
        if len(several):
            first = quoted[np.searchsorted(owner, several)]  # quoted entries are in order: so are their owners
            last = quoted[np.searchsorted(owner, several, side="right") - 1]
            begin[several], end[several] = first, last + 1
        if len(several) and len(kept):
            before = kept[np.searchsorted(kept, first) - 1]  # the chunks with tokens next to the range
            after = kept[np.minimum(np.searchsorted(kept, last + 1), len(kept) - 1)]
            edge = ((flags[before] & LAST_LETTER) != 0) & (before < first)
            edge |= ((flags[after] & FIRST_LETTER) != 0) & (after > last)
            lettered = np.concatenate((lettered, several[edge]))
    if len(lettered):
        separators = np.flatnonzero(separator)
        begin[lettered] = np.concatenate(([0], separators + 1))[lettered]
        end[lettered] = np.concatenate((separators, [len(types)]))[lettered]
    ranges: list[tuple[int, int, int]] = []
    if spaced:
        docs = np.flatnonzero(types == DOC_TYPE)
        doc_starts, doc_ends = np.concatenate(([0], docs + 1)), np.concatenate((docs, [len(types)]))
        first_segment = np.concatenate(([0], segment[docs]))  # reply r's sentences: first_segment to end_segment
        end_segment = np.concatenate((segment[docs], [n_segments]))
        for r in spaced:
            end[first_segment[r] : end_segment[r]] = 0  # a reply tokenised whole holds its sentences
            ranges.append((int(doc_starts[r]), int(doc_ends[r]), r))
    chosen = np.flatnonzero(end > 0)
    ranges += zip(begin[chosen].tolist(), end[chosen].tolist(), repeat(-1))
    return sorted(ranges)


def _with_exact_ranges(
    types: np.ndarray,
    ranges: list[tuple[int, int, int]],
    texts: list[str],
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    table: ChunkTable,
) -> np.ndarray:
    """`types` with each range's entries replaced by the tokens `normalize.tokenize` gives its text: the reply's,
    or the bytes from its first chunk to its last (inside a sentence: they hold no sentence end, line break or
    NUL)."""
    pieces = [
        texts[r] if r >= 0 else data[starts[a] : ends[b - 1]].decode("utf-8", "surrogatepass") for a, b, r in ranges
    ]
    table.stats.whole += sum(r >= 0 for _, _, r in ranges)
    table.stats.whole_sentences += sum(r < 0 for _, _, r in ranges)
    flat = normalize.tokenize(pieces).flat
    literal = table.literal_types(flat)
    # Remove the ranges' entries, then insert each range's tokens where its entries were (pieces hold no NUL: a
    # NUL in `literal` separates two pieces).
    begin = np.array([a for a, _, _ in ranges], dtype=np.int64)
    end = np.array([b for _, b, _ in ranges], dtype=np.int64)
    inside = np.cumsum(np.bincount(begin, minlength=len(types) + 1) - np.bincount(end, minlength=len(types) + 1))
    removed = inside[:-1] > 0
    removed_before = np.concatenate(([0], np.cumsum(removed)))[begin]
    separator = literal == DOC_TYPE
    lengths = np.diff(np.concatenate(([-1], np.flatnonzero(separator), [len(literal)]))) - 1
    return np.insert(types[~removed], np.repeat(begin - removed_before, lengths), literal[~separator])


class ChunkIds:
    """Chunk type (of one `ChunkTable`) -> the ids `token_ids` gives its tokens, in flat arrays (a separator has
    no ids): how the feature engine reads a batch tokenised here.

    Types are dense and only grow, so the arrays are indexed by type and extended, under a lock, by the types a
    batch brings that they do not hold yet. A state (count, offsets, ids) is published as one tuple after it is
    written, and entries it covers are never written again, so readers in other threads never need the lock.
    """

    def __init__(self, table: ChunkTable, token_ids: Mapping[str, int]) -> None:
        self.table = table
        self.token_ids = token_ids
        self.lock = threading.Lock()
        self.state: tuple[int, np.ndarray, np.ndarray] = (0, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    def ids(self, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ids of the tokens of a sequence of chunk types, end to end, and the number of each type's tokens."""
        if not len(types):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        count, ptr, ids = self.state
        if int(types.max()) >= count:
            count, ptr, ids = self._extend(int(types.max()) + 1)
        begin = ptr.take(types)
        length = ptr.take(types + 1)
        length -= begin
        return ids.take(runs(begin, length)), length

    def _extend(self, upto: int) -> tuple[int, np.ndarray, np.ndarray]:
        with self.lock:
            count, ptr, ids = self.state
            if upto <= count:
                return self.state
            offsets = self.table.offsets
            lengths = np.diff(offsets[count : upto + 1])
            lengths[: max(0, SENTENCE_TYPE + 1 - count)] = 0  # the separators (the first types) have no ids
            first = max(count, SENTENCE_TYPE + 1)
            tokens = self.table.tokens[offsets[first] : offsets[upto]] if upto > first else []
            total = int(ptr[count] + lengths.sum())
            new_ids = np.fromiter(map(self.token_ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
            # Arrays grow by doubling; entries a published state covers are never written again.
            if upto + 1 > len(ptr):
                ptr = np.concatenate((ptr[: count + 1], np.zeros(2 * upto + 1 - count, dtype=np.int64)))
            if total > len(ids):
                ids = np.concatenate((ids[: ptr[count]], np.zeros(2 * total - int(ptr[count]), dtype=np.int64)))
            ptr[count + 1 : upto + 1] = ptr[count] + np.cumsum(lengths)
            ids[ptr[count] : total] = new_ids
            self.state = (upto, ptr, ids)
            return self.state


def runs(begin: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The positions begin[k], ..., begin[k] + length[k] - 1 of every run k, end to end."""
    ends = np.cumsum(length)
    if not len(ends) or not ends[-1]:
        return np.zeros(0, dtype=np.int64)
    # Run k goes to output positions ends[k] - length[k] onwards: shift each to its source.
    return np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(begin - ends + length, length)
