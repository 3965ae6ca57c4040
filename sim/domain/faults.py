"""Faults injected at simulated times: outages, error rates, slowdowns, allocation cuts.

A fault applies to one target (an actor: ``crm``, ``webhooks``, ``event_bus``, ``apex:<name>``,
``pubsub:<name>``) during ``[start, start + duration)`` (seconds). Kinds:

* ``outage``: the target is down (a subscriber stops taking events and resumes from where it
  stopped; an endpoint answers nothing);
* ``error_rate``: each attempt or batch fails with probability ``rate``;
* ``slowdown``: service times (or endpoint latency) are multiplied by ``factor``;
* ``allocation_cut``: the hourly publish allocation is ``allocation`` instead of the configured one.

When several faults of a kind overlap, the strongest holds (the highest rate or factor, the lowest
allocation). Outage windows that touch are merged, so :meth:`FaultSchedule.up_at` gives the first
time the target is up again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("outage", "error_rate", "slowdown", "allocation_cut")


@dataclass(frozen=True)
class Fault:
    target: str
    kind: str
    start: float
    duration: float
    rate: float | None = None
    factor: float | None = None
    allocation: int | None = None

    @property
    def end(self) -> float:
        return self.start + self.duration

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


class FaultSchedule:
    """Lookups of the faults active at a time (see the module docstring)."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self.faults = sorted(faults, key=lambda f: (f.target, f.kind, f.start))
        self._by: dict[tuple[str, str], list[Fault]] = {}
        for f in self.faults:
            self._by.setdefault((f.target, f.kind), []).append(f)

    def _active(self, target: str, kind: str, t: float) -> list[Fault]:
        return [f for f in self._by.get((target, kind), ()) if f.covers(t)]

    def down(self, target: str, t: float) -> bool:
        return bool(self._active(target, "outage", t))

    def up_at(self, target: str, t: float) -> float:
        """The first time at or after ``t`` when ``target`` has no outage."""
        moved = True
        while moved:
            moved = False
            for f in self._by.get((target, "outage"), ()):
                if f.covers(t):
                    t = f.end
                    moved = True
        return t

    def error_rate(self, target: str, t: float, base: float) -> float:
        return max([base] + [f.rate for f in self._active(target, "error_rate", t) if f.rate is not None])

    def slowdown(self, target: str, t: float) -> float:
        return max([1.0] + [f.factor for f in self._active(target, "slowdown", t) if f.factor is not None])

    def allocation(self, target: str, t: float, base: int) -> int:
        return min([base] + [f.allocation for f in self._active(target, "allocation_cut", t)
                            if f.allocation is not None])

    def changes(self, target: str) -> list[float]:
        """Times at which some fault of ``target`` starts or ends, sorted."""
        return sorted({x for (tg, _), fs in self._by.items() if tg == target for f in fs for x in (f.start, f.end)})
