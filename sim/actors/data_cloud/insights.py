"""The Streaming Insight actor: runs :class:`~sim.domain.insights.InsightEngine` on the resolved stream.

Every event is evaluated ``per_event`` seconds after identity resolution released it; that is when
it leaves the ``insight`` stage and its click is *delivered* (or *dropped* as ``late`` when it is
behind the watermark). A firing goes to the Data Action service at the evaluation time of the event
that completed it, with that click as the firing's origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.actors.base import Actor, RunContext, TimedHold
from sim.core.batch import Batch
from sim.domain.events import PAGE_CODE, PAGE_VIEW, PAGES
from sim.domain.filters import compile_filter
from sim.domain.insights import CountInsight, InsightEngine
from sim.scenario.data_cloud import Insights

PAGE_NAMES = np.array(PAGES, dtype=object)


@dataclass(frozen=True)
class InsightFiring:
    """A firing as handed to the Data Action service."""

    insight: str
    profile: int
    click_id: int
    fired_at: float  # event time of the completing click (seconds)
    evaluated_at: float  # when the engine fired (seconds)
    measure: float


STATE_SAMPLE_S = 10.0  # the live window state is measured at most this often (s of simulated time)


class InsightActor(Actor):
    name = "insights"

    def __init__(self, ctx: RunContext, settings: Insights, on_firing: Callable[[InsightFiring], None] | None) -> None:
        super().__init__(ctx)
        p = settings
        self.p = p
        self.engine = InsightEngine(CountInsight(p.name, p.threshold, p.window, p.window_type,
                                                 p.cooldown, p.allowed_lateness, p.measure.partition(":")[0],
                                                 phase_s=ctx.start_epoch_s % p.window))
        self.page_code = PAGE_CODE[p.page]
        self.filter = compile_filter(p.filter) if p.filter else None
        self.on_firing = on_firing
        self.hold = TimedHold()
        self.matching = 0
        self.max_state = 0
        self._sampled_at = -math.inf

    def receive(self, batch: Batch, merges: list[tuple[int, int, int]]) -> None:
        now = self.env.now
        self.hold.prune(now)
        evaluated = batch.t + self.p.per_event
        needs_names = self.filter is not None or self.p.measure == "distinct:page"
        pages = PAGE_NAMES[batch["page"]] if needs_names else None  # page names only when read
        if self.filter is None:
            matching = (batch["event"] == PAGE_VIEW) & (batch["page"] == self.page_code)
        else:
            events = np.where(batch["event"] == PAGE_VIEW, "page_view", "login").astype(object)
            assert pages is not None  # a filter needs the page names
            matching = self.filter.mask({"page": pages, "event": events}, len(batch))
        self.matching += int(matching.sum())
        values = pages if self.p.measure == "distinct:page" else None
        late, firings = self.engine.process(batch["event_time"], batch["profile"], matching, merges, values=values)
        ids = batch.ids
        self.ledger.stamp("click", "insight", ids, evaluated)
        self.ledger.deliver("click", ids[~late], evaluated[~late])
        if late.any():
            self.ledger.drop("click", ids[late], "late", evaluated[late])
        self.hold.add(ids, evaluated)
        if now - self._sampled_at >= STATE_SAMPLE_S:  # every micro-batch; the real-time graph's hand-overs
            self._sampled_at = now                    # at most every STATE_SAMPLE_S
            state = self.engine.state_size()
            self.max_state = max(self.max_state, state)
            self.ctx.sample("insight_state_size", now, state)
        if self.on_firing is None:  # evaluated and counted, but not a Data Action trigger
            return
        for f in firings:
            firing = InsightFiring(self.p.name, f.group, int(ids[f.index]), f.fired_at,
                                   float(evaluated[f.index]), f.measure)
            self.ctx.at(firing.evaluated_at, self.on_firing, firing)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"click": self.hold.held(horizon)}

    def counts(self) -> dict:
        e = self.engine
        return {"events_evaluated": e.events, "matching": self.matching, "late": e.late,
                "firings": e.firings, "max_state_size": self.max_state}
