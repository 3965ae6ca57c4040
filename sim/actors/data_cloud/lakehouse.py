"""The lakehouse: processes each micro-batch into the data stream and passes it on.

A micro-batch of ``n`` events takes ``(batch_overhead + n * per_event) * noise`` seconds on one of
``processors`` FIFO processors (:class:`~sim.core.station.FifoStation`); its events leave the
``lakehouse`` stage when the batch is done, and the batch is handed to identity resolution at that
moment.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.batch import Batch
from sim.core.dense_ids import SeenIds
from sim.core.dists import unit_noise
from sim.core.ledger import Ledger
from sim.core.station import FifoStation
from sim.scenario.data_cloud import Lakehouse as LakehouseSettings


class SeenEventIds:
    """The event ids processed so far (dense, non-negative ids): at-least-once delivery leaves one
    row per event id."""

    def __init__(self) -> None:
        self._seen = SeenIds()
        self.dropped = 0  # repeats dropped by keep_first

    def keep_first(self, batch: Batch, ledger: Ledger, t: float) -> Batch:
        """``batch`` without its repeats, which are dropped in the ledger as ``duplicate`` at ``t``."""
        dup = self.repeats(batch["event_id"])
        if not dup.any():
            return batch
        self.dropped += int(dup.sum())
        ledger.drop("click", batch.ids[dup], "duplicate", t)
        return batch.take(~dup)

    def repeats(self, event_id: np.ndarray) -> np.ndarray:
        """Rows whose event id was processed before (in an earlier call or earlier in this one)."""
        return ~self._seen.first_time(event_id)


class Lakehouse(Actor):
    name = "lakehouse"

    def __init__(self, ctx: RunContext, settings: LakehouseSettings, forward: Callable[[Batch], None]) -> None:
        super().__init__(ctx)
        self.p = settings
        self.forward = forward
        self.station = FifoStation(self.p.processors)
        self.rng = ctx.rng("lakehouse.service")
        self._in_service: dict[int, Batch] = {}
        self._seq = 0
        self.batches = 0
        self.events = 0
        self.seen = SeenEventIds()

    def submit(self, batch: Batch, ready: float) -> None:
        """Take a micro-batch cut at ``ready`` (seconds, >= now)."""
        service = (self.p.batch_overhead + self.p.per_event * len(batch)) * unit_noise(self.rng, self.p.service_cv)
        _, done = self.station.serve_one(ready, float(service))
        self.ledger.stamp("click", "lakehouse", batch.ids, done)
        key = self._seq
        self._seq += 1
        self._in_service[key] = batch
        self.ctx.at(done, self._done, key, done)

    def _done(self, key: int, done: float) -> None:
        batch = self._in_service.pop(key)
        self.batches += 1
        self.events += len(batch)
        batch = self.seen.keep_first(batch, self.ledger, done)  # at-least-once: one row per event id
        if len(batch):
            self.forward(batch.with_columns(t=np.full(len(batch), done)))

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"click": [b.ids for b in self._in_service.values()]}

    def counts(self) -> dict:
        return {"batches": self.batches, "events": self.events, "duplicates_dropped": self.seen.dropped,
                "busy_s": round(self.station.busy_s, 6)}
