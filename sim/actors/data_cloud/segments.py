"""The segment job: batch segments recomputed in the lakehouse at refresh times.

It reads the same identity-resolved stream as the insight (a matching event is in the lakehouse
from the time identity resolution releases it) and keeps each segment's
:class:`~sim.domain.segments.SegmentState`. At each scheduled refresh ``first_refresh + k·refresh``
a publish starts if the org runs fewer than ``max_concurrent_publishes`` publishes (this segment's
and ``background_publishes`` other segments on the same schedule); otherwise it is skipped and
retried ``retry_after`` later. A segment's ``profile_filter`` (on ``lifecycle_stage`` and ``known``)
is checked on each qualifying profile at the snapshot. A publish snapshots the events that arrived by its start, takes
``publish_time``, and then hands every entering profile to the Data Action service as a firing
whose origin is the click that completed the condition.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.data_cloud.insights import InsightFiring
from sim.core.batch import Batch
from sim.core.dists import lognormal
from sim.domain.events import PAGE_CODE, PAGE_VIEW
from sim.domain.filters import compile_filter
from sim.domain.segments import SegmentState, publish_allowed
from sim.scenario.data_cloud import Segmentation


class SegmentActor(Actor):
    name = "segments"

    def __init__(self, ctx: RunContext, settings: Segmentation, on_entry: Callable[[InsightFiring], None] | None,
                 person_of: Callable[[int], int] | None = None,
                 attributes: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None) -> None:
        super().__init__(ctx)
        self.person_of = person_of
        self.attributes = attributes
        self.p = settings
        self.on_entry = on_entry
        self.rng = ctx.rng("segments.publish_time")
        self.states = [SegmentState(s.min_events, s.lookback) for s in self.p.segments]
        self.filters = [compile_filter(s.profile_filter) for s in self.p.segments]
        self.pages = [PAGE_CODE[s.page] for s in self.p.segments]
        self.pending: list[list[tuple[float, int, int, float]]] = [[] for _ in self.p.segments]
        self.busy_until: list[float] = []
        self.alias: dict[int, int] = {}  # absorbed profile -> survivor (identity merges)
        self.publishes = [0] * len(self.p.segments)
        self.skipped = [0] * len(self.p.segments)
        self.entries = [0] * len(self.p.segments)
        for k, seg in enumerate(self.p.segments):
            ctx.env.process(self._schedule(k, seg))

    def receive(self, batch: Batch, merges: list[tuple[int, int, int]]) -> None:
        """The resolved stream: remember matching events with the time they became available."""
        views = batch["event"] == PAGE_VIEW
        for _, absorbed, survivor in merges:
            self.alias[absorbed] = survivor
            for state in self.states:
                state.merge(absorbed, survivor)
        for k in range(len(self.states)):
            rows = np.flatnonzero(views & (batch["page"] == self.pages[k]))
            self.pending[k].extend(zip(batch.t[rows].tolist(), batch["profile"][rows].tolist(),
                                       batch.ids[rows].tolist(), batch["event_time"][rows].tolist()))

    def _schedule(self, k: int, seg):
        env = self.env
        due = seg.first_refresh
        while due <= self.ctx.horizon:
            yield env.timeout(due - env.now)
            start = env.now
            while True:
                running = [end for end in self.busy_until if end > start]
                background = [due + seg.publish_time.median] * self.p.background_publishes  # started when due
                if publish_allowed(start, running + background, self.p.max_concurrent_publishes):
                    break
                self.skipped[k] += 1
                yield env.timeout(self.p.retry_after)
                start = env.now
            duration = float(lognormal(self.rng, seg.publish_time.median, seg.publish_time.sigma))
            self.busy_until = [end for end in self.busy_until if end > start] + [start + duration]
            entries = self._snapshot(k, start)
            self.publishes[k] += 1
            self.ctx.at(start + duration, self._publish, k, entries, start + duration)
            due += seg.refresh
            while due <= env.now:  # a retried publish may have run past the next due time
                due += seg.refresh

    def _snapshot(self, k: int, at: float):
        state = self.states[k]
        keep = []
        for avail, profile, click, t in self.pending[k]:
            if avail <= at:
                state.add(self._root(profile), t, click)
            else:
                keep.append((avail, profile, click, t))
        self.pending[k] = keep
        condition = self.filters[k]
        person_of, attributes = self.person_of, self.attributes
        if not condition.expression or person_of is None or attributes is None:
            return state.publish(at)

        def eligible(profiles: list[int]) -> np.ndarray:
            people = np.array([person_of(p) for p in profiles], dtype=np.int64)
            return condition.mask(attributes(people), len(profiles))
        return state.publish(at, eligible)

    def _root(self, profile: int) -> int:
        while profile in self.alias:
            profile = self.alias[profile]
        return profile

    def _publish(self, k: int, entries, done: float) -> None:
        self.entries[k] += len(entries)
        if self.on_entry is None:
            return
        name = self.p.segments[k].name
        for e in entries:
            self.on_entry(InsightFiring(name, e.profile, e.origin, e.origin_t, done, self.p.segments[k].min_events))

    def counts(self) -> dict:
        return {s.name: {"publishes": self.publishes[k], "skipped_publishes": self.skipped[k],
                         "entries": self.entries[k], "members": len(self.states[k].members)}
                for k, s in enumerate(self.p.segments)}
