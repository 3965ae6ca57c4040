"""The CRM subscriber: a platform-event-triggered Flow in Sales Cloud (message kind ``flow``).

The Flow takes up to ``batch_size`` available events at a time (in replay order), up to
``concurrency`` batches at once, each in its own transaction as the Automated Process user. A batch
of ``n`` events with ``k`` tasks created takes ``(batch_overhead + n * owner_lookup + k *
(task_insert + notification)) * noise * slowdown`` seconds. Its events leave ``flow_start`` when
the batch starts; on commit the Tasks exist, and each owner's bell notification shows
``notification_latency`` later: that is the ``notification`` stage, where the delivery ends.

Faults (target ``crm``): during an ``outage`` the Flow takes nothing; events wait on the bus and
it resumes from where it stopped when the outage ends (events that passed the bus retention
meanwhile are lost: ``retention``). Under an ``error_rate`` fault a batch's transaction fails and
rolls back: the interview errors, nothing is created, and the Flow does not retry, so its events
are dropped as ``flow_error``. ``slowdown`` multiplies batch times.
"""

from __future__ import annotations

import numpy as np

from sim.actors.base import Actor, RunContext, TimedHold
from sim.actors.data_cloud.event_bus import EventBus
from sim.core.dists import lognormal, unit_noise
from sim.domain.crm import PricingAlertFlow
from sim.domain.population import Population
from sim.scenario.data_cloud import Crm

KIND = "flow"
TARGET = "crm"


class CrmFlow(Actor):
    name = "crm"

    def __init__(self, ctx: RunContext, settings: Crm, bus: EventBus, population: Population) -> None:
        super().__init__(ctx)
        self.p = settings
        self.faults = ctx.faults
        self.queue = bus.subscribe(KIND, TARGET)
        self.flow = PricingAlertFlow(population.org)
        self.rng = ctx.rng("crm.flow")
        self.rng_fail = ctx.rng("crm.faults")
        self._running: dict[int, np.ndarray] = {}
        self.hold = TimedHold()
        self.batches = 0
        self.events = 0
        self.faults_count = 0
        self.failed_batches = 0
        self.tasks = 0
        self.busy_s = 0.0
        self.largest_batch = 0
        for w in range(self.p.flow.concurrency):
            ctx.env.process(self._worker(w))

    def _worker(self, w: int):
        env, f = self.env, self.p.flow
        while True:
            batch = yield from self.queue.take(f.batch_size)
            self.largest_batch = max(self.largest_batch, len(batch))
            start = env.now
            ids = np.array([d for d, _ in batch], dtype=np.int64)
            self.ledger.stamp(KIND, "flow_start", ids, start)
            run = self.flow.run([e.payload for _, e in batch])
            k = len(run.tasks)
            service = (f.batch_overhead + len(batch) * f.owner_lookup + k * (f.task_insert + f.notification))
            service *= float(unit_noise(self.rng, f.service_cv)) * self.faults.slowdown(TARGET, start)
            failed = self.rng_fail.random() < self.faults.error_rate(TARGET, start, 0.0)
            self._running[w] = ids
            yield env.timeout(service)
            del self._running[w]
            commit = env.now
            self.busy_s += service
            self.batches += 1
            if failed:  # the transaction rolled back: nothing created, no retry for a Flow
                self.failed_batches += 1
                self.ledger.drop(KIND, ids, "flow_error", commit)
                continue
            self.flow.commit(run, commit)
            self.events += len(batch)
            self.faults_count += run.faults
            self.tasks += k
            lat = self.p.notification_latency
            shown = commit + lognormal(self.rng, lat.median, lat.sigma, size=len(batch))
            notified = np.ones(len(batch), dtype=bool)
            notified[run.faulted] = False
            shown[~notified] = commit  # a faulted interview ends at commit, with no notification
            self.ledger.stamp(KIND, "notification", ids[notified], shown[notified])
            self.ledger.deliver(KIND, ids, shown)
            self.hold.add(ids, shown)
            self.hold.prune(commit)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {KIND: list(self._running.values()) + self.hold.held(horizon)}

    def counts(self) -> dict:
        return {"flow_batches": self.batches, "events_processed": self.events, "tasks_created": self.tasks,
                "notifications_sent": self.tasks, "flow_faults": self.faults_count,
                "failed_batches": self.failed_batches, "largest_batch": self.largest_batch,
                "busy_s": round(self.busy_s, 6)}
