"""Batch segments: membership recomputed by a lakehouse job at refresh times, and what enters.

A segment "≥ ``min_events`` matching events in the last ``lookback``" is evaluated at a snapshot
time ``s`` over the events the lakehouse holds by then: a profile is a member when at least
``min_events`` of its matching events have an event time in ``(s − lookback, s]``. A profile
*enters* when it is a member now and was not at the previous publish; entering is what can trigger
a Data Action. Its *origin* is the ``min_events``-th matching event (by event time) inside the
window: the visit that completed the condition.

Refresh schedules are the platform's: standard segments publish every 12 h or 24 h, rapid segments
every 1 h or 4 h (anything else is rejected). When more publishes are due at once than the
platform runs concurrently, the excess is skipped and retried 30 minutes later.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.core.sorted_lists import merge_by_time

STANDARD_REFRESH_S = (12 * 3600.0, 24 * 3600.0)
RAPID_REFRESH_S = (3600.0, 4 * 3600.0)
RETRY_AFTER_SKIP_S = 1800.0


def check_refresh(refresh_s: float) -> str:
    """The kind of a refresh interval ("standard" or "rapid"); other intervals are rejected."""
    if refresh_s in STANDARD_REFRESH_S:
        return "standard"
    if refresh_s in RAPID_REFRESH_S:
        return "rapid"
    raise ValueError(f"refresh {refresh_s:g} s is not a segment schedule; allowed: 12h or 24h (standard), "
                     "1h or 4h (rapid)")


@dataclass(frozen=True)
class Entry:
    """A profile entering a segment at a publish: ``origin`` is the event that completed it."""

    profile: int
    origin: int          # caller's id of the completing event (e.g. a click id)
    origin_t: float      # its event time (seconds)


@dataclass
class SegmentState:
    """Matching events per profile and the last published membership (see module docstring)."""

    min_events: int
    lookback_s: float
    _times: dict[int, list[float]] = field(default_factory=dict)
    _ids: dict[int, list[int]] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)

    def add(self, profile: int, t: float, event_id: int) -> None:
        times = self._times.setdefault(profile, [])
        ids = self._ids.setdefault(profile, [])
        k = bisect.bisect_right(times, t)
        times.insert(k, t)
        ids.insert(k, event_id)

    def merge(self, absorbed: int, survivor: int) -> None:
        """Identity merged two profiles: their events count together under the survivor."""
        if absorbed == survivor or absorbed not in self._times:
            return
        self._times[survivor], self._ids[survivor] = merge_by_time(
            self._times.get(survivor, []), self._ids.get(survivor, []),
            self._times.pop(absorbed), self._ids.pop(absorbed))
        if absorbed in self.members:
            self.members.discard(absorbed)
            self.members.add(survivor)

    def _qualifies(self, profile: int, snapshot: float) -> tuple[bool, int, float]:
        times = self._times.get(profile, [])
        lo = bisect.bisect_right(times, snapshot - self.lookback_s)
        hi = bisect.bisect_right(times, snapshot)
        if hi - lo < self.min_events:
            return False, -1, 0.0
        k = lo + self.min_events - 1  # the event at which min_events were first all in the window
        return True, self._ids[profile][k], times[k]

    def publish(self, snapshot: float, eligible: Callable[[list[int]], np.ndarray] | None = None) -> list[Entry]:
        """Recompute membership at ``snapshot`` (events the caller has added so far) and return the
        profiles that entered since the previous publish, in profile order. ``eligible`` (profiles
        -> boolean mask) is the condition on profile attributes, if any. Events older than the
        lookback are forgotten."""
        now_members: set[int] = set()
        entries: list[Entry] = []
        candidates = []
        for profile in sorted(self._times):
            ok, origin, origin_t = self._qualifies(profile, snapshot)
            if ok:
                candidates.append((profile, origin, origin_t))
        if eligible is not None and candidates:
            mask = eligible([c[0] for c in candidates])
            candidates = [c for c, m in zip(candidates, mask) if m]
        for profile, origin, origin_t in candidates:
            now_members.add(profile)
            if profile not in self.members:
                entries.append(Entry(profile, origin, origin_t))
        self.members = now_members
        self._evict(snapshot)
        return entries

    def _evict(self, snapshot: float) -> None:
        limit = snapshot - self.lookback_s
        for profile in list(self._times):
            times = self._times[profile]
            dead = bisect.bisect_right(times, limit)
            if dead:
                del times[:dead]
                del self._ids[profile][:dead]
            if not times:
                del self._times[profile], self._ids[profile]

    def state_size(self) -> int:
        return sum(map(len, self._times.values()))


def publish_allowed(now: float, busy_until: list[float], max_concurrent: int) -> bool:
    """The publish-concurrency rule: a publish may start when fewer than ``max_concurrent``
    publishes are still running at ``now`` (``busy_until`` are their end times)."""
    return sum(1 for end in busy_until if end > now) < max_concurrent
