"""The aggregate ledger mode: a message kind whose finished messages are folded into streaming
aggregates instead of keeping every stage time.

A :class:`FoldingTable` keeps three compact columns for every message — the time of its first
stage (the origin of the cross-kind latencies), its terminal state and its drop reason: 11 bytes a
message — and the other stage times and the end time only for a *live window*: the messages from
the oldest one still in flight to the newest. Messages are folded in blocks of
:data:`BLOCK` consecutive ids, as soon as every message of a block has a terminal state, into:

- per latency key (each consecutive stage pair and first-to-last): a histogram of log-spaced bins
  (:class:`LatencyHistogram`, 1,000 per decade: percentiles within 0.23 %), with the exact count,
  mean and maximum;
- per stage: how many messages passed it by the horizon (throughput);
- per consecutive stage pair: entries and exits on a fixed grid (queue lengths over time);
- per drop reason: count, first and last time, and the last stage reached;
- per column: a SHA-256 over its rows in id order (the digest).

Blocks are fixed by id, not by when they are folded, so the aggregates and the digest are the
same whatever triggers the fold. At the end of the run (:meth:`FoldingTable.finish`) the live
window is folded too, in-flight messages included, as of the horizon. What it gives up: each
message's intermediate stage times (no ``latency()`` array, no warm-up cut on those keys, no
occupancy on another grid), exact percentiles (histogram resolution), and the full ledger's digest
(an aggregate run has a digest of its own, stable across runs and machines).

Pure data: no simpy.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from sim.core.ledger import DROPPED, IN_FLIGHT, KindTable, LedgerError

BLOCK = 1 << 16  # messages folded at once (ids [k·BLOCK, (k+1)·BLOCK))
GRID_POINTS = 400  # the queue-length grid over the horizon (RunResult.queue_series' default)
PER_DECADE = 1000
MAX_LIVE = 8 * BLOCK  # the live window's most messages: beyond, the oldest block folds anyway
LOW_S, HIGH_S = 1e-9, 1e12  # histogram range (s): one bin [0, LOW); above HIGH, one bin (its values
# answered by the exact maximum)


class FoldError(LedgerError):
    """A folded message was written to, or an answer the aggregates cannot give was asked for."""


class LatencyHistogram:
    """Latencies (s) in log-spaced bins, with the exact count, sum, minimum and maximum."""

    EDGES = np.concatenate(([0.0], np.logspace(np.log10(LOW_S), np.log10(HIGH_S),
                                               round(np.log10(HIGH_S / LOW_S)) * PER_DECADE + 1)))

    def __init__(self) -> None:
        self.counts = np.zeros(len(self.EDGES), dtype=np.int64)  # the last bin: >= HIGH_S
        self.n = 0
        self.total = 0.0
        self.lo = np.inf
        self.hi = -np.inf

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        bins = np.searchsorted(self.EDGES, values, side="right") - 1
        np.clip(bins, 0, len(self.EDGES) - 1, out=bins)
        self.counts += np.bincount(bins, minlength=len(self.EDGES))
        self.n += len(values)
        self.total += float(values.sum())
        self.lo = min(self.lo, float(values.min()))
        self.hi = max(self.hi, float(values.max()))

    def _order_stat(self, k: np.ndarray) -> np.ndarray:
        """Approximate values of the 0-based order statistics ``k``: the geometric middle of their
        bin (the arithmetic one for the bin from 0), clipped to the exact minimum and maximum."""
        cum = np.cumsum(self.counts)
        b = np.searchsorted(cum, np.asarray(k) + 1, side="left")
        lo, hi = self.EDGES[b], np.where(b + 1 < len(self.EDGES), self.EDGES[np.minimum(b + 1, len(self.EDGES) - 1)],
                                         self.hi)
        mid = np.where(lo > 0, np.sqrt(lo * np.maximum(hi, lo)), (lo + hi) / 2)
        return np.clip(mid, self.lo, self.hi)

    def percentiles(self, qs) -> list[float]:
        """As ``numpy.percentile`` (linear), each order statistic taken from its bin."""
        ranks = np.array([(q / 100.0) * (self.n - 1) for q in qs])
        k = np.floor(ranks).astype(np.int64)
        below, above = self._order_stat(k), self._order_stat(np.minimum(k + 1, self.n - 1))
        return [float(v) for v in below + (above - below) * (ranks - k)]

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Inverted-CDF quantiles at ``levels`` in (0, 1] (the curve of the latency CDF figure)."""
        k = np.maximum(np.ceil(np.asarray(levels) * self.n).astype(np.int64) - 1, 0)
        return self._order_stat(k)

    def stats(self) -> dict:
        """count, p50, p90, p95, p99, max, mean, as :func:`sim.results.distribution.latency_stats`."""
        if self.n == 0:
            return {"count": 0, "p50": None, "p90": None, "p95": None, "p99": None, "max": None, "mean": None}
        p50, p90, p95, p99 = self.percentiles((50, 90, 95, 99))
        return {"count": self.n, "p50": p50, "p90": p90, "p95": p95, "p99": p99, "max": self.hi,
                "mean": self.total / self.n}


class FoldingTable(KindTable):
    """One message kind of an aggregate ledger (see the module docstring). Same reading surface as
    :class:`sim.core.ledger.KindTable` for the first stage, ``state`` and ``reason``; the other
    columns are answered by the aggregates once :meth:`finish` has run."""

    folding = True

    def __init__(self, kind: str, stages: list[str], horizon: float, capacity: int = 1024,
                 parent_kind: str | None = None) -> None:
        if parent_kind is not None:
            raise LedgerError(f"kind {kind!r}: only a kind without parents can be aggregated")
        if len(set(stages)) != len(stages) or not stages:
            raise FoldError(f"kind {kind!r}: stages must be distinct and non-empty")
        self.kind, self.stages, self.parent_kind, self.parent = kind, list(stages), None, None
        self.stamp = {}  # per-message stage columns: only the first stage's, as ``first``
        self.horizon = float(horizon)
        self.n = 0
        self.base = 0  # the first id of the live window; ids below it are folded
        self.finished = False
        cap = max(int(capacity), 1024)
        self.first = np.full(cap, np.nan)
        self.state = np.zeros(cap, dtype=np.int8)  # as of the horizon once folded
        self.reason = np.full(cap, -1, dtype=np.int16)
        self._live_cap = 2 * BLOCK
        self.live = {s: np.full(self._live_cap, np.nan) for s in self.stages[1:]}
        self.live_end = np.full(self._live_cap, np.nan)
        self.waiting: dict[int, list[float]] = {}  # id -> later stage times, of messages
        # in flight when their block was folded (the window full); folded one by one as they end
        self._closing = False
        self._ended: dict[int, int] = {}  # block -> messages of it with a terminal state
        self.keys = [f"{a}->{b}" for a, b in itertools.pairwise(self.stages)]
        if len(self.stages) > 2:
            self.keys.append(f"{self.stages[0]}->{self.stages[-1]}")
        self.hist = {k: LatencyHistogram() for k in self.keys}
        self.passed = dict.fromkeys(self.stages, 0)
        self.grid = np.linspace(0.0, self.horizon, GRID_POINTS)
        self._enter = {p: np.zeros(GRID_POINTS + 1, dtype=np.int64) for p in itertools.pairwise(self.stages)}
        self._leave = {p: np.zeros(GRID_POINTS + 1, dtype=np.int64) for p in itertools.pairwise(self.stages)}
        self.lost: dict[int, dict] = {}  # reason code -> count, first_s, last_s, last-stage counts
        self._hash = {c: hashlib.sha256() for c in [*self.stages, "state", "reason"]}

    # -- writing -------------------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        cap = len(self.state)
        if need > cap:
            cap = max(need, int(cap * 1.5) + 1024)
            self.first = _grown(self.first, cap, np.nan)
            self.state = _grown(self.state, cap, IN_FLIGHT)
            self.reason = _grown(self.reason, cap, -1)
        live = need - self.base
        if live > self._live_cap:
            cap = max(live, int(self._live_cap * 1.5))
            self.live = {s: _grown(a, cap, np.nan) for s, a in self.live.items()}
            self.live_end = _grown(self.live_end, cap, np.nan)
            self._live_cap = cap

    def append(self, t: np.ndarray, parent=None) -> np.ndarray:
        if parent is not None:
            raise LedgerError(f"kind {self.kind!r} has no parent kind")
        self._writable()
        k, start = len(t), self.n
        self._grow(start + k)
        self.n = start + k
        self.first[start: start + k] = t
        while self.n - self.base > MAX_LIVE:  # a message in flight for long: its block is folded anyway
            self._fold(self.base + BLOCK)
        return np.arange(start, start + k, dtype=np.int64)

    def put(self, stage: str, ids, t) -> None:
        """Messages ``ids`` left ``stage`` at times ``t``."""
        self._writable()
        ids = np.asarray(ids, dtype=np.int64)
        if stage == self.stages[0]:
            self.first[ids] = t
            return
        if stage not in self.live:
            raise FoldError(f"kind {self.kind!r} has no stage {stage!r}; stages: {self.stages}")
        if len(ids) and int(ids.min()) < self.base:
            old = ids < self.base
            times = np.broadcast_to(np.asarray(t, dtype=float), ids.shape)
            column = self.stages.index(stage) - 1
            for i, ti in zip(ids[old].tolist(), times[old].tolist()):
                row = self.waiting.get(i)
                if row is None:
                    raise FoldError(f"{self.kind}: message {i} was already folded (it had ended)")
                row[column] = ti
            ids, t = ids[~old], times[~old]
        self.live[stage][ids - self.base] = t

    def end(self, ids: np.ndarray, t, state: int, reason: int) -> None:
        """Give messages ``ids`` (already checked: known, in flight) their terminal state."""
        self._writable()
        self.state[ids] = state
        self.reason[ids] = reason
        old = ids < self.base
        if old.any():  # messages of a block folded while they were in flight: folded now, one by one
            times = np.broadcast_to(np.asarray(t, dtype=float), ids.shape)
            self._fold_waiting(ids[old], times[old])
            ids, t = ids[~old], times[~old]
        self.live_end[ids - self.base] = t
        blocks, counts = np.unique(ids // BLOCK, return_counts=True)
        for b, c in zip(blocks.tolist(), counts.tolist()):
            self._ended[b] = self._ended.get(b, 0) + c
        while self._ended.get(self.base // BLOCK, 0) == BLOCK:
            self._fold(self.base + BLOCK)

    # one message at a time: the array path (a block may fold on any write)
    def append_one(self, t: float, parent: int | None = None) -> int:
        return int(self.append(np.array([t]), parent)[0])

    def put_one(self, stage: str, i: int, t: float) -> None:
        self.put(stage, np.array([i], dtype=np.int64), t)

    def end_one(self, i: int, t: float, state: int, reason: int) -> None:
        self.end(np.array([i], dtype=np.int64), t, state, reason)

    def finish(self) -> None:
        """Fold the live window and the messages still waiting (in-flight ones included), as of the
        horizon; no more writes."""
        if not self.finished:
            self._closing = True
            self._fold(self.n)
            if self.waiting:
                late = np.array(sorted(self.waiting), dtype=np.int64)
                self._fold_waiting(late, np.full(len(late), np.nan))
            self._ended.clear()
            self.finished = True

    def _fold_waiting(self, ids: np.ndarray, end: np.ndarray) -> None:
        """Fold messages ``ids`` that waited aside, ending at ``end`` (NaN: still in flight)."""
        rows = np.array([self.waiting.pop(i) for i in ids.tolist()]).reshape(len(ids), -1)
        self._aggregate(ids, [self.first[ids].copy(), *(rows[:, c].copy() for c in range(len(self.live)))],
                        np.array(end, dtype=float))

    def _writable(self) -> None:
        if self.finished:
            raise FoldError(f"{self.kind}: the run is over; its aggregates are final")

    # -- folding -------------------------------------------------------------------------------
    def _fold(self, upto: int) -> None:
        """Fold the live rows below ``upto``: those that ended into the aggregates, those still in
        flight (only when the window is full, or at the end) into :attr:`waiting`."""
        lo, m = self.base, upto - self.base
        if m <= 0:
            return
        self._ended.pop(lo // BLOCK, None)
        cols = [self.first[lo:upto].copy(), *(self.live[s][:m].copy() for s in self.stages[1:])]
        end = self.live_end[:m].copy()
        flying = self.state[lo:upto] == IN_FLIGHT
        if flying.any() and not self._closing:  # at the end, in-flight rows are folded too
            for k in np.flatnonzero(flying).tolist():
                self.waiting[lo + k] = [c[k] for c in cols[1:]]
            keep = ~flying
            self._aggregate(np.arange(lo, upto)[keep], [c[keep] for c in cols], end[keep])
        else:
            self._aggregate(np.arange(lo, upto), cols, end)
        rest = self.n - upto  # the live window moves on
        for s in self.live:
            self.live[s][:rest] = self.live[s][m: m + rest]
            self.live[s][rest:] = np.nan
        self.live_end[:rest] = self.live_end[m: m + rest]
        self.live_end[rest:] = np.nan
        self.base = upto

    def _aggregate(self, ids: np.ndarray, cols: list[np.ndarray], end: np.ndarray) -> None:
        """Add rows ``ids`` (their stage columns ``cols`` and end times, copies) to the aggregates."""
        h = self.horizon
        for c in cols:
            c[c > h] = np.nan  # a stamp after the horizon: not reached
        state = self.state[ids]
        state[end > h] = IN_FLIGHT  # ended after the horizon: in flight as of it
        self.state[ids] = state
        for s, c in zip(self.stages, cols):
            self.passed[s] += int(np.count_nonzero(np.isfinite(c)))
            self._hash[s].update(np.round(c, 9).tobytes())
        self._hash["state"].update(state.tobytes())
        self._hash["reason"].update(self.reason[ids].tobytes())
        pairs = list(itertools.pairwise(range(len(self.stages))))
        if len(self.stages) > 2:
            pairs.append((0, len(self.stages) - 1))
        for key, (i, j) in zip(self.keys, pairs):
            a, b = cols[i], cols[j]
            both = np.isfinite(a) & np.isfinite(b)
            self.hist[key].add(b[both] - a[both])
        edges = np.concatenate((self.grid, [np.inf]))
        ended = np.where(np.isfinite(end) & (end <= h), end, np.inf)
        for i, pair in enumerate(itertools.pairwise(self.stages)):
            a, b = cols[i], cols[i + 1]
            entered = np.isfinite(a)
            leave = np.where(np.isfinite(b), b, ended)[entered]
            self._enter[pair] += np.bincount(np.searchsorted(edges, a[entered], side="left"), minlength=len(edges))
            self._leave[pair] += np.bincount(np.searchsorted(edges, leave, side="left"), minlength=len(edges))
        dropped = np.flatnonzero(state == DROPPED)
        if len(dropped):
            reached = np.full(len(dropped), -1)
            for i, c in enumerate(cols):
                reached[np.isfinite(c[dropped])] = i
            codes = self.reason[ids][dropped]
            for code in np.unique(codes).tolist():
                sel = codes == code
                when = end[dropped[sel]]
                row = self.lost.setdefault(code, {"count": 0, "first_s": np.inf, "last_s": -np.inf,
                                                  "reached": np.zeros(len(self.stages) + 1, dtype=np.int64)})
                row["count"] += int(sel.sum())
                row["first_s"] = min(row["first_s"], float(when.min()))
                row["last_s"] = max(row["last_s"], float(when.max()))
                row["reached"] += np.bincount(reached[sel] + 1, minlength=len(self.stages) + 1)

    # -- reading -------------------------------------------------------------------------------
    @property
    def end_t(self) -> np.ndarray:  # type: ignore[override]
        raise FoldError(f"the end times of {self.kind!r} messages are aggregated (aggregate ledger)")

    def view(self, column: str) -> np.ndarray:
        if column == self.stages[0]:
            return self.first[: self.n]
        raise FoldError(f"the stage times of {self.kind!r} messages are aggregated (aggregate ledger): "
                        f"only {self.stages[0]!r} is kept per message")

    def _own_horizon(self, horizon: float, what: str) -> None:
        if horizon != self.horizon:
            raise FoldError(f"an aggregate ledger{what} as of its run's horizon ({self.horizon:g} s), "
                            f"not {horizon:g} s")

    def states_at(self, horizon: float) -> np.ndarray:
        self._own_horizon(horizon, " answers")
        state = self.state[: self.n].copy()
        live = state[self.base:]
        live[self.live_end[: self.n - self.base] > horizon] = IN_FLIGHT
        return state

    def stamp_at(self, stage: str, message_id: int) -> float:
        """One message's time at ``stage`` (NaN: not reached, or folded)."""
        if stage == self.stages[0]:
            return float(self.first[message_id])
        if message_id < self.base:
            row = self.waiting.get(message_id)
            return float("nan") if row is None else float(row[self.stages.index(stage) - 1])
        return float(self.live[stage][message_id - self.base])

    def occupancy(self, a: str, b: str) -> np.ndarray:
        """Messages between ``a`` and ``b`` at each point of :attr:`grid` (after :meth:`finish`)."""
        self._final()
        pair = (a, b)
        return np.cumsum(self._enter[pair])[:GRID_POINTS] - np.cumsum(self._leave[pair])[:GRID_POINTS]

    def lost_rows(self, reasons: list[str]) -> list[dict]:
        self._final()
        rows = []
        for code in sorted(self.lost):
            row = self.lost[code]
            last = int(np.argmax(row["reached"])) - 1
            rows.append({"kind": self.kind, "reason": reasons[code], "count": row["count"],
                         "first_s": row["first_s"], "last_s": row["last_s"],
                         "last_stage": self.stages[last] if last >= 0 else "-"})
        return rows

    def digest_bytes(self) -> bytes:
        """The per-column digests in column order (after :meth:`finish`)."""
        self._final()
        return b"".join(self._hash[c].digest() for c in [*self.stages, "state", "reason"])

    def digest_into(self, h, horizon: float) -> None:
        """Feed the aggregate's digest to the hash ``h`` (only as of its own horizon)."""
        self._own_horizon(horizon, "'s digest is")
        h.update(self.digest_bytes())

    def _final(self) -> None:
        if not self.finished:
            raise FoldError(f"{self.kind}: the aggregates are read once the run is over")

    def memory_bytes(self) -> int:
        """Bytes held: the compact columns, the live window and the messages waiting (about)."""
        return int(self.first.nbytes + self.state.nbytes + self.reason.nbytes + self.live_end.nbytes
                   + sum(a.nbytes for a in self.live.values()) + len(self.waiting) * (100 + 8 * len(self.stages)))


def _grown(a: np.ndarray, cap: int, fill) -> np.ndarray:
    b = np.full(cap, fill, dtype=a.dtype)
    b[: min(len(a), cap)] = a[:cap]
    return b
