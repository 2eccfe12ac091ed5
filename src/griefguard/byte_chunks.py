"""A batch as UTF-8 bytes -> its whitespace-separated chunks, each packed into two integers, and a hash table of
packed chunks -> chunk types, all in numpy arrays (the fast path of `chunks` never makes a Python string of a
chunk it already knows).

A chunk of at most 16 bytes is its bytes read as two little-endian 64-bit integers (zero-padded: chunks hold no NUL,
so no two chunks share a packing); a longer one is looked up by its text instead. Only ASCII whitespace separates
chunks here; a reply holding other whitespace is tokenised whole by `chunks`.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["NON_ASCII_SPACE", "PACKED_BYTES", "SPACE", "PackedTable", "chunk_bounds", "pack"]

PACKED_BYTES = 16  # chunks up to this long are packed; longer ones are looked up by their text
# ASCII whitespace (what `str.split` splits on below U+0080); NUL, the batch's reply separator, is a chunk of its own.
SPACE = np.zeros(256, dtype=bool)
SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
# The whitespace above U+007F that `str.split` splits on.
NON_ASCII_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_FREE = np.uint64((1 << 64) - 1)  # the type of a free slot
_M0 = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xC2B2AE3D27D4EB4F)


def chunk_bounds(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each chunk of a byte array: runs of bytes that are not ASCII whitespace, with
    each NUL a chunk of its own."""
    inside = ~SPACE[data]
    nul = data == 0
    # A chunk starts at a non-space byte after a space, a NUL or the beginning, or at a NUL; it ends likewise.
    start = inside.copy()
    start[1:] &= ~inside[:-1] | nul[:-1] | nul[1:]
    end = inside.copy()
    end[:-1] &= ~inside[1:] | nul[1:] | nul[:-1]
    return np.flatnonzero(start), np.flatnonzero(end) + 1


def pack(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's first 8 bytes and next 8 bytes as little-endian uint64 (zero past its end); chunks longer than
    `PACKED_BYTES` are packed too, but only in part."""
    padded = np.zeros(len(data) + 2 * PACKED_BYTES, dtype=np.uint8)
    padded[: len(data)] = data
    low = np.empty(len(starts), dtype=np.uint64)
    long = np.flatnonzero(lengths > 8)
    high = np.zeros(len(starts), dtype=np.uint64)
    # Eight views of the bytes as 64-bit words, each shifted by one byte: a chunk's words are in the one its start
    # falls on, at start // 8 and the next.
    word, offset = starts >> 3, starts & 7
    long_word, long_offset = word[long], offset[long]
    for shift in range(8):
        words = padded[shift : shift + 8 * ((len(padded) - shift) // 8)].view("<u8")
        chosen = np.flatnonzero(offset == shift)
        low[chosen] = words.take(word[chosen])
        chosen = np.flatnonzero(long_offset == shift)
        high[long[chosen]] = words.take(long_word[chosen] + 1)
    low &= _LOW_BYTES[np.minimum(lengths, 8)]
    high[long] &= _LOW_BYTES[np.minimum(lengths[long] - 8, 8)]
    return low, high


class PackedTable:
    """Packed chunks (two uint64 words) -> chunk types, by linear probing at a load of at most 1/2.

    Each slot holds (low word, high word, type) side by side, so a probe reads one cache line. Not thread-safe: its
    owner holds a lock around every call."""

    def __init__(self) -> None:
        self.count = 0
        self._allocate(1 << 12)

    def _allocate(self, size: int) -> None:
        self.size = size
        self.shift = np.uint64(64 - (size.bit_length() - 1))
        self.slots = np.zeros((size, 3), dtype=np.uint64)
        self.slots[:, 2] = _FREE

    def _home(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        home = low * _M0
        home += high * _M1
        home >>= self.shift
        return home.view(np.int64)

    def find(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The type of each packed chunk, or -1 where the table does not hold it."""
        out = np.full(len(low), -1, dtype=np.int64)
        active = np.arange(len(low), dtype=np.int64)
        slot = self._home(low, high)
        mask = self.size - 1
        while len(active):
            seen = self.slots.take(slot, axis=0)  # (`take`: far faster than fancy indexing of rows)
            used = seen[:, 2] != _FREE
            hit = (seen[:, 0] == low) & (seen[:, 1] == high) & used
            out[active[hit]] = seen[hit, 2].view(np.int64)
            going = np.flatnonzero(~hit & used)  # the slot holds another chunk: probe on
            active, low, high, slot = active[going], low[going], high[going], (slot[going] + 1) & mask
        return out

    def add(self, low: np.ndarray, high: np.ndarray, types: np.ndarray) -> None:
        """Insert packed chunks the table does not hold yet (distinct) with their types."""
        self.count += len(low)
        if 2 * self.count > self.size:
            held = self.slots[self.slots[:, 2] != _FREE]
            self._allocate(1 << (2 * self.count).bit_length())
            self._place(held[:, 0], held[:, 1], held[:, 2])
        self._place(low, high, np.asarray(types, dtype=np.int64).view(np.uint64))

    def _place(self, low: np.ndarray, high: np.ndarray, types: np.ndarray) -> None:
        mask = self.size - 1
        pending = np.arange(len(low), dtype=np.int64)
        slot = self._home(low, high)
        while len(pending):
            free = self.slots[slot, 2] == _FREE
            # Of the chunks that reach the same free slot in this round, the first takes it; the others move on.
            taken, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self.slots[taken, 0] = low[winners]
            self.slots[taken, 1] = high[winners]
            self.slots[taken, 2] = types[winners]
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slot = pending[~placed], (slot[~placed] + 1) & mask
