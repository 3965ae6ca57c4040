"""The Salesforce event bus for one high-volume platform event channel.

A publish request is checked against the hourly publish allocation (a rolling hour: at most
``publish_allocation_per_hour`` accepted publishes in any 3,600 s; over it the publish fails with
``LIMIT_EXCEEDED`` and the event is dropped as ``allocation``). An accepted event is stored
``publish_latency`` later with the next replay id (increasing, not contiguous: other channels of the
org draw from the same sequence) and an ``EventUuid``, and becomes available to each subscriber
``delivery_latency`` after that. The channel keeps order: an event is never available before the
one published ahead of it. A subscriber that gets to an event older than ``retention`` finds it
gone (``retention``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.dists import lognormal


@dataclass
class BusEvent:
    """One stored platform event, as a subscriber receives it."""

    id: int  # ledger id
    replay_id: int
    uuid: str
    published_at: float  # seconds
    available_at: float  # seconds
    payload: dict


class SubscriberQueue:
    """Events stored for one subscriber, in replay order, with a signal for new arrivals."""

    def __init__(self, env) -> None:
        self.env = env
        self.events: deque[BusEvent] = deque()
        self._signal = env.event()

    def put(self, event: BusEvent) -> None:
        self.events.append(event)
        if not self._signal.triggered:
            self._signal.succeed()

    def wait(self):
        """An event that fires when something is put (now, if the queue is not empty)."""
        if self.events and not self._signal.triggered:
            self._signal.succeed()
        return self._signal

    def rearm(self) -> None:
        if self._signal.triggered:
            self._signal = self.env.event()


class EventBus(Actor):
    name = "event_bus"

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self.p = ctx.scenario.event_bus
        self.rng = ctx.rng("event_bus.latency")
        self.rng_ids = ctx.rng("event_bus.ids")
        self.subscribers: list[SubscriberQueue] = []
        self._window: deque[float] = deque()
        self._in_publish: dict[int, float] = {}
        self._last_available = 0.0
        self.replay_id = int(self.rng_ids.integers(1_000_000, 9_000_000))
        self.published = 0
        self.limit_exceeded = 0
        self.allocation_series: list[tuple[float, int]] = []

    def subscribe(self) -> SubscriberQueue:
        queue = SubscriberQueue(self.env)
        self.subscribers.append(queue)
        return queue

    def publish(self, mid: int, payload: dict) -> None:
        """A publish request for ledger message ``mid`` arrives now."""
        now = self.env.now
        window = self._window
        while window and window[0] <= now - 3600.0:
            window.popleft()
        if len(window) >= self.p.publish_allocation_per_hour:
            self.limit_exceeded += 1
            self.ledger.drop("platform_event", np.array([mid]), "allocation", now)
            return
        window.append(now)
        self.allocation_series.append((now, len(window)))
        stored = now + float(lognormal(self.rng, self.p.publish_latency.median, self.p.publish_latency.sigma))
        self._in_publish[mid] = stored
        self.ctx.at(stored, self._store, mid, payload)

    def _store(self, mid: int, payload: dict) -> None:
        now = self.env.now
        del self._in_publish[mid]
        self.replay_id += int(self.rng_ids.geometric(0.25))  # gaps: other channels share the sequence
        uuid = self.rng_ids.bytes(16).hex()
        uuid = f"{uuid[:8]}-{uuid[8:12]}-4{uuid[13:16]}-{uuid[16:20]}-{uuid[20:32]}"
        delay = float(lognormal(self.rng, self.p.delivery_latency.median, self.p.delivery_latency.sigma))
        available = max(now + delay, self._last_available)
        self._last_available = available
        self.ledger.stamp("platform_event", "publish", np.array([mid]), now)
        self.published += 1
        event = BusEvent(mid, self.replay_id, uuid, now, available, payload)
        for queue in self.subscribers:
            queue.put(event)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        waiting = [e.id for q in self.subscribers for e in q.events]
        return {"platform_event": [np.array(list(self._in_publish) + waiting, dtype=np.int64)]}

    def counts(self) -> dict:
        peak = max((c for _, c in self.allocation_series), default=0)
        return {"published": self.published, "limit_exceeded": self.limit_exceeded,
                "allocation_peak_per_hour": peak, "last_replay_id": self.replay_id}
