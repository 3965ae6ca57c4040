"""From a scenario to wired actors: the B2B Data Action pipeline of seed 000.

    visitors -> IngestionAPI -> Lakehouse -> IdentityService -> InsightActor -> DataActionService
        -> EventBus -> CrmFlow                      (platform_event messages)
        -> WebhookSender                            (webhook messages)

Message kinds and their stages (path order; the first is creation):

* ``click``: click, ingest, lakehouse, identity, insight
* ``platform_event``: action, publish, flow_start, notification
* ``webhook``: action, post, ack
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from sim.actors.base import Actor, RunContext
from sim.actors.crm import CrmFlow
from sim.actors.data_actions import DataActionService
from sim.actors.event_bus import EventBus
from sim.actors.identity_service import IdentityService
from sim.actors.ingestion import IngestionAPI
from sim.actors.insights import InsightActor
from sim.actors.intent_views import IntentViews
from sim.actors.lakehouse import Lakehouse
from sim.actors.segments import SegmentActor
from sim.actors.visitors import WebVisitors
from sim.actors.webhooks import WebhookSender
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams
from sim.domain.events import PAGE_CODE
from sim.domain.population import Population, build_population
from sim.scenario.models import Scenario

KINDS = {
    "click": ["click", "ingest", "lakehouse", "identity", "insight"],
    "platform_event": ["action", "publish", "flow_start", "notification"],
    "webhook": ["action", "post", "ack"],
}


@dataclass
class Pipeline:
    """The wired actors of one run."""

    ctx: RunContext
    population: Population
    visitors: object
    ingestion: IngestionAPI
    lakehouse: Lakehouse
    identity: IdentityService
    insights: InsightActor
    data_actions: DataActionService
    event_bus: EventBus
    crm: CrmFlow
    webhooks: WebhookSender | None
    segments: SegmentActor | None = None
    intent_views: IntentViews | None = None

    @property
    def actors(self) -> list[Actor]:
        return [a for a in (self.visitors, self.ingestion, self.lakehouse, self.identity, self.insights,
                            self.segments, self.data_actions, self.event_bus, self.crm, self.webhooks)
                if a is not None]


def _person_of(identity: IdentityService, profile: int) -> int:
    """The prospect behind a profile (its CRM contact index), or −1 for an anonymous profile."""
    contact = identity.contact_of(profile)
    return -1 if contact is None else contact


def build(scenario: Scenario, seed: int, visitors=None) -> Pipeline:
    """Wire the actors of ``scenario`` for one run with ``seed``.

    ``visitors`` replaces the web traffic model: an object with ``take_until(t)`` (see
    :class:`~sim.actors.visitors.ScriptedClicks`) or a callable ``(ctx, population) -> object``.
    """
    env = simpy.Environment()
    ledger = Ledger()
    for kind, stages in KINDS.items():
        ledger.register(kind, stages)
    rng = RandomStreams(seed)
    ctx = RunContext(env, ledger, rng, scenario, scenario.horizon)
    v = scenario.visitors
    population = build_population(rng("population"), prospects=v.prospects, anonymous=v.anonymous,
                                  accounts=v.accounts, sales_reps=v.sales_reps, hot_share=v.hot_share,
                                  mean_devices=v.mean_devices, lifecycle_shares=v.lifecycle_shares,
                                  lifecycle_rng=rng("population.lifecycle"))
    if visitors is None:
        source = WebVisitors(ctx, population)
    elif callable(visitors) and not hasattr(visitors, "take_until"):
        source = visitors(ctx, population)
    else:
        source = visitors
    bus = EventBus(ctx)
    crm = CrmFlow(ctx, bus, population)
    targets = scenario.data_actions.targets
    webhooks = WebhookSender(ctx) if "webhook" in targets else None
    identity = IdentityService(ctx, population, forward=None)  # type: ignore[arg-type]
    data_actions = DataActionService(ctx, population, identity.contact_of,
                                     publish=bus.publish if "platform_event" in targets else None,
                                     post=webhooks.post if webhooks else None)
    triggers = scenario.data_actions.triggers
    insights = InsightActor(ctx, data_actions.on_firing if "insight" in triggers else None)
    segments = None
    if scenario.segmentation.segments:
        segments = SegmentActor(ctx, data_actions.on_firing if "segment" in triggers else None,
                                person_of=lambda profile: _person_of(identity, profile),
                                attributes=population.profile_attributes)

        def forward(batch, merges):
            insights.receive(batch, merges)
            segments.receive(batch, merges)
        identity.forward = forward
    else:
        identity.forward = insights.receive
    lakehouse = Lakehouse(ctx, identity.receive)
    ingestion = IngestionAPI(ctx, source, lakehouse.submit)
    intent_views = IntentViews(population.n_prospects, PAGE_CODE[scenario.insights.page])
    ingestion.observers.append(intent_views)
    return Pipeline(ctx, population, source, ingestion, lakehouse, identity, insights, data_actions, bus,
                    crm, webhooks, segments, intent_views)
