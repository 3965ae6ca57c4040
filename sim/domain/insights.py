"""Streaming Insights: "at least N matching events within T" per group (unified profile).

Semantics (the tests pin every one of them):

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

State is kept only while it can still matter: an event time ``x <= W - window`` can never be
counted again, nor a firing ``f <= W - cooldown`` block one, so such state is evicted and memory is
bounded by the live windows.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

SLIDING, TUMBLING = "sliding", "tumbling"


@dataclass(frozen=True)
class CountInsight:
    """Definition of a count insight (times in seconds)."""

    name: str = "pricing_hot"
    threshold: int = 3
    window_s: float = 600.0
    window_type: str = SLIDING
    cooldown_s: float = 600.0
    allowed_lateness_s: float = 0.0

    def __post_init__(self) -> None:
        if self.window_type not in (SLIDING, TUMBLING):
            raise ValueError(f"window_type must be {SLIDING!r} or {TUMBLING!r}")
        if self.threshold < 1 or self.window_s <= 0 or self.cooldown_s < 0 or self.allowed_lateness_s < 0:
            raise ValueError("threshold >= 1, window_s > 0, cooldown_s >= 0, allowed_lateness_s >= 0")


@dataclass(frozen=True)
class Firing:
    """One firing: ``index`` is the position of the firing event in the processed batch."""

    index: int
    group: int
    fired_at: float
    window_start: float
    measure: int


class InsightEngine:
    """Evaluates one :class:`CountInsight` over a stream of batches; see the module docstring."""

    SWEEP_EVERY = 50_000  # events between two global evictions of dead groups

    def __init__(self, definition: CountInsight) -> None:
        self.d = definition
        self.max_t = -np.inf
        self._times: dict[int, list[float]] = {}  # sliding: sorted accepted matching times
        self._fired: dict[int, list[float]] = {}  # sliding: sorted firing times
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
            return sum(map(len, self._times.values())) + sum(map(len, self._fired.values()))
        return sum(map(len, self._buckets.values()))

    def process(self, t: np.ndarray, group: np.ndarray, matching: np.ndarray,
                merges: list[tuple[int, int, int]] = ()) -> tuple[np.ndarray, list[Firing]]:
        """Process a batch in arrival order.

        ``merges`` holds ``(position, absorbed, survivor)``: the merge is applied just before the
        event at ``position``. Returns the late mask and the firings in firing order.
        """
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
        candidates = np.flatnonzero(np.asarray(matching, dtype=bool) & ~late).tolist()
        todo = sorted(merges)
        m = 0
        t_list = t.tolist()
        g_list = np.asarray(group).tolist()
        w_list = (prior - self.d.allowed_lateness_s).tolist()  # the watermark as each event came
        on_event = self._sliding if self.d.window_type == SLIDING else self._tumbling
        for i in candidates:
            while m < len(todo) and todo[m][0] <= i:
                self.merge(todo[m][1], todo[m][2])
                m += 1
            fired = on_event(t_list[i], g_list[i], w_list[i])
            if fired is not None:
                firings.append(Firing(i, g_list[i], t_list[i], fired[0], fired[1]))
        for _, absorbed, survivor in todo[m:]:
            self.merge(absorbed, survivor)
        self.firings += len(firings)
        self._since_sweep += n
        if self._since_sweep >= self.SWEEP_EVERY:
            self.evict()
        return late, firings

    # -- window rules ----------------------------------------------------------------------
    def _sliding(self, t: float, g: int, watermark: float) -> tuple[float, int] | None:
        d = self.d
        times = self._times.get(g)
        if times is None:
            times = self._times[g] = []
        if not times or t >= times[-1]:
            times.append(t)
        else:
            bisect.insort_right(times, t)
        dead = bisect.bisect_right(times, watermark - d.window_s)
        if dead:
            del times[:dead]
        count = bisect.bisect_right(times, t) - bisect.bisect_right(times, t - d.window_s)
        if count < d.threshold:
            return None
        fired = self._fired.get(g)
        if fired:
            k = bisect.bisect_left(fired, t)
            if (k < len(fired) and fired[k] - t < d.cooldown_s) or (k > 0 and t - fired[k - 1] < d.cooldown_s):
                return None
            bisect.insort_right(fired, t)
        else:
            self._fired[g] = [t]
        return t - d.window_s, count

    def _tumbling(self, t: float, g: int, watermark: float) -> tuple[float, int] | None:
        d = self.d
        k = int(t // d.window_s)
        buckets = self._buckets.get(g)
        if buckets is None:
            buckets = self._buckets[g] = {}
        cell = buckets.get(k)
        if cell is None:
            cell = buckets[k] = [0, False]
        cell[0] += 1
        if not cell[1] and cell[0] >= d.threshold:
            cell[1] = True
            return k * d.window_s, cell[0]
        return None

    # -- state management ------------------------------------------------------------------
    def merge(self, absorbed: int, survivor: int) -> None:
        """Combine ``absorbed``'s window state into ``survivor``'s."""
        if absorbed == survivor:
            return
        if self.d.window_type == SLIDING:
            for store in (self._times, self._fired):
                moved = store.pop(absorbed, None)
                if moved:
                    store[survivor] = sorted(store.get(survivor, []) + moved)
        else:
            moved = self._buckets.pop(absorbed, None)
            if moved:
                target = self._buckets.setdefault(survivor, {})
                for k, (count, fired) in moved.items():
                    cell = target.setdefault(k, [0, False])
                    cell[0] += count
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
                    del store[g]
        else:
            k_live = int(w // self.d.window_s) if np.isfinite(w) else None
            if k_live is None:
                return
            for g in list(self._buckets):
                cells = self._buckets[g]
                for k in [k for k in cells if k < k_live]:
                    del cells[k]
                if not cells:
                    del self._buckets[g]
