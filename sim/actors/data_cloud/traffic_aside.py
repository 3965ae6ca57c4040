"""Web traffic and its admission aside: a forked process decides the ingestion's hand-overs ahead.

The traffic does not react to the system (:mod:`sim.actors.data_cloud.visitors`), and neither does
the ingestion's door (:mod:`sim.actors.data_cloud.admission`: numbering, HTTP latency, the token
bucket's 429s and the client's retries depend only on the clicks and the door's random streams). So
both can run while the simulation does. :class:`TrafficAside` forks the built door (with its
:class:`WebVisitors` and the ground-truth tap, their random streams and state at the fork) into a
child that answers each ``admit_until(t)`` of the ingestion API and then, while the run simulates
the micro-batch, decides the next hand-over (the ingestion's next flush, never past the horizon):
the very calls, in the same order, that the run would make itself, hence the very answers.

At the end of the run (:meth:`TrafficAside.finish`) the child sends back the state it reached, which
the run's own door, visitors and tap take on (the run's context and population are referred to, not
copied; the run's named random streams are advanced in place; the retry uniforms the door drew ahead
are given back by rewinding its stream), so their counts, held clicks and ground truth are those of
a run without the child. The child ignores Ctrl-C, which is the run's to handle. A
hand-over asked at another time than the one decided ahead (a custom schedule), a child that dies,
or a run that stops early: the run replays the hand-overs so far on its own copy (forked before
any of them) and goes on without the child, with the same answers, later. Where there is no
``fork`` (or inside a daemon process such as a sweep's worker), :func:`draw_aside` leaves the door
as it is.
"""

from __future__ import annotations

import io
import mmap
import multiprocessing
import os
import pickle
from typing import Any

import numpy as np

from sim.actors.data_cloud.admission import Admission
from sim.actors.data_cloud.visitors import WebVisitors
from sim.core.processes import can_fork, die_with_parent, ignore_interrupts, start_shielded


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


def _get(conn, shared: mmap.mmap) -> dict[str, np.ndarray] | None:
    """Receive what :func:`_put` sent (copied out of the shared buffer, which the next answer reuses);
    None when the child could not answer (asked another time than it drew ahead)."""
    how, what = conn.recv()
    if how == "cols":
        return what
    if how == "off":
        return None
    return {name: np.ndarray((n,), np.dtype(dtype), buffer=shared, offset=at).copy() for name, dtype, n, at in what}


def _stateful(door: Admission) -> list[Any]:
    """The objects whose state the child advances: the door, its click source, its observers."""
    return [door, door.source, *door.observers]


def _refs(door: Admission) -> list[Any]:
    """What the state of :func:`_stateful` points to and the run shares (the objects themselves,
    the observers' list, the run's context and population): sent back as references, not copies."""
    objects = _stateful(door)
    refs = [*objects, door.observers]
    for obj in objects:
        refs += [v for a, v in vars(obj).items() if a in _SHARED_ATTRIBUTES]
    return refs


_SHARED_ATTRIBUTES = ("ctx", "env", "ledger", "pop", "p")  # "p": the settings, the scenario's own


class _RefPickler(pickle.Pickler):
    def __init__(self, file, refs: list[Any]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._ids = {id(obj): k for k, obj in enumerate(refs)}

    def persistent_id(self, obj: Any) -> int | None:
        return self._ids.get(id(obj))


class _RefUnpickler(pickle.Unpickler):
    def __init__(self, file, refs: list[Any]) -> None:
        super().__init__(file)
        self._refs = refs

    def persistent_load(self, pid: Any) -> Any:
        return self._refs[pid]


def _state_bytes(door: Admission, refs: list[Any]) -> bytes:
    """The state of the door, its source and observers (their attributes), pointing to ``refs``."""
    door.shed_draws_ahead()
    out = io.BytesIO()
    _RefPickler(out, refs).dump([vars(obj) for obj in _stateful(door)])
    return out.getvalue()


def _adopt(door: Admission, data: bytes, refs: list[Any]) -> None:
    """Give the door, its source and observers the state :func:`_state_bytes` sent (``refs``: this
    process's objects, listed as the child listed its own)."""
    states = _RefUnpickler(io.BytesIO(data), refs).load()
    for obj, state in zip(_stateful(door), states, strict=True):
        for name, value in state.items():
            mine = getattr(obj, name, None)
            if isinstance(value, np.random.Generator) and isinstance(mine, np.random.Generator):
                mine.bit_generator.state = value.bit_generator.state  # the run's named stream, advanced
            else:
                setattr(obj, name, value)


def next_hand_over(t: float, interval: float, horizon: float) -> float:
    """The ingestion's hand-over after the one at ``t``: its flushes are at ``k * interval``, and
    the last at the horizon (the same arithmetic, so that the guess is the very time asked)."""
    return min((round(t / interval) + 1) * interval, horizon)


def _serve(door: Admission, conn, shared: mmap.mmap, interval: float, horizon: float, refs: list[Any],
           parent_end=None, parent_pid: int | None = None) -> None:
    """The child: answer hand-overs, deciding the next one ahead meanwhile (the first at once)."""
    if parent_end is not None:
        parent_end.close()  # the parent's end: without this copy, the child sees the parent go
    if parent_pid is not None:  # a forked child (tests call this in their own process)
        ignore_interrupts()  # a Ctrl-C is the run's to handle; this child ends with it
        die_with_parent(parent_pid)
    ready: dict[str, np.ndarray] | None = None  # decided ahead: the answer for ``upto``
    upto = -np.inf
    try:
        if interval > 0:
            upto = next_hand_over(0.0, interval, horizon)
            ready = door.admit_until(upto)
        while True:
            request = conn.recv()
            if request is None:  # the run is over: the state reached, and goodbye
                conn.send_bytes(b"" if ready is not None else _state_bytes(door, refs))
                return
            t = float(request)
            if ready is not None and t != upto:  # not the hand-over decided ahead: the run goes on alone
                conn.send(("off", None))
                return
            out = ready if ready is not None else door.admit_until(t)
            ready, upto = None, t
            _put(conn, shared, out)
            guess = next_hand_over(t, interval, horizon) if interval > 0 else t
            if guess > t:  # decide the next hand-over while the run simulates this one
                ready, upto = door.admit_until(guess), guess
    except BaseException:  # Ctrl-C, a closed pipe: the run replays on its own copy
        return
    finally:
        conn.close()


class TrafficAside:
    """Stands in for the ingestion's :class:`Admission` (``admit_until``, ``counts_array``,
    ``held``, ``source``, ``observers``); see the module docstring. ``interval``: the time between
    the ingestion's hand-overs (its flush interval, s); ``horizon``: the run's (s)."""

    def __init__(self, door: Admission, interval: float, horizon: float, buffer_bytes: int = 1 << 25) -> None:
        self.local = door  # the state at the fork: replayed if the child cannot go on; the final one after finish
        self.asked: list[float] = []
        self._refs = _refs(door)
        self._counts = door.counts_array()  # as of the last answer
        ctx = multiprocessing.get_context("fork")
        self._conn, child_end = ctx.Pipe()
        # an answer travels through memory both processes map (pages are touched only as used)
        self._shared = mmap.mmap(-1, buffer_bytes)
        self._child: Any = ctx.Process(target=_serve, name="sim-traffic", daemon=True,
                                       args=(door, child_end, self._shared, interval, horizon, self._refs,
                                             self._conn, os.getpid()))
        try:
            start_shielded(self._child)
        finally:
            child_end.close()
        self.pid = self._child.pid  # of the child (it is gone once the run has its state back)
        self._state = "child"  # child: decided aside; closed: child gone, local not caught up; local

    @property
    def source(self) -> Any:
        return self.local.source

    @property
    def observers(self) -> list:
        return self.local.observers

    def admit_until(self, until: float) -> dict[str, np.ndarray]:
        """The door's answer for the hand-over at ``until`` (as :meth:`Admission.admit_until`)."""
        out = None
        if self._state == "child":
            try:
                self._conn.send(float(until))
                out = _get(self._conn, self._shared)
            except (EOFError, OSError):
                pass
            if out is None:
                self.close()
        if out is None:
            self._catch_up()
            out = self.local.admit_until(until)
        self.asked.append(float(until))
        self._counts = out["counts"]
        return out

    def counts_array(self) -> np.ndarray:
        return self._counts if self._state == "child" else self.local.counts_array()

    def held(self) -> list[np.ndarray]:
        """(Brings the child's state back first.)"""
        self.finish()
        return self.local.held()

    def finish(self) -> None:
        """Bring the state the child reached back into the door, its source and observers, and end
        the child; from now on the door works here (idempotent)."""
        if self._state == "child":
            data = b""
            try:
                self._conn.send(None)
                data = self._conn.recv_bytes()
            except (EOFError, OSError):
                pass
            self.close()
            if data:
                _adopt(self.local, data, self._refs)
                self._state = "local"
        self._catch_up()

    def close(self) -> None:
        """End the child and free its pipe and buffer (idempotent; the state it reached is lost: the
        door replays the hand-overs when asked again)."""
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
                self.local.admit_until(t)


BYTES_PER_CLICK = 160  # of a hand-over's columns: the clicks sent (8) and the records accepted (75), aligned
MIN_CLICKS = 2_000  # below this many clicks a hand-over, deciding them costs less than sending them
MIN_HAND_OVERS = 8  # the first hand-over is waited for: with few, little is decided while the run works


def draw_aside(door: Any, interval: float, horizon: float, expected_clicks: float) -> Any:
    """``door`` run aside (a :class:`TrafficAside`) when it is an :class:`Admission` of the bundled
    :class:`WebVisitors`, this process can fork a child, the run has at least ``MIN_HAND_OVERS``
    hand-overs (every ``interval`` s) and each is expected to hold enough clicks
    (``expected_clicks`` over the ``horizon``) to be worth sending; else ``door`` itself."""
    if type(door) is not Admission or type(door.source) is not WebVisitors or not can_fork() \
            or not horizon >= MIN_HAND_OVERS * interval > 0:
        return door
    per_hand_over = expected_clicks * min(interval, horizon) / horizon
    if not per_hand_over >= MIN_CLICKS:
        return door
    buffer_bytes = int(min(max(4 * per_hand_over * BYTES_PER_CLICK, 1 << 25), 1 << 30))
    try:
        return TrafficAside(door, interval, horizon, buffer_bytes=buffer_bytes)
    except (OSError, AssertionError):  # no process to spare, or not allowed one
        return door
