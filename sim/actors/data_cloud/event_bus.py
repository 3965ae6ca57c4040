"""The Salesforce event bus: one high-volume platform-event channel and its subscribers.

Publishing (kind ``platform_event``, stages ``action -> publish``):

* The publishing transaction rolls back with ``transaction_failure_rate``. With ``publish_behavior:
  after_commit`` nothing is then published (``rolled_back``); with ``immediately`` (the platform's
  default) the event is published anyway, and the run counts it.
* A publish is checked against the hourly publish allocation (a rolling hour; an
  ``allocation_cut`` fault lowers it for a while), which the org's other integrations share
  (``other_publishes_per_hour``, a steady rate). Over it the publish fails with
  ``LIMIT_EXCEEDED``: the event is dropped (``allocation``) or, with ``on_limit_exceeded: retry``,
  published when the rolling hour frees a slot.
* Events arrive in publish calls (``data_actions.publish_calls``: ≤ 200 events and ≤ 3 MB a call);
  an event over 1 MB fails alone, the call's others share its transaction and its latency.
* An accepted event is stored ``publish_latency`` later, with the next replay id (increasing, not
  contiguous: other channels of the org draw from the same sequence) and an ``EventUuid``. The
  platform event is then *delivered* to the bus.

Delivery: every subscriber gets every event as a message of its own kind (``flow``,
``apex:<name>``, ``pubsub:<name>``; parent = the platform event), created when the event is stored
and ``available`` ``delivery_latency`` later. The channel keeps order: an event is never
available before the one published ahead of it. Each subscriber reads its own queue; an event that
is older than ``retention`` when the subscriber gets to it is gone (``retention``). Deliveries to
external subscribers (Pub/Sub API) count against the rolling-24 h delivery allocation.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.queue import DeliveryQueue
from sim.core.dists import lognormal
from sim.scenario.data_cloud import EventBus as EventBusSettings

HOUR_S, DAY_S = 3600.0, 86400.0


@dataclass
class BusEvent:
    """One stored platform event, as a subscriber receives it."""

    id: int  # ledger id of the platform event
    channel: str  # the platform event's API name
    replay_id: int
    uuid: str
    published_at: float  # seconds
    available_at: float  # seconds
    payload: dict


class EventBus(Actor):
    name = "event_bus"

    def __init__(self, ctx: RunContext, settings: EventBusSettings) -> None:
        super().__init__(ctx)
        self.p = settings
        self.channel = settings.channel
        self.retention = settings.retention
        self.faults = ctx.faults
        self.rng = ctx.rng("event_bus.latency")
        self.rng_ids = ctx.rng("event_bus.ids")
        self.rng_tx = ctx.rng("event_bus.transactions")
        self.subscribers: list[DeliveryQueue] = []
        self.external: set[str] = set()  # kinds of subscribers counted against the delivery allocation
        self._window: deque[float] = deque()
        self._deliveries: deque[tuple[float, int]] = deque()  # (time, count) to external subscribers
        self._delivered_24h = 0
        self._in_publish: dict[int, float] = {}
        self._retrying: dict[int, dict] = {}
        self._last_available = 0.0
        self.replay_id = int(self.rng_ids.integers(1_000_000, 9_000_000))
        self.published = 0
        self.limit_exceeded = 0
        self.retried_publishes = 0
        self.rolled_back = 0
        self.published_after_rollback = 0
        self.peak_allocation = 0
        self.first_limit_exceeded: float | None = None
        self.delivery_limited = 0
        self.too_large = 0
        self.calls = 0
        self.largest_call = 0  # events in the largest publish call
        for t in [0.0] + [c for c in self.faults.changes("event_bus") if 0 < c <= ctx.horizon]:
            ctx.sample("publish_allocation", t, self.allocation_at(t))  # the allocation's steps

    def subscribe(self, kind: str, target: str | None = None, external: bool = False,
                  channel: str | None = None) -> DeliveryQueue:
        """A new subscriber of the channel: every stored event is delivered to its queue as a
        message of ``kind``; ``target`` names it in faults; ``external`` subscribers (Pub/Sub API)
        count against the delivery allocation."""
        if channel is not None and channel != self.channel:
            raise ValueError(f"{kind} subscribes to {channel!r}, but the bus carries {self.channel!r}")
        queue = DeliveryQueue(self.env, self.ledger, kind, self.faults, target or kind, self.retention)
        self.subscribers.append(queue)
        if external:
            self.external.add(kind)
        return queue

    # -- publishing ------------------------------------------------------------------------
    def allocation_at(self, t: float) -> int:
        return self.faults.allocation("event_bus", t, self.p.publish_allocation_per_hour)

    def publish(self, mid: int, payload: dict, size_bytes: int = 0) -> None:
        """A publish call of one event (ledger message ``mid``, ``size_bytes`` serialized) arrives now."""
        self.publish_call([(mid, payload, size_bytes)])

    def publish_call(self, events: list[tuple[int, dict, int]]) -> None:
        """A publish call arrives now with ``events`` as (ledger id, payload, bytes), in order.
        An event over ``max_event_bytes`` fails alone; the others share the call's transaction
        (one rollback draw) and, when the allocation admits them, one publish latency: they are
        stored together, with consecutive replay ids in call order."""
        now = self.env.now
        self.calls += 1
        self.largest_call = max(self.largest_call, len(events))
        kept = []
        for mid, payload, size_bytes in events:
            if size_bytes > self.p.max_event_bytes:  # this event fails: it is over 1 MB
                self.too_large += 1
                self.ledger.drop_one("platform_event", mid, "event_too_large", now)
            else:
                kept.append((mid, payload))
        if not kept:
            return
        if self.rng_tx.random() < self.p.transaction_failure_rate:
            if self.p.publish_behavior == "after_commit":
                self.rolled_back += len(kept)
                self.ledger.drop("platform_event", np.array([mid for mid, _ in kept]), "rolled_back", now)
                return
            self.published_after_rollback += len(kept)
        stored: float | None = None
        for mid, payload in kept:
            stored = self._try_publish(mid, payload, stored)

    def _try_publish(self, mid: int, payload: dict, stored: float | None = None) -> float | None:
        """Publish ``mid`` now if the rolling hour has room; ``stored`` is the time its call's
        earlier events are stored (None: draw it). Returns the stored time used, if any."""
        now = self.env.now
        self._retrying.pop(mid, None)
        window = self._window
        while window and window[0] + HOUR_S <= now:
            window.popleft()
        if len(window) + self.p.other_publishes_per_hour >= self.allocation_at(now):
            self.limit_exceeded += 1
            if self.first_limit_exceeded is None:
                self.first_limit_exceeded = now
            if self.p.on_limit_exceeded == "drop":
                self.ledger.drop_one("platform_event", mid, "allocation", now)
                return stored
            self.retried_publishes += 1
            self._retrying[mid] = payload
            # try again when the oldest publish leaves the rolling hour or an allocation cut ends
            candidates = [window[0] + HOUR_S] if window else []
            candidates += [c for c in self.faults.changes("event_bus") if c > now][:1]
            self.ctx.at(min(candidates, default=now + HOUR_S), self._try_publish, mid, payload)
            return stored
        window.append(now)
        self.peak_allocation = max(self.peak_allocation, len(window) + self.p.other_publishes_per_hour)
        self.ctx.sample("publish_allocation_used", now, len(window) + self.p.other_publishes_per_hour)
        if stored is None:
            stored = now + float(lognormal(self.rng, self.p.publish_latency.median, self.p.publish_latency.sigma))
        self._in_publish[mid] = stored
        self.ctx.at(stored, self._store, mid, payload)
        return stored

    def _store(self, mid: int, payload: dict) -> None:
        now = self.env.now
        del self._in_publish[mid]
        self.replay_id += int(self.rng_ids.geometric(0.25))  # gaps: other channels share the sequence
        uuid = self.rng_ids.bytes(16).hex()
        uuid = f"{uuid[:8]}-{uuid[8:12]}-4{uuid[13:16]}-{uuid[16:20]}-{uuid[20:32]}"
        delay = float(lognormal(self.rng, self.p.delivery_latency.median, self.p.delivery_latency.sigma))
        available = max(now + delay, self._last_available)
        self._last_available = available
        ledger = self.ledger
        ledger.stamp_one("platform_event", "publish", mid, now)
        ledger.deliver_one("platform_event", mid, now)
        self.published += 1
        event = BusEvent(mid, self.channel, self.replay_id, uuid, now, available, payload)
        for queue in self.subscribers:
            did = ledger.create_one(queue.kind, now, parent=mid)
            ledger.stamp_one(queue.kind, "available", did, available)
            queue.put(did, event)

    # -- delivery allocation (external subscribers) ------------------------------------------
    def take_deliveries(self, n: int, now: float) -> int:
        """Reserve up to ``n`` deliveries to an external subscriber now; returns how many fit in
        the rolling-24 h delivery allocation."""
        while self._deliveries and self._deliveries[0][0] + DAY_S <= now:
            self._delivered_24h -= self._deliveries.popleft()[1]
        room = max(self.p.delivery_allocation_per_day - self._delivered_24h, 0)
        k = min(n, room)
        if k < n:
            self.delivery_limited += 1
        if k:
            self._deliveries.append((now, k))
            self._delivered_24h += k
            self.ctx.sample("delivery_allocation_used", now, self._delivered_24h)
        return k

    def deliveries_free_at(self, now: float) -> float:
        """When the rolling-24 h delivery window next frees some allocation."""
        return self._deliveries[0][0] + DAY_S if self._deliveries else now

    # -- accounting --------------------------------------------------------------------------
    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        out: dict[str, list[np.ndarray]] = {
            "platform_event": [np.array(list(self._in_publish) + list(self._retrying), dtype=np.int64)]}
        for q in self.subscribers:
            out.setdefault(q.kind, []).append(q.ids())
        return out

    def backlog(self) -> dict[str, int]:
        """Deliveries waiting on the bus, per subscriber."""
        return {q.kind: len(q) for q in self.subscribers}

    def counts(self) -> dict:
        return {"channel": self.channel, "published": self.published, "limit_exceeded": self.limit_exceeded,
                "retried_publishes": self.retried_publishes, "rolled_back": self.rolled_back,
                "published_after_rollback": self.published_after_rollback, "event_too_large": self.too_large,
                "publish_calls": self.calls, "largest_publish_call": self.largest_call,
                "allocation_peak_per_hour": self.peak_allocation, "first_limit_exceeded_s": self.first_limit_exceeded,
                "delivery_allocation_limited": self.delivery_limited,
                "last_replay_id": self.replay_id, "subscribers": [q.kind for q in self.subscribers]}


class BusSubscriber(Actor):
    """Base of the channel's named subscribers (``<prefix>:<name>``): kind, fault target, queue."""

    prefix = ""
    external = False  # counts against the delivery allocation

    def __init__(self, ctx: RunContext, bus: EventBus, spec) -> None:
        super().__init__(ctx)
        self.p = spec
        self.kind = self.target = self.name = f"{self.prefix}:{spec.name}"
        self.faults = ctx.faults
        self.queue = bus.subscribe(self.kind, self.target, external=self.external)
