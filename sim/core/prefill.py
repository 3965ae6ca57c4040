"""Filling large fresh columns on a second thread, ahead of the rows a run writes.

A 10M-click run reserves its ledger's columns at once (about 520 MB: every stage time NaN, every
drop reason -1). Writing those fill values is the first touch of every page, which the kernel (and
on a virtual machine, the hypervisor) must back: measured on the reference machine from 0.1 s to
1.1 s for the same run, depending on how warm the machine's memory is. numpy releases the GIL
while it fills, so a thread does it on the second core while the run simulates on the first; the
run only waits when it is about to write rows the thread has not filled yet (the thread fills
about 8M rows a second even on cold memory; the run appends under 2M). The values are the same
whoever writes them.
"""

from __future__ import annotations

import os
import threading

import numpy as np

CHUNK_ROWS = 1 << 16  # rows filled between two hand-overs of the watermark (512 kB of float64)
MIN_ROWS = 1 << 20  # a tail shorter than this is filled at once (a thread is not worth it)


class Prefill:
    """Fills ``columns`` (array, value) from row ``lo`` to ``hi``; rows below :attr:`filled` are
    done. :meth:`ensure` waits until rows below ``rows`` are; :meth:`join` until all are. A
    process forked meanwhile has no thread: its :meth:`ensure` fills what is missing itself."""

    def __init__(self, columns: list[tuple[np.ndarray, float | int]], lo: int, hi: int) -> None:
        self.columns = columns
        self.filled = lo
        self.hi = hi
        self._pid = os.getpid()
        self._done = threading.Condition()
        if hi - lo < MIN_ROWS:
            self._fill(lo, hi)
            self.filled = hi
            self._thread = None
            return
        self._thread = threading.Thread(target=self._run, name="sim-ledger-prefill", daemon=True)
        self._thread.start()

    def _fill(self, lo: int, hi: int) -> None:
        for array, value in self.columns:
            array[lo:hi] = value  # numpy releases the GIL for this

    def _run(self) -> None:
        for lo in range(self.filled, self.hi, CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, self.hi)
            self._fill(lo, hi)
            with self._done:
                self.filled = hi
                self._done.notify_all()

    def ensure(self, rows: int) -> None:
        """Return once rows below ``rows`` hold their fill value."""
        if rows <= self.filled:
            return
        if os.getpid() != self._pid:  # forked: the thread stayed in the parent
            self._fill(self.filled, self.hi)
            self.filled = self.hi
            return
        with self._done:
            while self.filled < min(rows, self.hi):
                self._done.wait()

    def join(self) -> None:
        """Return once every row holds its fill value."""
        self.ensure(self.hi)
