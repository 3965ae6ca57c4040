"""The real-time data graph: Data Cloud's real-time layer, as an option beside the micro-batch.

With ``realtime.enabled``, each event the Ingestion API accepts (valid, at its acceptance time)
reaches the data graph ``realtime.latency`` later (log-normal; the published figure is 95 % of events
from ingestion to real-time activation in about 500 ms) and goes on to identity resolution and the
insights at once, instead of waiting for the ~3-minute micro-batch and the lakehouse. Events that
reach the graph within one ``tick`` are handed on together at the tick's end (the twin's time
resolution, 50 ms by default, so the actor wakes only for ticks that hold events: no polling).
At-least-once resends are deduplicated on the event id, as the lakehouse does.

Stages of a click on this path: ``click -> ingest -> graph -> identity -> insight``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.data_cloud.lakehouse import SeenEventIds
from sim.core.batch import Batch
from sim.core.dists import lognormal
from sim.scenario.data_cloud import Realtime


class RealtimeGraph(Actor):
    """See the module docstring."""

    name = "graph"

    def __init__(self, ctx: RunContext, settings: Realtime, forward: Callable[[Batch], None]) -> None:
        super().__init__(ctx)
        self.p = settings
        self.forward = forward
        self.rng = ctx.rng("realtime.latency")
        self.seen = SeenEventIds()
        self._due: dict[float, list[Batch]] = {}  # tick end -> batches reaching the graph in that tick
        self.events = 0
        self.handovers = 0

    def submit(self, batch: Batch) -> None:
        """Accepted, valid events (``batch.t``: acceptance times, >= now)."""
        lat = self.p.latency
        arrive = batch.t + lognormal(self.rng, lat.median, lat.sigma, size=len(batch))
        tick = self.p.tick
        ends = (np.floor(arrive / tick) + 1.0) * tick  # the end of the tick each event reaches the graph in
        order = np.argsort(ends, kind="stable")
        batch, ends = batch.take(order), ends[order]
        cuts = np.flatnonzero(np.diff(ends)) + 1
        for part in np.split(np.arange(len(batch)), cuts):
            end = float(ends[part[0]])
            if end >= self.ctx.horizon:  # in flight at the horizon
                self._due.setdefault(end, []).append(batch.take(part))
                continue
            waiting = self._due.get(end)
            if waiting is None:
                self._due[end] = [batch.take(part)]
                self.ctx.at(end, self._hand_over, end)
            else:
                waiting.append(batch.take(part))

    def _hand_over(self, end: float) -> None:
        batch = Batch.concat(self._due.pop(end))
        self.handovers += 1
        self.events += len(batch)
        batch = self.seen.keep_first(batch, self.ledger, end)
        if len(batch):
            self.ledger.stamp("click", "graph", batch.ids, end)
            self.forward(batch.with_columns(t=np.full(len(batch), end)))

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"click": [b.ids for parts in self._due.values() for b in parts]}

    def counts(self) -> dict:
        return {"events": self.events, "handovers": self.handovers, "duplicates_dropped": self.seen.dropped}
