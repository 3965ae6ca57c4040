"""From a scenario to wired actors: the B2B Data Action pipeline of seed 000.

    visitors -> IngestionAPI -> Lakehouse -> IdentityService -> InsightActor (+ SegmentActor)
        -> DataActionService -> EventBus -> CrmFlow, Apex triggers, Pub/Sub clients
                             -> WebhookSender

Message kinds and their stages (path order; the first is creation), with the kind their parent
ids point to:

* ``click``: click, ingest, lakehouse, identity, insight
* ``firing`` (parent: click), an insight firing or segment entry reaching the Data Action: fired
  (delivered, or dropped as ``filtered_no_contact`` by the action rule)
* ``platform_event`` (parent: click): action, publish
* ``flow`` (parent: platform_event), the Flow's copy of an event: available, flow_start, notification
* ``apex:<name>`` (parent: platform_event): available, run_start, processed
* ``pubsub:<name>`` (parent: platform_event): available, fetched, processed
* ``webhook`` (parent: click): action, post, ack

Only the kinds a scenario uses are registered (no ``flow`` without a platform-event target and
the CRM Flow, no ``webhook`` without a webhook target).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from sim.actors.apex import ApexTrigger
from sim.actors.base import Actor, RunContext
from sim.actors.crm import CrmFlow
from sim.actors.data_actions import DataActionService
from sim.actors.event_bus import EventBus
from sim.actors.identity_service import IdentityService
from sim.actors.ingestion import IngestionAPI
from sim.actors.insights import InsightActor
from sim.actors.ground_truth import GroundTruth
from sim.actors.lakehouse import Lakehouse
from sim.actors.pubsub import PubSubClient
from sim.actors.segments import SegmentActor
from sim.actors.visitors import WebVisitors
from sim.actors.webhooks import WebhookSender
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams
from sim.domain.events import PAGE_CODE
from sim.domain.faults import Fault, FaultSchedule
from sim.domain.population import Population, build_population
from sim.scenario.models import Scenario

KINDS = {  # kind -> (stages, parent kind)
    "click": (["click", "ingest", "lakehouse", "identity", "insight"], None),
    "firing": (["fired"], "click"),
    "platform_event": (["action", "publish"], "click"),
    "flow": (["available", "flow_start", "notification"], "platform_event"),
    "webhook": (["action", "post", "ack"], "click"),
}
APEX_STAGES = ["available", "run_start", "processed"]
PUBSUB_STAGES = ["available", "fetched", "processed"]
ACTION_KINDS = ("platform_event", "webhook")  # what a Data Action creates (stage ``action``)
REACTIONS = (("flow", "notification"), ("webhook", "ack"))  # what the business sees


def kinds_used(scenario: Scenario) -> dict[str, tuple[list[str], str | None]]:
    """The message kinds a scenario's actors create, with their stages and parent kind."""
    targets = scenario.data_actions.targets
    bus = "platform_event" in targets
    used = {"click", "firing"} | ({"platform_event"} if bus else set()) | \
        ({"flow"} if bus and scenario.crm.enabled else set()) | ({"webhook"} if "webhook" in targets else set())
    out = {k: v for k, v in KINDS.items() if k in used}
    if bus:
        out.update({f"apex:{s.name}": (APEX_STAGES, "platform_event") for s in scenario.subscribers.apex})
        out.update({f"pubsub:{s.name}": (PUBSUB_STAGES, "platform_event") for s in scenario.subscribers.pubsub})
    return out


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
    crm: CrmFlow | None
    webhooks: WebhookSender | None
    segments: SegmentActor | None = None
    truth: GroundTruth | None = None
    apex: list[ApexTrigger] = field(default_factory=list)
    pubsub: list[PubSubClient] = field(default_factory=list)

    @property
    def actors(self) -> list[Actor]:
        return [a for a in (self.visitors, self.ingestion, self.lakehouse, self.identity, self.insights,
                            self.segments, self.data_actions, self.event_bus, self.crm, *self.apex, *self.pubsub,
                            self.webhooks)
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
    for kind, (stages, parent) in kinds_used(scenario).items():
        ledger.register(kind, stages, parent)
    subs = scenario.subscribers
    rng = RandomStreams(seed)
    faults = FaultSchedule([Fault(f.target, f.kind, f.start, f.duration, f.rate, f.factor, f.allocation)
                            for f in scenario.faults])
    ctx = RunContext(env, ledger, rng, scenario, scenario.horizon, faults=faults)
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
    targets = scenario.data_actions.targets
    on_bus = "platform_event" in targets
    crm = CrmFlow(ctx, bus, population) if scenario.crm.enabled and on_bus else None
    apex = [ApexTrigger(ctx, bus, spec) for spec in subs.apex] if on_bus else []
    pubsub = [PubSubClient(ctx, bus, spec) for spec in subs.pubsub] if on_bus else []
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
    truth = GroundTruth(population.n_prospects, PAGE_CODE[scenario.insights.page])
    ingestion.observers.append(truth)
    return Pipeline(ctx, population, source, ingestion, lakehouse, identity, insights, data_actions, bus,
                    crm, webhooks, segments, truth, apex, pubsub)
