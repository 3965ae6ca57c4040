"""The Data Action service: firing -> action rule -> payload -> targets.

Each firing (of the insight or a segment entry) is a ``firing`` message (parent: the click that
completed it). The service looks up the unified profile's CRM contact (and so the account) and
applies the action rule (``require_contact_id``: a firing of an anonymous profile is dropped as
``filtered_no_contact``); otherwise the firing is delivered, the payload compiled, and one message
created per target: a ``platform_event`` published on the event bus, and/or a ``webhook`` call.
Both leave the ``action`` stage at the firing time; the publish request is ready ``latency``
seconds later. Platform events go to the bus in publish calls (``publish_calls``): a call is sent
when it holds ``max_events`` events, when the next event would take it over ``max_bytes``, or
``linger`` seconds after its first event; with the default (one event per call) each event is
sent when it is ready.
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
                 publish: Callable[[list[tuple[int, dict, int]]], None] | None,
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
        self._call: list[tuple[int, dict, int]] = []  # the open publish call: (id, payload, bytes)
        self._call_bytes = 0
        self._calls_sent = 0  # numbers the open call, so that its linger timer knows it

    def on_firing(self, firing: InsightFiring) -> None:
        now = self.env.now
        self.firings += 1
        fid = self.ledger.create_one("firing", now, parent=firing.click_id)
        contact = self.contact_of(firing.profile)
        if contact is None and self.p.require_contact_id:
            self.filtered += 1
            self.ledger.drop_one("firing", fid, "filtered_no_contact", now)
            return
        self.ledger.deliver_one("firing", fid, now)
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
            mid = self.ledger.create_one(kind, now, parent=firing.click_id)
            self.created[kind] += 1
            self.pending[kind].add(mid)
            delay = float(lognormal(self.rng, self.p.latency.median, self.p.latency.sigma))
            self.ctx.at(now + delay, self._send, kind, sink, mid, payload)

    def _send(self, kind: str, sink, mid: int, payload: dict) -> None:
        if kind != "platform_event":
            self.pending[kind].remove(mid)
            sink(mid, payload)
            return
        size = payload_bytes(payload) + self.p.extra_payload_bytes
        self.largest = max(self.largest, size)
        calls = self.p.publish_calls
        if self._call and self._call_bytes + size > calls.max_bytes:
            self._send_call()
        self._call.append((mid, payload, size))
        self._call_bytes += size
        if len(self._call) >= calls.max_events or self._call_bytes >= calls.max_bytes:
            self._send_call()  # full (an event alone over max_bytes goes alone)
        elif len(self._call) == 1:
            self.ctx.at(self.env.now + calls.linger, self._linger_over, self._calls_sent)

    def _linger_over(self, call_number: int) -> None:
        if call_number == self._calls_sent and self._call:
            self._send_call()

    def _send_call(self) -> None:
        call, self._call, self._call_bytes = self._call, [], 0
        self._calls_sent += 1
        for mid, _, _ in call:
            self.pending["platform_event"].remove(mid)
        assert self.publish is not None
        self.publish(call)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {k: [s.array()] for k, s in self.pending.items()}

    def counts(self) -> dict:
        return {"firings_received": self.firings, "filtered_no_contact": self.filtered,
                "platform_events": self.created["platform_event"], "webhooks": self.created["webhook"],
                "largest_event_bytes": self.largest}
