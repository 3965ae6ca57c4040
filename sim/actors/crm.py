"""The CRM subscriber: a platform-event-triggered Flow in Sales Cloud.

The Flow takes up to ``batch_size`` available events at a time (in replay order), up to
``concurrency`` batches at once, each in its own transaction as the Automated Process user. A batch
of ``n`` events with ``k`` tasks created takes ``(batch_overhead + n * owner_lookup + k *
(task_insert + notification)) * noise`` seconds. Its events leave ``flow_start`` when the batch
starts; on commit the Tasks exist, and each owner's bell notification shows
``notification_latency`` later: that is the ``notification`` stage, where the platform event is
delivered. Events older than the bus retention when the Flow gets to them are dropped
(``retention``).
"""

from __future__ import annotations

import numpy as np

from sim.actors.base import Actor, RunContext, TimedHold
from sim.actors.event_bus import EventBus
from sim.core.dists import lognormal, unit_noise
from sim.domain.crm import PricingAlertFlow
from sim.domain.population import Population


class CrmFlow(Actor):
    name = "crm"

    def __init__(self, ctx: RunContext, bus: EventBus, population: Population) -> None:
        super().__init__(ctx)
        self.p = ctx.scenario.crm
        self.queue = bus.subscribe()
        self.retention = ctx.scenario.event_bus.retention
        self.flow = PricingAlertFlow(population.org)
        self.rng = ctx.rng("crm.flow")
        self._running: dict[int, np.ndarray] = {}
        self.hold = TimedHold()
        self.batches = 0
        self.events = 0
        self.faults = 0
        self.tasks = 0
        self.busy_s = 0.0
        for w in range(self.p.flow.concurrency):
            ctx.env.process(self._worker(w))

    def _take(self):
        """Available events, up to a batch, in replay order; expired ones are dropped."""
        now = self.env.now
        f = self.p.flow
        q = self.queue.events
        batch = []
        while q and len(batch) < f.batch_size and q[0].available_at <= now:
            event = q.popleft()
            if now - event.published_at > self.retention:
                self.ledger.drop("platform_event", np.array([event.id]), "retention", now)
                continue
            batch.append(event)
        return batch

    def _worker(self, w: int):
        env, f = self.env, self.p.flow
        while True:
            yield self.queue.wait()
            q = self.queue.events
            if not q:
                self.queue.rearm()
                continue
            if q[0].available_at > env.now:
                yield env.timeout(q[0].available_at - env.now)
                continue
            batch = self._take()
            if not q:
                self.queue.rearm()
            if not batch:
                continue
            start = env.now
            ids = np.array([e.id for e in batch], dtype=np.int64)
            self.ledger.stamp("platform_event", "flow_start", ids, start)
            run = self.flow.run([e.payload for e in batch])
            k = len(run.tasks)
            service = (f.batch_overhead + len(batch) * f.owner_lookup + k * (f.task_insert + f.notification))
            service *= float(unit_noise(self.rng, f.service_cv))
            self._running[w] = ids
            yield env.timeout(service)
            del self._running[w]
            commit = env.now
            self.flow.commit(run, commit)
            self.busy_s += service
            self.batches += 1
            self.events += len(batch)
            self.faults += run.faults
            self.tasks += k
            lat = self.p.notification_latency
            shown = commit + lognormal(self.rng, lat.median, lat.sigma, size=len(batch))
            notified = np.ones(len(batch), dtype=bool)
            notified[run.faulted] = False
            shown[~notified] = commit  # a faulted interview ends at commit, with no notification
            self.ledger.stamp("platform_event", "notification", ids[notified], shown[notified])
            self.ledger.deliver("platform_event", ids, shown)
            self.hold.add(ids, shown)
            self.hold.prune(commit)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"platform_event": list(self._running.values()) + self.hold.held(horizon)}

    def counts(self) -> dict:
        return {"flow_batches": self.batches, "events_processed": self.events, "tasks_created": self.tasks,
                "notifications_sent": self.tasks, "flow_faults": self.faults, "busy_s": round(self.busy_s, 6)}
