"""An Apex trigger subscribed to the channel (message kind ``apex:<name>``).

The trigger runs on batches of up to ``batch_size`` available events in replay order. With
``partitions`` > 1 it runs as parallel subscriptions: each event goes to the partition given by a
stable hash of its ``partition_key`` payload field, and order holds within a partition. A run takes
``(batch_overhead + n * per_event) * noise * slowdown`` seconds; deliveries leave ``run_start``
when their batch first starts and ``processed`` when it succeeds.

A run throws ``EventBus.RetryableException`` with probability ``retryable_rate`` (raised by an
``error_rate`` fault). The whole batch is then delivered again, in order, after a growing delay
(``retry_delay``, doubling, capped at ``retry_delay_max``). After ``max_runs`` failed runs the
trigger enters the **error state** and stops. The failed batch is lost (``trigger_error_state``),
unless ``resume_checkpoint`` is set, in which case it is delivered again on resume. Events
published while the trigger is in error are not sent to it (``trigger_error_state``). If
``resume_after`` is set, an admin resumes the trigger that long after it failed; events that
were waiting from before the error are then processed (if still within the retention).

During an ``outage`` fault the trigger's subscription is suspended; it resumes where it stopped.
"""

from __future__ import annotations

import zlib

import numpy as np

from sim.actors.base import RunContext
from sim.actors.data_cloud.event_bus import BusEvent, BusSubscriber, EventBus
from sim.actors.queue import DeliveryQueue
from sim.core.dists import unit_noise


class ApexTrigger(BusSubscriber):
    prefix = "apex"

    def __init__(self, ctx: RunContext, bus: EventBus, spec) -> None:
        super().__init__(ctx, bus, spec)
        self.rng = ctx.rng(f"apex.{spec.name}")
        self.parts = [DeliveryQueue(ctx.env, ctx.ledger, self.kind, ctx.faults, self.target, bus.retention)
                      for _ in range(spec.partitions)]
        self.running: dict[int, np.ndarray] = {}
        self.kept: list[tuple[int, BusEvent]] = []  # a failed batch kept for resume (checkpoint)
        self.error_since: float | None = None
        self.resumes_at: float | None = None
        self.resumed = ctx.env.event()
        self.runs = self.retries = self.batches = self.processed = self.error_states = 0
        self.order_violations = 0
        self._last_replay = [-1] * spec.partitions
        ctx.env.process(self._dispatch())
        for k in range(spec.partitions):
            ctx.env.process(self._partition(k))

    # -- routing -------------------------------------------------------------------------------
    def partition_of(self, payload: dict) -> int:
        key = str(payload.get(self.p.partition_key, ""))
        return zlib.crc32(key.encode()) % self.p.partitions

    def _dispatch(self):
        """Move deliveries from the bus queue to the partitions (or drop them in error state)."""
        env = self.env
        while True:
            for did, event in (yield from self.queue.drain()):
                if self.error_since is not None and event.published_at >= self.error_since:
                    self.ledger.drop(self.kind, np.array([did]), "trigger_error_state", env.now)
                    continue
                self.parts[self.partition_of(event.payload)].put(did, event)

    # -- a partition's subscription -----------------------------------------------------------
    def _partition(self, k: int):
        while True:
            batch = yield from self.parts[k].take(self.p.batch_size, gate=self._stopped)
            yield from self._run(k, batch)

    def _stopped(self):
        """While in the error state: the event of an admin's resume (or None when running)."""
        return self.resumed if self.error_since is not None else None

    def _run(self, k: int, batch):
        env, p = self.env, self.p
        ids = np.array([d for d, _ in batch], dtype=np.int64)
        self.ledger.stamp(self.kind, "run_start", ids, env.now)
        self.running[k] = ids
        self.batches += 1
        for run in range(1, p.max_runs + 1):
            self.runs += 1
            service = (p.batch_overhead + len(batch) * p.per_event) * float(unit_noise(self.rng, p.service_cv))
            service *= self.faults.slowdown(self.target, env.now)
            fails = self.rng.random() < self.faults.error_rate(self.target, env.now, p.retryable_rate)
            yield env.timeout(service)
            if not fails:
                for _, event in batch:
                    if event.replay_id < self._last_replay[k]:
                        self.order_violations += 1
                    self._last_replay[k] = event.replay_id
                self.ledger.stamp(self.kind, "processed", ids, env.now)
                self.ledger.deliver(self.kind, ids, env.now)
                self.processed += len(batch)
                del self.running[k]
                return
            if run < p.max_runs:
                self.retries += 1
                yield env.timeout(min(p.retry_delay * 2 ** (run - 1), p.retry_delay_max))
        # the 10th failed run: error state
        del self.running[k]
        self.error_states += 1
        self.error_since = env.now
        self.resumed = env.event()
        self.resumes_at = None if p.resume_after is None else env.now + p.resume_after
        if self.resumes_at is not None:
            self.ctx.at(self.resumes_at, self._resume)
        if p.resume_checkpoint:
            self.kept.extend(batch)
        else:
            self.ledger.drop(self.kind, ids, "trigger_error_state", env.now)

    def _resume(self) -> None:
        """An admin resumed the trigger: the checkpointed batch goes first, then what waited."""
        self.error_since = self.resumes_at = None
        if self.kept:
            for did, event in sorted(self.kept, key=lambda x: x[1].replay_id, reverse=True):
                self.parts[self.partition_of(event.payload)].appendleft(did, event)
            self.kept = []
        self.resumed.succeed()

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        kept = np.array([d for d, _ in self.kept], dtype=np.int64)
        return {self.kind: list(self.running.values()) + [part.ids() for part in self.parts] + [kept]}

    def counts(self) -> dict:
        return {"batches": self.batches, "runs": self.runs, "retries": self.retries, "processed": self.processed,
                "error_states": self.error_states, "in_error_state": self.error_since is not None,
                "order_violations": self.order_violations}
