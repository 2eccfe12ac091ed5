"""Integer keys -> their positions in a sorted key array, by a hash table in numpy arrays (open addressing).

The feature engine looks up every n-gram of a batch among the vocabulary's known n-gram keys. `np.searchsorted`
takes a binary search per n-gram (about 16 dependent steps for 50,000 keys); this table, built once per key array,
finds most keys and most unknown n-grams at the first slot it reads. Lookups are vectorised: each probe round
handles every query still unresolved, and after `ROUNDS` rounds the few left take `np.searchsorted`, so the
answer never depends on the table's layout.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KeyTable"]

_EMPTY = -1  # a free slot (keys are never negative)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * 2**64 / golden ratio


class KeyTable:
    """Sorted distinct non-negative int64 keys -> their index, by linear probing at a load of at most 1/2."""

    ROUNDS = 3  # probe rounds before the remaining queries take a binary search

    def __init__(self, keys: np.ndarray) -> None:
        """Build the table of `keys` (strictly increasing, non-negative int64)."""
        self.keys = np.asarray(keys, dtype=np.int64)
        bits = max(4, int(2 * len(self.keys) - 1).bit_length())
        self.size = 1 << bits
        self.shift = np.uint64(64 - bits)
        self.slots = np.full((self.size, 2), _EMPTY, dtype=np.int64)  # (key, index) per slot, side by side
        mask = self.size - 1
        pending = np.arange(len(self.keys), dtype=np.int64)
        slot = self._home(self.keys)
        while len(pending):
            free = self.slots[slot, 0] == _EMPTY
            # Of the keys that reach the same free slot in this round, the first takes it; the others move on.
            taken, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self.slots[taken, 0] = self.keys[winners]
            self.slots[taken, 1] = winners
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slot = pending[~placed], (slot[~placed] + 1) & mask

    def _home(self, keys: np.ndarray) -> np.ndarray:
        home = keys.view(np.uint64) * _MULTIPLIER
        home >>= self.shift
        return home.view(np.int64)

    def find(self, queries: np.ndarray) -> np.ndarray:
        """The index in the key array of each query (int64), or -1 where it is not a key."""
        queries = np.ascontiguousarray(queries, dtype=np.int64)
        slot = self._home(queries)
        seen = self.slots.take(slot, axis=0)  # (`take`: far faster than fancy indexing of rows)
        hit = seen[:, 0] == queries
        out = np.where(hit, seen[:, 1], -1)
        todo = np.flatnonzero(~hit & (seen[:, 0] != _EMPTY))  # the slot holds another key: probe on
        mask = self.size - 1
        slot = slot[todo]
        for _ in range(self.ROUNDS - 1):
            if not len(todo):
                return out
            slot = (slot + 1) & mask
            seen = self.slots.take(slot, axis=0)
            wanted = queries[todo]
            hit = seen[:, 0] == wanted
            out[todo[hit]] = seen[hit, 1]
            going = ~hit & (seen[:, 0] != _EMPTY)
            todo, slot = todo[going], slot[going]
        if len(todo):
            wanted = queries[todo]
            position = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
            out[todo] = np.where(self.keys[position] == wanted, position, -1)
        return out
