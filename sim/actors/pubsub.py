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
from sim.actors.event_bus import BusSubscriber, EventBus


class PubSubClient(BusSubscriber):
    prefix = "pubsub"
    external = True

    def __init__(self, ctx: RunContext, bus: EventBus, spec) -> None:
        super().__init__(ctx, bus, spec)
        self.bus = bus
        self.inflight = np.empty(0, dtype=np.int64)
        self.stored_replay_id: int | None = None
        self.fetches = self.processed = self.reconnects = self.allocation_waits = 0
        ctx.env.process(self._run())

    def _run(self):
        env, p = self.env, self.p
        q = self.queue.events
        while True:
            yield self.queue.wait()
            if not q:
                self.queue.rearm()
                continue
            up = self.faults.up_at(self.target, env.now)
            if up > env.now:
                yield env.timeout(up - env.now)
                self.reconnects += 1
                continue
            head = self.queue.head_available()
            if head > env.now:
                yield env.timeout(head - env.now)
                continue
            expired = []
            while q and q[0][1].available_at <= env.now and env.now - q[0][1].published_at > self.retention:
                expired.append(q.popleft()[0])
            if expired:
                self.ledger.drop(self.kind, np.array(expired, dtype=np.int64), "retention", env.now)
            n = 0
            while n < len(q) and n < p.fetch_size and q[n][1].available_at <= env.now:
                n += 1
            if n == 0:
                if not q:
                    self.queue.rearm()
                continue
            allowed = self.bus.take_deliveries(n, env.now)
            if allowed == 0:
                self.allocation_waits += 1
                yield env.timeout(max(self.bus.deliveries_free_at(env.now) - env.now, 1e-6))
                continue
            batch = [q.popleft() for _ in range(allowed)]
            if not q:
                self.queue.rearm()
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

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {self.kind: [self.inflight]}

    def counts(self) -> dict:
        return {"fetches": self.fetches, "processed": self.processed, "reconnects": self.reconnects,
                "allocation_waits": self.allocation_waits, "stored_replay_id": self.stored_replay_id}
