"""A subscriber's queue of deliveries, with the wait every subscriber needs written once.

Items arrive in order with the time each becomes available (``available_at``) and the time it
was published (``published_at``). A subscriber takes a batch with::

    batch = yield from queue.take(max_n)

which, in the manner of a SimPy resource request, waits until something is queued, waits while
the subscriber is down (an ``outage`` fault of its ``target``), waits until the head is available,
drops the items that outlived ``retention`` by the time the subscriber gets to them (ledger reason
``retention``), and returns up to ``max_n`` available items as ``(delivery id, item)`` pairs. A
``gate`` (an event to wait for, e.g. an Apex trigger's resume from its error state) and an
``admit`` rule (how many of ``n`` an allocation lets through now, and until when it is blocked)
are optional. Waiting work is woken by what frees it (a put, the end of an outage, the head's
availability, the allocation's release), never by polling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from sim.core.ledger import Ledger
from sim.domain.faults import FaultSchedule


class DeliveryQueue:
    """Deliveries ``(id, item)`` of one message ``kind`` in order; see the module docstring."""

    def __init__(self, env: simpy.Environment, ledger: Ledger, kind: str, faults: FaultSchedule | None = None,
                 target: str | None = None, retention: float = float("inf")) -> None:
        self.env, self.ledger, self.kind = env, ledger, kind
        self.faults = faults or FaultSchedule()
        self.target = target or kind
        self.retention = retention
        self.items: deque[tuple[int, Any]] = deque()
        self._signal = env.event()
        self.outage_waits = 0

    def __len__(self) -> int:
        return len(self.items)

    def put(self, did: int, item: Any) -> None:
        self.items.append((did, item))
        if not self._signal.triggered:
            self._signal.succeed()

    def appendleft(self, did: int, item: Any) -> None:
        """Put an item back at the head (a batch delivered again)."""
        self.items.appendleft((did, item))
        if not self._signal.triggered:
            self._signal.succeed()

    def wait(self) -> simpy.Event:
        """An event that fires when something is queued (now, if the queue is not empty)."""
        if self.items and not self._signal.triggered:
            self._signal.succeed()
        return self._signal

    def _rearm(self) -> None:
        if self._signal.triggered:
            self._signal = self.env.event()

    def ids(self) -> np.ndarray:
        return np.fromiter((d for d, _ in self.items), dtype=np.int64, count=len(self.items))

    def drain(self):
        """Wait until something is queued, then return everything queued (``yield from``)."""
        while not self.items:
            self._rearm()
            yield self.wait()
        batch = list(self.items)
        self.items.clear()
        self._rearm()
        return batch

    def take(self, max_n: int, gate: Callable[[], simpy.Event | None] | None = None,
             admit: Callable[[int, float], int] | None = None, blocked_until: Callable[[float], float] | None = None):
        """Wait for and return up to ``max_n`` available deliveries (a generator: ``yield from``)."""
        env, q = self.env, self.items
        while True:
            yield self.wait()
            if not q:
                self._rearm()
                continue
            if gate is not None:
                closed = gate()
                if closed is not None:
                    yield closed
                    continue
            up = self.faults.up_at(self.target, env.now)
            if up > env.now:
                self.outage_waits += 1
                yield env.timeout(up - env.now)
                continue
            head = q[0][1].available_at
            if head > env.now:
                yield env.timeout(head - env.now)
                continue
            now = env.now
            expired = []
            while q and q[0][1].available_at <= now and now - q[0][1].published_at > self.retention:
                expired.append(q.popleft()[0])
            if expired:
                self.ledger.drop(self.kind, np.array(expired, dtype=np.int64), "retention", now)
            n = 0
            while n < len(q) and n < max_n and q[n][1].available_at <= now:
                n += 1
            if n and admit is not None:
                n = admit(n, now)
                if n == 0:
                    yield env.timeout(max(blocked_until(now) - now, 1e-6) if blocked_until else 1.0)
                    continue
            if n == 0:
                if not q:
                    self._rearm()
                continue
            batch = [q.popleft() for _ in range(n)]
            if not q:
                self._rearm()
            return batch
