"""The ledger: where every message's life is written down.

Every unit of work in the twin (a click, a platform event, a webhook call) is a *message* of some
*kind*. The ledger keeps one columnar table per kind: message ids are row numbers; each *stage*
the kind passes through is a float column holding the time (seconds) the message left that stage
(NaN while not reached); and a terminal state says how the message ended: ``delivered`` (reached
the end of its path), ``dropped`` with a reason, or neither (still in flight).

Actors may compute a message's stamps ahead of the simulation clock (a batch travels with the
times at which each of its messages becomes available). The ledger therefore answers every
question *as of* a horizon: a stamp later than the horizon counts as not reached, and a terminal
state dated after it counts as in flight.

Conservation is checked against the actors, not against the ledger itself: the ids the ledger says
are in flight at the horizon must be exactly the ids the actors say they hold. An actor that loses
part of a batch without writing it down breaks the check, and :func:`check_conservation` names the
lost messages and the last stage each one reached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.core.prefill import Prefill

Ids = np.ndarray | Sequence[int]  # message ids: an int64 array, or a list of ints
Times = np.ndarray | Sequence[float] | float  # one time per id, or one for all
IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2


def reserve_for(expected: float) -> int:
    """Rows to reserve for ``expected`` messages (an estimate; 2 % and 1,024 rows of room, 1,024
    when the estimate is not finite)."""
    return max(1024, int(expected * 1.02) + 1024) if np.isfinite(expected) else 1024


class LedgerError(RuntimeError):
    """A message was given a second terminal state, or an unknown kind/stage was used."""


class ConservationError(RuntimeError):
    """Messages were created but neither delivered, dropped, nor held by any actor."""

    def __init__(self, message: str, report: Conservation) -> None:
        super().__init__(message)
        self.report = report


class KindTable:
    """Columnar records of one message kind. Grows by doubling; ids are row numbers."""

    folding = False  # see sim.core.folding.FoldingTable, the aggregate mode's table
    _prefill: Prefill | None = None  # fills a grown table's new rows (sim.core.prefill)

    def __init__(self, kind: str, stages: list[str], capacity: int = 1024, parent_kind: str | None = None) -> None:
        if len(set(stages)) != len(stages) or not stages:
            raise LedgerError(f"kind {kind!r}: stages must be distinct and non-empty")
        self.kind = kind
        self.parent_kind = parent_kind  # the kind a message's ``parent`` id refers to
        self.stages = list(stages)
        self.n = 0
        # the reservation is allocated when the first 1,024 rows are full, not now: a run that forks
        # before simulating (sim.runs.runner.execute's aside) then writes pages of its own, not
        # copies of pages shared with the child
        self._reserved = capacity
        self._cap = capacity = min(capacity, 1024)
        self.stamp = {s: np.full(capacity, np.nan) for s in stages}
        self.state = np.zeros(capacity, dtype=np.int8)
        self.reason = np.full(capacity, -1, dtype=np.int16)
        self.end_t = np.full(capacity, np.nan)
        # a kind without a parent kind (the root of its messages) keeps no parent column
        self.parent = np.full(capacity, -1, dtype=np.int64) if parent_kind is not None else None
        self._filled = capacity  # rows below this hold their fill values

    def _grow(self, need: int) -> None:
        cap = max(self._cap, self._reserved) if need > self._cap else self._cap
        while cap < need:
            cap = int(cap * 1.5) + 1024  # not doubling: a 10M-row table overshoots by at most half
        if cap == self._cap:
            return

        if self._prefill is not None:
            self._prefill.join()  # the rows to copy are all written
        n = self.n
        to_fill: list[tuple[np.ndarray, float | int]] = []

        def grown(a: np.ndarray, fill: float | int) -> np.ndarray:
            # the rows past n get their fill value from Prefill, on a second thread for a large
            # tail (state's fill, IN_FLIGHT, is zero: calloc's fresh pages already hold it)
            b = np.zeros(cap, dtype=a.dtype) if fill == 0 else np.empty(cap, dtype=a.dtype)
            b[:n] = a[:n]
            if fill != 0:
                to_fill.append((b, fill))
            return b

        self.stamp = {s: grown(a, np.nan) for s, a in self.stamp.items()}
        self.state = grown(self.state, IN_FLIGHT)
        self.reason = grown(self.reason, -1)
        self.end_t = grown(self.end_t, np.nan)
        if self.parent is not None:
            self.parent = grown(self.parent, -1)
        self._cap = cap
        self._prefill = Prefill(to_fill, n, cap)
        self._filled = n  # rows known filled; the rest are asked of the prefill as they are reached

    def _ready(self, rows: int) -> None:
        """Rows below ``rows`` hold their fill values (waits for the prefill thread if need be)."""
        assert self._prefill is not None
        self._prefill.ensure(rows)
        self._filled = min(max(self._prefill.filled, rows), self._cap)

    def complete(self) -> None:
        """Every reserved row holds its fill value (no thread left writing this table's columns)."""
        if self._prefill is not None:
            self._prefill.join()
            self._filled = self._cap

    def __getstate__(self) -> dict:
        self.complete()
        state = self.__dict__.copy()
        state["_prefill"] = None  # a thread and its lock do not travel
        return state

    def view(self, column: str) -> np.ndarray:
        """The live part of a stage column (a view, not a copy)."""
        return self.stamp[column][: self.n]

    # -- what the ledger asks of a table (an aggregate table answers the same questions) -----
    def append(self, t: np.ndarray, parent: np.ndarray | int | None = None) -> np.ndarray:
        """New messages at times ``t`` (their first stage); returns their ids."""
        if parent is not None and self.parent is None:
            raise LedgerError(f"kind {self.kind!r} has no parent kind")
        k = len(t)
        start = self.n
        self._grow(start + k)
        if start + k > self._filled:
            self._ready(start + k)
        self.n = start + k
        self.stamp[self.stages[0]][start : start + k] = t
        if parent is not None:
            assert self.parent is not None
            self.parent[start : start + k] = parent
        return np.arange(start, start + k, dtype=np.int64)

    def put(self, stage: str, ids: Ids, t: Times) -> None:
        """Messages ``ids`` left ``stage`` at times ``t``."""
        try:
            column = self.stamp[stage]
        except KeyError:
            raise LedgerError(f"kind {self.kind!r} has no stage {stage!r}; stages: {self.stages}") from None
        column[ids] = t

    def end(self, ids: np.ndarray, t: Times, state: int, reason: int) -> None:
        """Give messages ``ids`` (already checked: known, in flight) their terminal state."""
        self.state[ids] = state
        self.reason[ids] = reason
        self.end_t[ids] = t

    # the scalar path: one message at a time, the same rows as the array path without its small
    # arrays (a firing's downstream messages are written one by one, some fifty writes each)
    def append_one(self, t: float, parent: int | None = None) -> int:
        """One new message at time ``t``; returns its id (see :meth:`append`)."""
        if parent is not None and self.parent is None:
            raise LedgerError(f"kind {self.kind!r} has no parent kind")
        i = self.n
        if i >= self._cap:
            self._grow(i + 1)
        if i >= self._filled:
            self._ready(i + 1)
        self.n = i + 1
        self.stamp[self.stages[0]][i] = t
        if parent is not None:
            assert self.parent is not None
            self.parent[i] = parent
        return i

    def put_one(self, stage: str, i: int, t: float) -> None:
        """Message ``i`` left ``stage`` at time ``t`` (see :meth:`put`)."""
        try:
            self.stamp[stage][i] = t
        except KeyError:
            raise LedgerError(f"kind {self.kind!r} has no stage {stage!r}; stages: {self.stages}") from None

    def end_one(self, i: int, t: float, state: int, reason: int) -> None:
        """Give message ``i`` (already checked) its terminal state (see :meth:`end`)."""
        self.state[i] = state
        self.reason[i] = reason
        self.end_t[i] = t

    def finish(self) -> None:
        """The run is over: no thread is left filling the columns (a fork may follow)."""
        self.complete()

    def states_at(self, horizon: float) -> np.ndarray:
        """Terminal state of each message as of ``horizon`` (later terminations are in flight)."""
        state = self.state[: self.n].copy()
        state[self.end_t[: self.n] > horizon] = IN_FLIGHT
        return state

    def stamp_at(self, stage: str, message_id: int) -> float:
        """One message's time at ``stage`` (NaN: not reached)."""
        return float(self.stamp[stage][message_id])

    def digest_into(self, h, horizon: float) -> None:
        """Feed the table as of ``horizon`` to the hash ``h``: stage times rounded to the
        nanosecond (later ones as NaN), states (later terminations in flight), reasons."""
        step = 1 << 20  # in slices of a million rows: the same bytes, without whole-column copies
        part = np.empty(min(step, self.n))
        for stage in self.stages:
            column = self.view(stage)
            for lo in range(0, self.n, step):
                chunk = part[: min(step, self.n - lo)]
                np.copyto(chunk, column[lo: lo + step])
                chunk[chunk > horizon] = np.nan
                h.update(np.round(chunk, 9, out=chunk))  # the array's bytes, not a copy of them
        state, end = self.state[: self.n], self.end_t[: self.n]
        for lo in range(0, self.n, step):
            states = state[lo: lo + step].copy()
            states[end[lo: lo + step] > horizon] = IN_FLIGHT
            h.update(states)
        h.update(np.ascontiguousarray(self.reason[: self.n]))


@dataclass
class Conservation:
    """Terminal states of all messages as of the horizon, and whether they balance."""

    created: int
    delivered: int
    dropped: dict[str, int]
    in_flight: int
    held: int
    ok: bool
    by_kind: dict[str, dict] = field(default_factory=dict)
    lost: dict[str, list[int]] = field(default_factory=dict)
    phantom: dict[str, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "created": self.created,
            "delivered": self.delivered,
            "dropped": dict(sorted(self.dropped.items())),
            "in_flight": self.in_flight,
            "ok": self.ok,
        }


class Ledger:
    """All message kinds of one run. See the module docstring."""

    def __init__(self) -> None:
        self.tables: dict[str, KindTable] = {}
        self.reasons: list[str] = []
        self._reason_code: dict[str, int] = {}

    # -- declaration -------------------------------------------------------------------------
    def register(self, kind: str, stages: list[str], parent_kind: str | None = None,
                 expected: float = 0) -> KindTable:
        """Declare a kind and its stages in path order; the first stage is its creation.
        ``parent_kind`` is the kind of the messages its ``parent`` ids point to; ``expected``
        messages (an estimate) are reserved at once, so a large table is not grown by copies."""
        return self.adopt(KindTable(kind, stages, capacity=reserve_for(expected), parent_kind=parent_kind))

    def adopt(self, table: KindTable) -> KindTable:
        """Declare a kind with an empty table made elsewhere (an aggregate ledger's
        :class:`sim.core.folding.FoldingTable`); drop reasons are the ledger's, so the table must
        not hold messages yet."""
        if table.kind in self.tables:
            raise LedgerError(f"kind {table.kind!r} registered twice")
        if table.n:
            raise LedgerError(f"kind {table.kind!r}: a table is adopted empty (it holds {table.n} messages)")
        self.tables[table.kind] = table
        return table

    def finish(self) -> None:
        """The run is over: aggregate kinds fold their last messages (no-op for the others)."""
        for table in self.tables.values():
            table.finish()

    def table(self, kind: str) -> KindTable:
        try:
            return self.tables[kind]
        except KeyError:
            raise LedgerError(f"unknown message kind {kind!r}") from None

    def reason_code(self, reason: str) -> int:
        code = self._reason_code.get(reason)
        if code is None:
            code = len(self.reasons)
            self.reasons.append(reason)
            self._reason_code[reason] = code
        return code

    # -- writing ---------------------------------------------------------------------------
    def create(self, kind: str, t: np.ndarray | float, parent: np.ndarray | int | None = None) -> np.ndarray:
        """Create ``len(t)`` messages at times ``t`` (stamped on the kind's first stage)."""
        return self.table(kind).append(np.atleast_1d(np.asarray(t, dtype=float)), parent)

    def stamp(self, kind: str, stage: str, ids: Ids, t: Times) -> None:
        """Record that messages ``ids`` left ``stage`` at times ``t``."""
        self.table(kind).put(stage, ids, t)

    def _terminate(self, kind: str, message_ids: Ids, t: Times, state: int, reason: int) -> None:
        table = self.table(kind)
        ids = np.asarray(message_ids, dtype=np.int64)
        if len(ids) == 0:
            return
        if ids.max() >= table.n or ids.min() < 0:
            raise LedgerError(f"{kind}: unknown message id")
        already = table.state[ids] != IN_FLIGHT
        if already.any():
            bad = ids[already][:5].tolist()
            raise LedgerError(f"{kind}: messages {bad} already have a terminal state")
        table.end(ids, t, state, reason)

    def create_one(self, kind: str, t: float, parent: int | None = None) -> int:
        """Create one message at time ``t``; returns its id (:meth:`create` for one message)."""
        return self.table(kind).append_one(float(t), None if parent is None else int(parent))

    def stamp_one(self, kind: str, stage: str, i: int, t: float) -> None:
        """Message ``i`` left ``stage`` at time ``t`` (:meth:`stamp` for one message)."""
        self.table(kind).put_one(stage, int(i), float(t))

    def _terminate_one(self, kind: str, i: int, t: float, state: int, reason: int) -> None:
        table = self.table(kind)
        i = int(i)
        if not 0 <= i < table.n:
            raise LedgerError(f"{kind}: unknown message id")
        if table.state[i] != IN_FLIGHT:
            raise LedgerError(f"{kind}: messages {[i]} already have a terminal state")
        table.end_one(i, float(t), state, reason)

    def deliver_one(self, kind: str, i: int, t: float) -> None:
        """Message ``i`` reached the end of its path at time ``t`` (:meth:`deliver` for one)."""
        self._terminate_one(kind, i, t, DELIVERED, -1)

    def drop_one(self, kind: str, i: int, reason: str, t: float) -> None:
        """Message ``i`` was dropped at time ``t`` for ``reason`` (:meth:`drop` for one)."""
        self._terminate_one(kind, i, t, DROPPED, self.reason_code(reason))

    def deliver(self, kind: str, ids: Ids, t: Times) -> None:
        """Messages ``ids`` reached the end of their path at times ``t``."""
        self._terminate(kind, ids, t, DELIVERED, -1)

    def drop(self, kind: str, ids: Ids, reason: str, t: Times) -> None:
        """Messages ``ids`` were dropped at times ``t`` for ``reason`` (e.g. ``allocation``)."""
        self._terminate(kind, ids, t, DROPPED, self.reason_code(reason))

    # -- reading ---------------------------------------------------------------------------
    def states_at(self, kind: str, horizon: float) -> np.ndarray:
        """Terminal state of each message as of ``horizon`` (later terminations are in flight)."""
        return self.table(kind).states_at(horizon)

    def stage_times(self, kind: str, stage: str, horizon: float | None = None) -> np.ndarray:
        """A copy of a stage column with stamps later than ``horizon`` set to NaN."""
        col = self.table(kind).view(stage).copy()
        if horizon is not None:
            col[col > horizon] = np.nan
        return col

    def dropped_by_reason(self, kind: str, horizon: float) -> dict[str, int]:
        table = self.table(kind)
        state = self.states_at(kind, horizon)
        codes = table.reason[: table.n][state == DROPPED]
        counts = np.bincount(codes, minlength=len(self.reasons)) if len(codes) else np.zeros(0, dtype=np.int64)
        return {self.reasons[i]: int(c) for i, c in enumerate(counts) if c}

    def last_stage(self, kind: str, message_id: int, horizon: float) -> str:
        """The furthest stage a message reached by ``horizon``."""
        table = self.table(kind)
        reached = table.stages[0]
        for stage in table.stages:
            t = table.stamp_at(stage, message_id)
            if not np.isnan(t) and t <= horizon:
                reached = stage
        return reached

    def digest(self, horizon: float) -> str:
        """A SHA-256 over every table as of ``horizon``: equal digests mean identical runs."""
        h = hashlib.sha256()
        for kind in sorted(self.tables):
            h.update(kind.encode())
            self.tables[kind].digest_into(h, horizon)
        return h.hexdigest()


def check_conservation(ledger: Ledger, held: dict[str, list[np.ndarray]], horizon: float) -> Conservation:
    """Compare the ledger's in-flight messages with what the actors hold at ``horizon``.

    ``held`` maps a kind to the id arrays each actor reports holding. The run balances when every
    created message is delivered, dropped, or held by exactly one actor, and no actor holds a
    message the ledger says has ended.
    """
    created = delivered = in_flight = held_total = 0
    dropped: dict[str, int] = {}
    by_kind: dict[str, dict] = {}
    lost: dict[str, list[int]] = {}
    phantom: dict[str, list[int]] = {}
    ok = True
    for kind, table in ledger.tables.items():
        state = ledger.states_at(kind, horizon)
        n = table.n
        k_delivered = int((state == DELIVERED).sum())
        k_dropped = ledger.dropped_by_reason(kind, horizon)
        flying = np.flatnonzero(state == IN_FLIGHT)
        parts = [np.asarray(a, dtype=np.int64) for a in held.get(kind, [])]
        holding = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        unique_holding = np.unique(holding)
        k_ok = len(unique_holding) == len(holding)  # nobody holds a message twice
        missing = np.setdiff1d(flying, unique_holding, assume_unique=True)
        extra = np.setdiff1d(unique_holding, flying, assume_unique=True)
        if len(missing) or len(extra):
            k_ok = False
        if len(missing):
            lost[kind] = missing[:20].tolist()
        if len(extra):
            phantom[kind] = extra[:20].tolist()
        k_ok = k_ok and (n == k_delivered + sum(k_dropped.values()) + len(flying))
        ok = ok and k_ok
        created += n
        delivered += k_delivered
        in_flight += len(flying)
        held_total += len(holding)
        for reason, count in k_dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
        by_kind[kind] = {
            "created": n,
            "delivered": k_delivered,
            "dropped": dict(sorted(k_dropped.items())),
            "in_flight": len(flying),
            "ok": k_ok,
        }
    return Conservation(created, delivered, dropped, in_flight, held_total, ok, by_kind, lost, phantom)


def describe_loss(ledger: Ledger, report: Conservation, horizon: float) -> str:
    """A readable account of a failed conservation check."""
    lines = ["conservation violated: created != delivered + dropped + in flight (held by actors)"]
    for kind, ids in report.lost.items():
        where = [f"{i}@{ledger.last_stage(kind, i, horizon)}" for i in ids[:10]]
        lines.append(f"  {kind}: {report.by_kind[kind]['in_flight']} in flight per ledger; "
                     f"not held by any actor: {', '.join(where)}")
    for kind, ids in report.phantom.items():
        lines.append(f"  {kind}: held by an actor but already ended or never created: {ids[:10]}")
    return "\n".join(lines)
