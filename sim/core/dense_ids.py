"""Sets of dense, non-negative integer ids (event ids, message ids) kept as bitmaps, and the first
occurrence of each id in a batch without sorting the batch."""

from __future__ import annotations

import numpy as np


def first_occurrences(ids: np.ndarray) -> np.ndarray:
    """True at the first row holding each id of ``ids`` (non-negative integers), False at its
    repeats: the rows ``numpy.unique(ids, return_index=True)`` names. When the ids span a range up
    to 64 times the batch (a micro-batch's event ids span about 8 times its size: ids are given as
    sessions are drawn, ahead of the clicks), a count per id of the range finds the repeated ones and
    only those are sorted; a wider range is sorted whole (``numpy.unique``)."""
    n = len(ids)
    first = np.ones(n, dtype=bool)
    if n < 2:
        return first
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo > 64 * n + 65_536:
        repeated = np.arange(n)
    else:
        offset = np.subtract(ids, lo, dtype=np.int64)  # no overflow in a narrow integer type
        repeated = np.flatnonzero(np.bincount(offset, minlength=hi - lo + 1)[offset] > 1)
        if not len(repeated):
            return first
    _, where = np.unique(ids[repeated], return_index=True)  # the first of each among the repeated rows
    first[repeated] = False
    first[repeated[where]] = True
    return first


class SeenIds:
    """The ids seen so far, as a bitmap grown to the largest id (1 byte per id up to it)."""

    def __init__(self) -> None:
        self._seen = np.zeros(1024, dtype=bool)

    def _reserve(self, top: int) -> None:
        if top > len(self._seen):
            grown = np.zeros(max(top, 2 * len(self._seen)), dtype=bool)
            grown[: len(self._seen)] = self._seen
            self._seen = grown

    def first_time(self, ids: np.ndarray) -> np.ndarray:
        """True at the rows whose id was not seen before, in an earlier call or earlier in this one
        (the first of a repeated id in the batch); then every id of ``ids`` counts as seen."""
        if not len(ids):
            return np.zeros(0, dtype=bool)
        if int(ids.min()) < 0:
            raise ValueError(f"ids are non-negative (got {int(ids.min())})")
        self._reserve(int(ids.max()) + 1)
        new = ~self._seen[ids]
        new &= first_occurrences(ids)
        self._seen[ids] = True
        return new
