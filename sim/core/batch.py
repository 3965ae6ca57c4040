"""Columnar message batches.

A :class:`Batch` is a dict of equal-length numpy columns. Two columns are always there: ``id`` (the
ledger id of each message) and ``t`` (the time, seconds, at which each message becomes available to
the receiver). Actors pass batches along their inboxes and compute per-message times inside a batch,
so the number of simulation events grows with batches, not with messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


class Batch:
    """Equal-length numpy columns, with at least ``id`` and ``t``."""

    __slots__ = ("cols",)

    def __init__(self, cols: Mapping[str, np.ndarray]) -> None:
        self.cols = dict(cols)
        n = len(self.cols["id"])
        for name, col in self.cols.items():
            if len(col) != n:
                raise ValueError(f"column {name!r} has {len(col)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.cols["id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def __setitem__(self, name: str, col: np.ndarray) -> None:
        if len(col) != len(self):
            raise ValueError(f"column {name!r} has {len(col)} rows, expected {len(self)}")
        self.cols[name] = col

    @property
    def ids(self) -> np.ndarray:
        return self.cols["id"]

    @property
    def t(self) -> np.ndarray:
        return self.cols["t"]

    def take(self, index: np.ndarray | slice) -> Batch:
        """Rows selected by a boolean mask, an index array or a slice."""
        return Batch({k: v[index] for k, v in self.cols.items()})

    def with_columns(self, **cols: np.ndarray) -> Batch:
        out = Batch(self.cols)
        for name, col in cols.items():
            out[name] = col
        return out

    @staticmethod
    def concat(batches: Iterable[Batch]) -> Batch:
        batches = [b for b in batches if b is not None]
        if not batches:
            raise ValueError("nothing to concatenate")
        if len(batches) == 1:
            return batches[0]
        names = batches[0].cols.keys()
        return Batch({k: np.concatenate([b.cols[k] for b in batches]) for k in names})
