"""The Data Action service: firing -> action rule -> payload -> targets.

Each firing (of the insight or a segment entry) is a ``firing`` message (parent: the click that
completed it). The service looks up the unified profile's CRM contact (and so the account) and
applies the action rule (``require_contact_id``: a firing of an anonymous profile is dropped as
``filtered_no_contact``); otherwise the firing is delivered, the payload compiled, and one message
created per target: a ``platform_event`` published on the event bus, and/or a ``webhook`` call.
Both leave the ``action`` stage at the firing time; the publish request reaches the bus
``latency`` seconds later.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, IdSet, RunContext
from sim.actors.data_cloud.insights import InsightFiring
from sim.core.dists import lognormal
from sim.domain.actions import action_payload, iso_time, payload_bytes
from sim.domain.population import Population
from sim.scenario.data_cloud import DataActions


class DataActionService(Actor):
    name = "data_actions"

    def __init__(self, ctx: RunContext, settings: DataActions, population: Population,
                 contact_of: Callable[[int], int | None],
                 publish: Callable[[int, dict], None] | None,
                 post: Callable[[int, dict], None] | None) -> None:
        super().__init__(ctx)
        self.p = settings
        self.population = population
        self.contact_of = contact_of
        self.publish = publish
        self.post = post
        self.rng = ctx.rng("data_actions.latency")
        self.start_epoch = ctx.start_epoch_s
        self.pending = {"platform_event": IdSet(), "webhook": IdSet()}
        self.firings = 0
        self.filtered = 0
        self.created = {"platform_event": 0, "webhook": 0}
        self.largest = 0  # bytes of the largest platform event published

    def on_firing(self, firing: InsightFiring) -> None:
        now = self.env.now
        self.firings += 1
        fid = self.ledger.create("firing", now, parent=firing.click_id)
        contact = self.contact_of(firing.profile)
        if contact is None and self.p.require_contact_id:
            self.filtered += 1
            self.ledger.drop("firing", fid, "filtered_no_contact", now)
            return
        self.ledger.deliver("firing", fid, now)
        contact_id = account_name = None
        if contact is not None:
            contact_id = self.population.contact_ids[contact]
            record = self.population.org.contacts[contact_id]
            account_name = self.population.org.accounts[record.account_id].name
        payload = action_payload(contact_id, account_name, self.p.action, firing.profile,
                                 iso_time(firing.fired_at, self.start_epoch))
        for target in self.p.targets:
            kind = target
            sink = self.publish if kind == "platform_event" else self.post
            if sink is None:
                continue
            mid = int(self.ledger.create(kind, now, parent=firing.click_id)[0])
            self.created[kind] += 1
            self.pending[kind].add(mid)
            delay = float(lognormal(self.rng, self.p.latency.median, self.p.latency.sigma))
            self.ctx.at(now + delay, self._send, kind, sink, mid, payload)

    def _send(self, kind: str, sink, mid: int, payload: dict) -> None:
        self.pending[kind].remove(mid)
        if kind == "platform_event":
            size = payload_bytes(payload) + self.p.extra_payload_bytes
            self.largest = max(self.largest, size)
            sink(mid, payload, size)
        else:
            sink(mid, payload)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {k: [s.array()] for k, s in self.pending.items()}

    def counts(self) -> dict:
        return {"firings_received": self.firings, "filtered_no_contact": self.filtered,
                "platform_events": self.created["platform_event"], "webhooks": self.created["webhook"],
                "largest_event_bytes": self.largest}
