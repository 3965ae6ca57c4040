"""An external Pub/Sub API client subscribed to the channel (message kind ``pubsub:<name>``).

The client pulls: each fetch asks for at most ``fetch_size`` (≤ 100) available events and takes
``fetch_latency`` to come back; deliveries leave ``fetched`` then, and ``processed`` after
``per_event`` each. Every delivered event counts against the org's rolling-24 h delivery
allocation; when it is used up the client gets nothing until the window frees.

The client stores the replay id of the last event it processed. During an ``outage`` fault it is
disconnected; on reconnecting it resumes from the stored replay id, so nothing is skipped, but events
that passed the bus retention meanwhile are gone (``retention``).
"""

from __future__ import annotations

import numpy as np

from sim.actors.base import RunContext
from sim.actors.data_cloud.event_bus import BusSubscriber, EventBus


class PubSubClient(BusSubscriber):
    prefix = "pubsub"
    external = True

    def __init__(self, ctx: RunContext, bus: EventBus, spec) -> None:
        super().__init__(ctx, bus, spec)
        self.bus = bus
        self.inflight = np.empty(0, dtype=np.int64)
        self.stored_replay_id: int | None = None
        self.fetches = self.processed = self.allocation_waits = 0
        ctx.env.process(self._run())

    def _run(self):
        env, p = self.env, self.p
        while True:
            batch = yield from self.queue.take(p.fetch_size, admit=self._admit,
                                               blocked_until=self.bus.deliveries_free_at)
            ids = np.array([d for d, _ in batch], dtype=np.int64)
            self.inflight = ids
            self.fetches += 1
            yield env.timeout(p.fetch_latency)
            self.ledger.stamp(self.kind, "fetched", ids, env.now)
            done = env.now + p.per_event * np.arange(1, len(ids) + 1)
            yield env.timeout(float(done[-1] - env.now))
            self.ledger.stamp(self.kind, "processed", ids, done)
            self.ledger.deliver(self.kind, ids, done)
            self.inflight = np.empty(0, dtype=np.int64)
            self.processed += len(ids)
            self.stored_replay_id = batch[-1][1].replay_id

    def _admit(self, n: int, now: float) -> int:
        """How many of ``n`` fetched events the delivery allocation lets through now."""
        allowed = self.bus.take_deliveries(n, now)
        if allowed == 0:
            self.allocation_waits += 1
        return allowed

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {self.kind: [self.inflight]}

    def counts(self) -> dict:
        return {"fetches": self.fetches, "processed": self.processed, "reconnects": self.queue.outage_waits,
                "allocation_waits": self.allocation_waits, "stored_replay_id": self.stored_replay_id}
