"""Web traffic drawn aside: a forked process draws the visitors' clicks one hand-over ahead.

The traffic does not react to the system (:mod:`sim.actors.data_cloud.visitors`), so its clicks can
be drawn while the simulation runs. :class:`TrafficAside` forks the built :class:`WebVisitors`
(its random streams and state at the fork) into a child that answers each ``take_until(t)`` of the
ingestion API and then, while the run simulates the micro-batch, draws the next hand-over (at
``t + interval``, never past the horizon). The clicks handed over are the very ones the visitors
would hand over themselves: the same chunks are drawn in the same order, and clicks are sorted by
send time, ties in drawing order, whatever hand-overs the drawing was split into. A request that
was not the one guessed is answered from what was drawn (an earlier time) or by drawing on (a later
one). Nothing is drawn past the horizon, so the visitors' counts are those of a run without the
child (``clicks_sent`` counts what was handed over).

If the child dies, the run replays the hand-overs so far on its own copy (forked before any draw)
and goes on without it: the same clicks, later. Where there is no ``fork`` (or inside a daemon
process such as a sweep's worker), :func:`draw_aside` leaves the visitors as they are.
"""

from __future__ import annotations

import mmap
import multiprocessing
from typing import Any

import numpy as np

from sim.actors.data_cloud.visitors import WebVisitors
from sim.core.processes import can_fork, die_with_parent


def _take(cols: dict[str, np.ndarray], k: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return {c: v[:k] for c, v in cols.items()}, {c: v[k:] for c, v in cols.items()}


def _put(conn, shared: mmap.mmap, cols: dict[str, np.ndarray]) -> None:
    """Send ``cols``: written into the shared buffer and described in a small message when they fit
    (a pipe carries a megabyte slowly: several context switches), else pickled through the pipe."""
    layout, offset = [], 0
    for name, values in cols.items():
        values = np.ascontiguousarray(values)
        layout.append((name, values.dtype.str, len(values), offset, values))
        offset += (values.nbytes + 63) // 64 * 64
    if offset > len(shared):
        conn.send(("cols", cols))
        return
    for _, _, n, at, values in layout:
        np.ndarray((n,), values.dtype, buffer=shared, offset=at)[:] = values
    conn.send(("shared", [(name, dtype, n, at) for name, dtype, n, at, _ in layout]))


def _get(conn, shared: mmap.mmap) -> dict[str, np.ndarray]:
    """Receive what :func:`_put` sent (copied out of the shared buffer, which the next answer reuses)."""
    how, what = conn.recv()
    if how == "cols":
        return what
    return {name: np.ndarray((n,), np.dtype(dtype), buffer=shared, offset=at).copy() for name, dtype, n, at in what}


def _serve(visitors: WebVisitors, conn, shared: mmap.mmap, interval: float, horizon: float,
           parent_end=None, parent_pid: int | None = None) -> None:
    """The child: answer hand-overs, drawing the next one ahead meanwhile (the first at once)."""
    if parent_end is not None:
        parent_end.close()  # the parent's end: without this copy, the child sees the parent go
    if parent_pid is not None:
        die_with_parent(parent_pid)
    ready: dict[str, np.ndarray] | None = None  # drawn ahead: every click sent before ``upto``
    upto = -np.inf
    try:
        if interval > 0:
            upto = min(interval, horizon)
            ready = visitors.take_until(upto)
        while True:
            request = conn.recv()
            if request is None:  # the run is over: the counts, and goodbye
                conn.send(visitors.counts())
                return
            t = float(request)
            if ready is not None and t <= upto:
                out, ready = _take(ready, int(np.searchsorted(ready["t"], t, side="left")))
            else:
                more = visitors.take_until(t)
                out = more if ready is None else {c: np.concatenate([ready[c], more[c]]) for c in more}
                ready, upto = None, t
            _put(conn, shared, out)
            guess = min(t + interval, horizon)
            if guess > upto:  # draw the next hand-over while the run simulates this one
                more = visitors.take_until(guess)
                ready = more if ready is None else {c: np.concatenate([ready[c], more[c]]) for c in more}
                upto = guess
    except BaseException:  # Ctrl-C, a closed pipe: the run replays on its own copy
        return
    finally:
        conn.close()


class TrafficAside:
    """Stands in for a :class:`WebVisitors` (``take_until``, ``counts``, ``name``); see the module
    docstring. ``interval``: the expected time between hand-overs (the ingestion's flush
    interval, s); ``horizon``: the run's (s)."""

    name = "visitors"

    def __init__(self, visitors: WebVisitors, interval: float, horizon: float, buffer_bytes: int = 1 << 25) -> None:
        import os

        self.local = visitors  # the state at the fork: replayed if the child dies
        self.asked: list[float] = []
        self.handed = 0  # clicks handed over
        ctx = multiprocessing.get_context("fork")
        self._conn, child_end = ctx.Pipe()
        # an answer travels through memory both processes map (pages are touched only as used)
        self._shared = mmap.mmap(-1, buffer_bytes)
        self._child: Any = ctx.Process(target=_serve, name="sim-traffic", daemon=True,
                                       args=(visitors, child_end, self._shared, interval, horizon, self._conn,
                                             os.getpid()))
        try:
            self._child.start()
        finally:
            child_end.close()
        self.pid = self._child.pid  # of the child (it is gone once the run has its counts)
        self._state = "child"  # child: drawn aside; closed: child gone, local not caught up; local
        self._counts: dict | None = None

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        """The clicks sent before ``t_end`` not handed over yet, sorted by ``t`` (as
        :meth:`WebVisitors.take_until`)."""
        cols = None
        self._counts = None  # counts asked before this hand-over are out of date
        if self._state == "child":
            try:
                self._conn.send(float(t_end))
                cols = _get(self._conn, self._shared)
            except (EOFError, OSError):
                self.close()
        if cols is None:
            self._catch_up()
            cols = self.local.take_until(t_end)
        self.asked.append(float(t_end))
        self.handed += len(cols["t"])
        return cols

    def counts(self) -> dict:
        """The visitors' counts (``clicks_sent``: the clicks handed over); ends the child."""
        if self._counts is None and self._state == "child":
            try:
                self._conn.send(None)
                self._counts = {**self._conn.recv(), "clicks_sent": self.handed}
            except (EOFError, OSError):
                pass
            self.close()
        if self._counts is None:
            self._catch_up()
            return {**self.local.counts(), "clicks_sent": self.handed}
        return dict(self._counts)

    def close(self) -> None:
        """End the child and free its pipe and buffer (idempotent)."""
        if self._state == "child":
            self._state = "closed"
            self._conn.close()
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._child.close()
            self._shared.close()

    def _catch_up(self) -> None:
        """Replay the hand-overs so far on the local copy (once), so that it can go on alone."""
        if self._state == "closed":
            self._state = "local"
            for t in self.asked:
                self.local.take_until(t)


BYTES_PER_CLICK = 80  # of a hand-over's columns (67, aligned)
MIN_CLICKS = 2_000  # below this many clicks a hand-over, drawing them costs less than sending them
MIN_HAND_OVERS = 8  # the first hand-over is waited for: with few, little is drawn while the run works


def draw_aside(visitors: Any, interval: float, horizon: float, expected_clicks: float) -> Any:
    """``visitors`` drawn aside (a :class:`TrafficAside`) when it is a :class:`WebVisitors`, this
    process can fork a child, the run has at least ``MIN_HAND_OVERS`` hand-overs (every
    ``interval`` s) and each is expected to hold enough clicks (``expected_clicks`` over the
    ``horizon``) to be worth sending; else ``visitors`` itself."""
    if type(visitors) is not WebVisitors or not can_fork() or not horizon >= MIN_HAND_OVERS * interval > 0:
        return visitors
    per_hand_over = expected_clicks * min(interval, horizon) / horizon
    if not per_hand_over >= MIN_CLICKS:
        return visitors
    buffer_bytes = int(min(max(4 * per_hand_over * BYTES_PER_CLICK, 1 << 25), 1 << 30))
    try:
        return TrafficAside(visitors, interval, horizon, buffer_bytes=buffer_bytes)
    except (OSError, AssertionError):  # no process to spare, or not allowed one
        return visitors
