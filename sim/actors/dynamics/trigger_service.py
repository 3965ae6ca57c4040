"""Trigger processing of Customer Insights – Journeys (doc: up to 2,500 triggers per minute, trigger
to first journey step P90 < 3 min and P95 < 5 min up to that rate; above it slower, and triggers
may be dropped).

The service works in cycles (``cycle`` seconds, assumed). At each boundary it first asks the org
to apply the changes due (so the triggers they fire join the backlog), then drops the backlog
triggers that waited longer than ``max_backlog_age`` for capacity (ledger reason
``trigger_overload``), then takes the oldest ones up to the capacity of one cycle
(``capacity_per_min × cycle / 60``, fractions carried over) and hands each to the journey
orchestrator, which acts on it ``latency`` later (log-normal, × a ``slowdown`` fault's factor).
During an ``outage`` nothing is taken and the backlog ages. The process wakes only at a boundary
where something is due (a change to apply, a backlog to serve, the end of an outage): never
by polling an empty org.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.dynamics.org import DataverseOrg
from sim.core.dists import lognormal
from sim.scenario.dynamics import TriggerProcessing

TARGET = "trigger_processing"
OVERLOAD = "trigger_overload"


class TriggerService(Actor):
    name = "trigger_processing"

    def __init__(self, ctx: RunContext, settings: TriggerProcessing, org: DataverseOrg,
                 deliver: Callable[[list[tuple[float, int, object]]], None]) -> None:
        super().__init__(ctx)
        self.p = settings
        self.org = org
        self.deliver = deliver
        self.rng = ctx.rng("trigger_processing.latency")
        self.faults = ctx.faults
        self.backlog: deque[tuple[int, float, object]] = deque()
        self.per_cycle = settings.capacity_per_min * settings.cycle / 60.0
        self._carry = 0.0
        self._k = -1                  # the last boundary served is k * cycle
        self._wake_at = math.inf
        self._signal = self.env.event()
        self.received = self.processed = self.dropped = 0
        self.peak_backlog = 0
        self.cycles = 0
        org.on_push = self._pushed
        self.env.process(self._run())

    # -- scheduling ----------------------------------------------------------------------------
    def next_delivery(self) -> float:
        """The earliest time the service can hand over more triggers: its next boundary."""
        return self._boundary(self.env.now) * self.p.cycle

    def _boundary(self, t: float) -> int:
        """The first boundary index at or after ``t`` and after the last one served."""
        k = math.ceil(t / self.p.cycle - 1e-9)
        return max(k, self._k + 1)

    def _next(self) -> int | None:
        cands = []
        due = self.org.next_due()
        if due is not None:
            cands.append(self._boundary(due))
        if self.backlog:
            now = self.env.now
            up = self.faults.up_at(TARGET, now)
            if up > now:  # down: wake when it is back, or when the head grows too old
                cands.append(self._boundary(min(up, self.backlog[0][1] + self.p.max_backlog_age)))
            else:
                cands.append(self._boundary(now))
        return min(cands) if cands else None

    def _pushed(self, t: float) -> None:
        if self._boundary(t) * self.p.cycle < self._wake_at and not self._signal.triggered:
            self._signal.succeed()

    def _run(self):
        env, cycle = self.env, self.p.cycle
        while True:
            k = self._next()
            if k is None:
                self._wake_at = math.inf
                yield self._signal
                self._signal = env.event()
                continue
            at = k * cycle
            if at > env.now:
                self._wake_at = at
                yield env.timeout(at - env.now) | self._signal
                if self._signal.triggered:
                    self._signal = env.event()
                if env.now < at - 1e-9:
                    continue  # an earlier change arrived: plan again
            self._wake_at = math.inf
            self._k = k
            self._cycle(env.now)

    # -- one cycle -----------------------------------------------------------------------------
    def _cycle(self, now: float) -> None:
        self.cycles += 1
        new = self.org.flush(now)
        if new:
            self.backlog.extend(new)
            self.received += len(new)
        backlog, p = self.backlog, self.p
        old = []
        while backlog and now - backlog[0][1] > p.max_backlog_age:
            old.append(backlog.popleft()[0])
        if old:
            self.dropped += len(old)
            self.ledger.drop("trigger", np.array(old, dtype=np.int64), OVERLOAD, now)
        self.peak_backlog = max(self.peak_backlog, len(backlog))
        if self.faults.down(TARGET, now):
            self._carry = 0.0
        elif backlog:
            allowance = self.per_cycle + self._carry
            n = min(len(backlog), int(allowance))
            self._carry = allowance - n if n == int(allowance) else 0.0
            self._carry = min(self._carry, 1.0)
            taken = [backlog.popleft() for _ in range(n)]
            lat = self.p.latency
            delays = np.atleast_1d(lognormal(self.rng, lat.median, lat.sigma, size=n))
            delays = delays * self.faults.slowdown(TARGET, now)
            self.processed += n
            self.deliver([(now + float(d), tid, event) for d, (tid, _, event) in zip(delays, taken)])
        self.ctx.sample("trigger_backlog", now, float(len(backlog)))

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"trigger": [np.fromiter((tid for tid, _, _ in self.backlog), dtype=np.int64,
                                        count=len(self.backlog))]}

    def counts(self) -> dict:
        return {"received": self.received, "processed": self.processed, "dropped_trigger_overload": self.dropped,
                "peak_backlog": self.peak_backlog, "backlog_at_horizon": len(self.backlog), "cycles": self.cycles}
