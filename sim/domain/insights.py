"""Streaming Insights: "measure of the matching events within T >= threshold" per group (profile).

The measure is ``count`` (matching events), ``sum`` of a numeric field, or ``distinct`` (number of
distinct values of a field). Semantics (the tests pin every one of them; "count" below stands for
the measure):

* Events are processed in arrival order; each has an event time ``t`` (seconds) and a group.
* **Watermark.** Before an event is processed, ``W = (largest event time processed so far) -
  allowed_lateness``. An event with ``t < W`` is *late*: it is not counted and the caller is told.
  Every valid event advances the watermark, matching or not.
* **Tumbling** windows are epoch-aligned and half-open, ``[k*window, (k+1)*window)``. Per group and
  bucket the count accumulates accepted matching events; the insight fires *once* per group and
  bucket, at the first accepted event that makes ``count >= threshold``; ``fired_at`` is that
  event's time and ``window_start`` is ``k*window``.
* **Sliding**: when a matching event with time ``t`` is accepted, the count is taken over the
  accepted matching events of its group with time in ``(t - window, t]``, whatever order they
  arrived in. It fires with ``fired_at = t`` (``window_start = t - window``) when ``count >=
  threshold`` and the group has no earlier firing ``f`` with ``|t - f| < cooldown``.
* Non-matching events never change a count. Ties and equal times follow arrival order.
* **Merges.** When identity resolution joins two profiles, the absorbed profile's window state
  (events and firings) is combined into the survivor's; the next matching event sees both.
* **Sums** are exact (``math.fsum``), so they do not depend on the order events arrived in.

State is kept only while it can still matter: an event time ``x <= W - window`` can never be
counted again, nor a firing ``f <= W - cooldown`` block one, so such state is evicted and memory is
bounded by the live windows.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.core.sorted_lists import merge_by_time

SLIDING, TUMBLING = "sliding", "tumbling"
COUNT, SUM, DISTINCT = "count", "sum", "distinct"


@dataclass(frozen=True)
class Insight:
    """Definition of an insight's window rule (times in seconds). ``measure`` is ``count``,
    ``sum`` or ``distinct``; the last two read one value per event (``process(values=...)``)."""

    name: str = "pricing_hot"
    threshold: float = 3
    window_s: float = 600.0
    window_type: str = SLIDING
    cooldown_s: float = 600.0
    allowed_lateness_s: float = 0.0
    measure: str = COUNT
    # tumbling: buckets start where event time + phase_s is a multiple of window_s; a run whose
    # t = 0 is at epoch E passes E mod window_s, so buckets sit on the wall clock (epoch-aligned)
    phase_s: float = 0.0

    def __post_init__(self) -> None:
        if self.window_type not in (SLIDING, TUMBLING):
            raise ValueError(f"window_type must be {SLIDING!r} or {TUMBLING!r}")
        if self.measure not in (COUNT, SUM, DISTINCT):
            raise ValueError(f"measure must be {COUNT!r}, {SUM!r} or {DISTINCT!r}")
        if self.window_s <= 0 or self.cooldown_s < 0 or self.allowed_lateness_s < 0:
            raise ValueError("window_s > 0, cooldown_s >= 0, allowed_lateness_s >= 0")
        if self.measure != SUM and self.threshold < 1:
            raise ValueError("a count or distinct threshold is >= 1")


CountInsight = Insight  # the count-only name of earlier versions


@dataclass(frozen=True)
class Firing:
    """One firing: ``index`` is the position of the firing event in the processed batch."""

    index: int
    group: int
    fired_at: float
    window_start: float
    measure: float


class InsightEngine:
    """Evaluates one :class:`Insight` over a stream of batches; see the module docstring."""

    SWEEP_EVERY = 50_000  # events between two global evictions of dead groups

    def __init__(self, definition: CountInsight) -> None:
        self.d = definition
        self.max_t = -np.inf
        self._times: dict[int, list[float]] = {}  # sliding: sorted accepted matching times
        self._vals: dict[int, list] = {}  # sliding, sum/distinct: the values, parallel to _times
        self._valued = definition.measure != COUNT
        self._fired: dict[int, list[float]] = {}  # sliding: sorted firing times
        self._live = 0  # sliding: entries in _times and _fired (state_size without a walk)
        self._buckets: dict[int, dict[int, list]] = {}  # tumbling: group -> bucket -> [count, fired]
        self.events = 0
        self.late = 0
        self.firings = 0
        self._since_sweep = 0

    @property
    def watermark(self) -> float:
        return self.max_t - self.d.allowed_lateness_s

    def state_size(self) -> int:
        """Live window entries held (event times, firing times, buckets)."""
        if self.d.window_type == SLIDING:
            return self._live
        return sum(map(len, self._buckets.values()))

    def process(self, t: np.ndarray, group: np.ndarray, matching: np.ndarray,
                merges: Sequence[tuple[int, int, int]] = (), values: np.ndarray | None = None
                ) -> tuple[np.ndarray, list[Firing]]:
        """Process a batch in arrival order.

        ``merges`` holds ``(position, absorbed, survivor)``: the merge is applied just before the
        event at ``position``. ``values`` (sum: numbers, distinct: any hashable) is required for
        those measures. Returns the late mask and the firings in firing order.
        """
        if self._valued and values is None:
            raise ValueError(f"measure {self.d.measure!r} needs one value per event")
        n = len(t)
        t = np.asarray(t, dtype=float)
        late = np.zeros(n, dtype=bool)
        firings: list[Firing] = []
        if n == 0 and not merges:
            return late, firings
        prior = np.empty(n)
        if n:
            prior[0] = self.max_t
            if n > 1:
                np.maximum.accumulate(t[:-1], out=prior[1:])
                np.maximum(prior[1:], self.max_t, out=prior[1:])
            late = t < prior - self.d.allowed_lateness_s
            self.max_t = max(self.max_t, float(t.max()))
            self.events += n
            self.late += int(late.sum())
        chosen = np.flatnonzero(np.asarray(matching, dtype=bool) & ~late)
        candidates = chosen.tolist()
        todo = sorted(merges)
        m = 0
        # only the matching events' fields become Python values (a small share of a batch)
        t_list = t[chosen].tolist()
        g_list = np.asarray(group)[chosen].tolist()
        w_list = (prior[chosen] - self.d.allowed_lateness_s).tolist()  # the watermark as each event came
        on_event = self._sliding if self.d.window_type == SLIDING else self._tumbling
        v_list = np.asarray(values)[chosen].tolist() if self._valued else None
        for j, i in enumerate(candidates):
            while m < len(todo) and todo[m][0] <= i:
                self.merge(todo[m][1], todo[m][2])
                m += 1
            fired = on_event(t_list[j], g_list[j], w_list[j], v_list[j] if v_list is not None else None)
            if fired is not None:
                firings.append(Firing(i, g_list[j], t_list[j], fired[0], fired[1]))
        for _, absorbed, survivor in todo[m:]:
            self.merge(absorbed, survivor)
        self.firings += len(firings)
        self._since_sweep += n
        if self._since_sweep >= self.SWEEP_EVERY:
            self.evict()
        return late, firings

    # -- window rules ----------------------------------------------------------------------
    def _sliding(self, t: float, g, watermark: float, value=None) -> tuple[float, float] | None:
        d = self.d
        window = d.window_s
        times = self._times.get(g)
        if times is None:
            times = self._times[g] = []
            if self._valued:
                self._vals[g] = []
        vals = self._vals[g] if self._valued else None
        if not times or t >= times[-1]:
            times.append(t)
            if vals is not None:
                vals.append(value)
        else:
            k = bisect.bisect_right(times, t)
            times.insert(k, t)
            if vals is not None:
                vals.insert(k, value)
        self._live += 1
        if times[0] <= watermark - window:  # the oldest times can no longer count
            dead = bisect.bisect_right(times, watermark - window)
            del times[:dead]
            if vals is not None:
                del vals[:dead]
            self._live -= dead
        hi = len(times) if times[-1] == t else bisect.bisect_right(times, t)
        lo = 0 if times[0] > t - window else bisect.bisect_right(times, t - window, 0, hi)
        measure = hi - lo if vals is None else self._measure(vals, lo, hi)
        if measure < d.threshold:
            return None
        fired = self._fired.get(g)
        if fired:
            k = bisect.bisect_left(fired, t)
            if (k < len(fired) and fired[k] - t < d.cooldown_s) or (k > 0 and t - fired[k - 1] < d.cooldown_s):
                return None
            fired.insert(k, t)
        else:
            self._fired[g] = [t]
        self._live += 1
        return t - window, measure

    def _measure(self, vals: list | None, lo: int, hi: int) -> float:
        if vals is None:
            return hi - lo
        if self.d.measure == SUM:
            return math.fsum(vals[lo:hi])
        return len(set(vals[lo:hi]))

    def _tumbling(self, t: float, g, watermark: float, value=None) -> tuple[float, float] | None:
        d = self.d
        k = int((t + d.phase_s) // d.window_s)  # epoch-aligned bucket [k·w, (k+1)·w) on the clock
        buckets = self._buckets.get(g)
        if buckets is None:
            buckets = self._buckets[g] = {}
        cell = buckets.get(k)
        if cell is None:
            cell = buckets[k] = [0, False] if not self._valued else [[], False]
        if self._valued:
            cell[0].append(value)
            measure = math.fsum(cell[0]) if d.measure == SUM else len(set(cell[0]))
        else:
            cell[0] += 1
            measure = cell[0]
        if not cell[1] and measure >= d.threshold:
            cell[1] = True
            return k * d.window_s - d.phase_s, measure
        return None

    # -- state management ------------------------------------------------------------------
    def merge(self, absorbed: int, survivor: int) -> None:
        """Combine ``absorbed``'s window state into ``survivor``'s."""
        if absorbed == survivor:
            return
        if self.d.window_type == SLIDING:
            moved = self._fired.pop(absorbed, None)
            if moved:
                self._fired[survivor] = sorted(self._fired.get(survivor, []) + moved)
            times = self._times.pop(absorbed, None)
            vals = self._vals.pop(absorbed, None)
            if times:  # the survivor's events first among equal times
                mine = self._vals.get(survivor, []) if self._valued else None
                merged_t, merged_v = merge_by_time(self._times.get(survivor, []), mine, times, vals)
                self._times[survivor] = merged_t
                if merged_v is not None:  # valued insights only
                    self._vals[survivor] = merged_v
        else:
            buckets = self._buckets.pop(absorbed, None)
            if buckets:
                target = self._buckets.setdefault(survivor, {})
                for k, (state, fired) in buckets.items():
                    cell = target.get(k)
                    if cell is None:
                        target[k] = [state, fired]
                    else:
                        cell[0] = cell[0] + state
                        cell[1] = cell[1] or fired
        # a merge changes no watermark and fires nothing by itself

    def evict(self) -> None:
        """Drop state that can no longer count (see the module docstring)."""
        self._since_sweep = 0
        w = self.watermark
        if self.d.window_type == SLIDING:
            t_dead, f_dead = w - self.d.window_s, w - self.d.cooldown_s
            for store, limit in ((self._times, t_dead), (self._fired, f_dead)):
                for g in [g for g, v in store.items() if not v or v[-1] <= limit]:
                    self._live -= len(store.pop(g))
                    if store is self._times:
                        self._vals.pop(g, None)
        else:
            k_live = int((w + self.d.phase_s) // self.d.window_s) if np.isfinite(w) else None
            if k_live is None:
                return
            for g in list(self._buckets):
                cells = self._buckets[g]
                for k in [k for k in cells if k < k_live]:
                    del cells[k]
                if not cells:
                    del self._buckets[g]
