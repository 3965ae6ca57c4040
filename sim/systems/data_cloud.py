"""Seed 000 as a twinned system (``system: data_cloud``): Data Cloud -> Data Action -> Platform
Event -> CRM Flow, and webhooks.

    visitors -> IngestionAPI -> Lakehouse -> IdentityService -> InsightActor (+ SegmentActor)
                            (or RealtimeGraph, with realtime.enabled)
        -> DataActionService -> EventBus -> CrmFlow, Apex triggers, Pub/Sub clients
                             -> WebhookSender

Message kinds and their stages (path order; the first is creation), with the kind their parent
ids point to:

* ``click``: click, ingest, lakehouse, identity, insight (``graph`` instead of ``lakehouse`` on the
  real-time path)
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
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import simpy

from sim.actors.base import RunContext
from sim.actors.data_cloud.apex import ApexTrigger
from sim.actors.data_cloud.crm import CrmFlow
from sim.actors.data_cloud.data_actions import DataActionService
from sim.actors.data_cloud.event_bus import EventBus
from sim.actors.data_cloud.ground_truth import GroundTruth
from sim.actors.data_cloud.identity_service import IdentityService
from sim.actors.data_cloud.ingestion import IngestionAPI
from sim.actors.data_cloud.insights import InsightActor
from sim.actors.data_cloud.lakehouse import Lakehouse
from sim.actors.data_cloud.pubsub import PubSubClient
from sim.actors.data_cloud.realtime import RealtimeGraph
from sim.actors.data_cloud.segments import SegmentActor
from sim.actors.data_cloud.visitors import ClickSource, VisitorModel, WebVisitors
from sim.actors.data_cloud.webhooks import WebhookSender
from sim.core.folding import FoldingTable
from sim.core.ledger import DELIVERED, DROPPED, IN_FLIGHT, Ledger, reserve_for
from sim.core.lineage import reactions
from sim.core.rng import RandomStreams
from sim.domain.events import PAGE_CODE
from sim.domain.faults import Fault, FaultSchedule
from sim.domain.intents import classify, find_intents, summarize
from sim.domain.population import Population, build_population
from sim.scenario.data_cloud import DataCloudScenario
from sim.systems.base import BASE_BYTES, CrossKey, Estimate, Kind, Pipeline, System

if TYPE_CHECKING:
    from sim.actors.data_cloud.traffic_aside import TrafficAside

KINDS = {  # kind -> (stages, parent kind)
    "click": (("click", "ingest", "lakehouse", "identity", "insight"), None),
    "firing": (("fired",), "click"),
    "platform_event": (("action", "publish"), "click"),
    "flow": (("available", "flow_start", "notification"), "platform_event"),
    "webhook": (("action", "post", "ack"), "click"),
}
REALTIME_CLICK_STAGES = ("click", "ingest", "graph", "identity", "insight")  # the real-time data graph path
APEX_STAGES = ("available", "run_start", "processed")
PUBSUB_STAGES = ("available", "fetched", "processed")
ACTION_KINDS = ("platform_event", "webhook")  # what a Data Action creates (stage ``action``)
REACTIONS = (("flow", "notification"), ("webhook", "ack"))  # what the business sees
E2E = (CrossKey("click->notification", "flow", "notification", "click", "click"),
       CrossKey("click->ack", "webhook", "ack", "click", "click"),
       CrossKey("publish->flow_start", "flow", "flow_start", "platform_event", "publish"))
THROUGHPUT: dict[str, list[tuple[str, str | None]]] = {
    "ingestion": [("click", "ingest")],
    "lakehouse": [("click", "lakehouse")],
    "graph": [("click", "graph")],
    "identity": [("click", "identity")],
    "insights": [("click", "insight")],
    "data_actions": [("platform_event", "action"), ("webhook", "action")],
    "event_bus": [("platform_event", "publish")],
    "crm": [("flow", None)],
    "webhooks": [("webhook", "ack")],
}


# memory of a run (bytes), measured with /usr/bin/time on 1M clicks: see benchmarks/README.md
SIM_BYTES_PER_CLICK = 140.0  # ledger columns, ground truth, actors' state, summary
# the figures are drawn from exact quantiles and binned counts: what they add is the latency
# columns they read (10M clicks: 1.02 GB with plots, 0.97 GB without; 20M with plots: 1.98 GB)
FIGURE_BYTES_PER_CLICK = 16.0
# ledger="aggregate": the compact columns (11 B), the ground truth and the lakehouse's dedup
# state; the live window and the figures' histograms do not grow with the run (measured: benchmarks/)
AGGREGATE_BYTES_PER_CLICK = 40.0
PROSPECT_BYTES = 400.0  # a prospect's contact, account link, identity-graph nodes
COOKIE_BYTES = 24.0  # an anonymous cookie


def expected_sessions(rate_per_s: float, profile: list[float] | None, start_epoch_s: float, horizon_s: float) -> float:
    """Sessions expected over the horizon: ``rate_per_s`` times the hourly multiplier of each
    wall-clock hour (UTC) the run covers."""
    if profile is None:
        return rate_per_s * horizon_s
    t, total = 0.0, 0.0
    hours = int(horizon_s // 3600) + 2
    if hours > 24 * 7:  # a long run: whole days at the mean multiplier, then the rest hour by hour
        days = int(horizon_s // 86400) - 1
        total += rate_per_s * sum(profile) * 3600 * days
        t = days * 86400.0
    while t < horizon_s:
        wall = start_epoch_s + t
        end = min(horizon_s, (wall // 3600 + 1) * 3600 - start_epoch_s)
        total += rate_per_s * profile[int((wall // 3600) % 24)] * (end - t)
        t = end
    return total


@dataclass
class DataCloudPipeline(Pipeline):
    """The wired actors of one Data Cloud run, by name."""

    population: Population | None = None
    visitors: ClickSource | None = None
    ingestion: IngestionAPI | None = None
    lakehouse: Lakehouse | None = None
    graph: RealtimeGraph | None = None
    identity: IdentityService | None = None
    insights: InsightActor | None = None
    data_actions: DataActionService | None = None
    event_bus: EventBus | None = None
    crm: CrmFlow | None = None
    webhooks: WebhookSender | None = None
    segments: SegmentActor | None = None
    truth: GroundTruth | None = None
    apex: list[ApexTrigger] = field(default_factory=list)
    pubsub: list[PubSubClient] = field(default_factory=list)
    traffic_aside: TrafficAside | None = None  # the door's stand-in, when the run decided its traffic aside

    def __post_init__(self) -> None:
        self.actors = [a for a in (self.visitors, self.ingestion, self.lakehouse, self.graph, self.identity,
                                   self.insights, self.segments, self.data_actions, self.event_bus, self.crm,
                                   *self.apex, *self.pubsub, self.webhooks) if a is not None]

    def start_aside(self) -> None:
        """The web traffic is drawn and the ingestion's requests decided in a forked process, one
        hand-over ahead (:mod:`sim.actors.data_cloud.traffic_aside`; the same answers). The
        stand-in is kept as ``traffic_aside`` once the run has its door back."""
        from sim.actors.data_cloud.traffic_aside import draw_aside

        assert isinstance(self.scenario, DataCloudScenario) and self.ingestion is not None
        expected = self.system.estimate(self.scenario).messages.get("click", 0.0)
        door = draw_aside(self.ingestion.door, self.scenario.ingestion.flush_interval, self.ctx.horizon, expected)
        if door is not self.ingestion.door:
            self.traffic_aside = self.ingestion.door = door

    def collect_aside(self) -> None:
        if self.traffic_aside is not None and self.ingestion is not None:
            self.traffic_aside.finish()
            self.ingestion.door = self.traffic_aside.local  # the run's own door, in the state reached

    def end_aside(self) -> None:
        if self.traffic_aside is not None:
            self.traffic_aside.close()


def _person_of(identity: IdentityService, profile: int) -> int:
    """The prospect behind a profile (its CRM contact index), or −1 for an anonymous profile."""
    contact = identity.contact_of(profile)
    return -1 if contact is None else contact


def faults_of(scenario) -> FaultSchedule:
    return FaultSchedule([Fault(f.target, f.kind, f.start, f.duration, f.rate, f.factor, f.allocation)
                          for f in scenario.faults])


def new_context(scenario, seed: int, kinds: list[Kind], expected: dict[str, float] | None = None,
                aggregate: tuple[str, ...] = ()) -> RunContext:
    """A run context with a ledger holding ``kinds`` (with room reserved for the ``expected``
    messages of each; those in ``aggregate`` kept as streaming aggregates), the seed's random
    streams and the faults."""
    ledger = Ledger()
    for kind in kinds:
        size = (expected or {}).get(kind.name, 0)
        if kind.name in aggregate:
            ledger.adopt(FoldingTable(kind.name, list(kind.stages), scenario.horizon, capacity=reserve_for(size),
                                      parent_kind=kind.parent))
        else:
            ledger.register(kind.name, list(kind.stages), kind.parent, expected=size)
    return RunContext(simpy.Environment(), ledger, RandomStreams(seed), scenario.horizon,
                      start_epoch_s=scenario.start_epoch_s, faults=faults_of(scenario))


class DataCloud(System[DataCloudScenario]):
    """Seed 000; see the module docstring."""

    name = "data_cloud"
    title = "Data Cloud -> Platform Events -> CRM Flow"
    progress_kind = "click"
    aggregate_kinds = ("click",)  # ledger="aggregate": clicks folded into streaming aggregates
    headline = ("latency_s.click->notification.p50", "latency_s.click->notification.p95",
                "latency_s.click->notification.p99", "throughput_per_s.crm")

    def kinds(self, scenario: DataCloudScenario) -> list[Kind]:
        """The kinds this scenario's actors create (no ``flow`` without a platform-event target and
        the CRM Flow, no ``webhook`` without a webhook target)."""
        targets = scenario.data_actions.targets
        bus = "platform_event" in targets
        used = {"click", "firing"} | ({"platform_event"} if bus else set()) | \
            ({"flow"} if bus and scenario.crm.enabled else set()) | ({"webhook"} if "webhook" in targets else set())
        out = [Kind(k, stages, parent) for k, (stages, parent) in KINDS.items() if k in used]
        if scenario.realtime.enabled:
            out[0] = Kind("click", REALTIME_CLICK_STAGES, None)
        if bus:
            out += [Kind(f"apex:{s.name}", APEX_STAGES, "platform_event") for s in scenario.subscribers.apex]
            out += [Kind(f"pubsub:{s.name}", PUBSUB_STAGES, "platform_event") for s in scenario.subscribers.pubsub]
        return out

    def estimate(self, scenario: DataCloudScenario, visitors: VisitorModel | None = None, **options: Any) -> Estimate:
        """Clicks from the traffic model (sessions/s x hourly profile x pages per session over the
        horizon), or from the event log of a trace-driven run, and memory per click measured on
        the reference machine (see benchmarks/)."""
        v = scenario.visitors
        if visitors is not None and hasattr(visitors, "expected_clicks"):
            clicks = visitors.expected_clicks()
        else:
            clicks = expected_sessions(v.rate_per_s, v.daily_profile, scenario.start_epoch_s, scenario.horizon) * \
                v.pages_per_session
        people = v.prospects * (PROSPECT_BYTES + v.mean_devices * 16) + v.anonymous * COOKIE_BYTES
        per_click = AGGREGATE_BYTES_PER_CLICK if options.get("ledger") == "aggregate" else SIM_BYTES_PER_CLICK
        return Estimate({"click": clicks}, BASE_BYTES + people + clicks * per_click,
                        clicks * (0.0 if options.get("ledger") == "aggregate" else FIGURE_BYTES_PER_CLICK))

    def cross_keys(self, kinds: dict[str, Kind]) -> list[CrossKey]:
        keys = [k for k in E2E if k.kind in kinds]
        keys += [CrossKey(f"click->{k}", k, "processed", "click", "click") for k in kinds
                 if k.startswith(("apex:", "pubsub:"))]
        return keys

    def throughput(self, kinds: dict[str, Kind]) -> dict[str, list[tuple[str, str | None]]]:
        out = {actor: pairs for actor, pairs in THROUGHPUT.items()
               if all(s is None or s in kinds[k].stages for k, s in pairs if k in kinds)}
        out.update({k: [(k, "processed")] for k in kinds if k.startswith(("apex:", "pubsub:"))})
        return out

    def build(self, scenario: DataCloudScenario, seed: int, visitors: VisitorModel | None = None,
              ledger: str = "full", **options: Any) -> DataCloudPipeline:
        """Wire the actors of ``scenario`` for one run with ``seed``.

        ``visitors`` replaces the web traffic model: an object with ``take_until(t)`` (see
        :class:`~sim.actors.data_cloud.visitors.ScriptedClicks`) or a callable
        ``(ctx, population) -> object``. ``ledger="aggregate"`` keeps the clicks as streaming
        aggregates (:mod:`sim.core.folding`).
        """
        if options:
            raise TypeError(f"data_cloud takes no build options but visitors and ledger (got {', '.join(options)})")
        ctx = new_context(scenario, seed, self.kinds(scenario), self.estimate(scenario, visitors).messages,
                          aggregate=self.aggregate_kinds if ledger == "aggregate" else ())
        rng = ctx.rng
        v = scenario.visitors
        population = build_population(rng("population"), prospects=v.prospects, anonymous=v.anonymous,
                                      accounts=v.accounts, sales_reps=v.sales_reps, hot_share=v.hot_share,
                                      mean_devices=v.mean_devices, lifecycle_shares=v.lifecycle_shares,
                                      lifecycle_rng=rng("population.lifecycle"),
                                      other_email_share=v.other_email_share, form_typo_share=v.form_typo_share,
                                      forms_rng=rng("population.forms"))
        source: ClickSource
        if visitors is None:
            source = WebVisitors(ctx, v, population, oversize_bytes=10 * scenario.ingestion.max_payload_bytes)
        elif callable(visitors) and not hasattr(visitors, "take_until"):
            source = visitors(ctx, population)
        else:
            source = cast(ClickSource, visitors)
        bus = EventBus(ctx, scenario.event_bus)
        targets = scenario.data_actions.targets
        on_bus = "platform_event" in targets
        subs = scenario.subscribers
        crm = CrmFlow(ctx, scenario.crm, bus, population) if scenario.crm.enabled and on_bus else None
        apex = [ApexTrigger(ctx, bus, spec) for spec in subs.apex] if on_bus else []
        pubsub = [PubSubClient(ctx, bus, spec) for spec in subs.pubsub] if on_bus else []
        webhooks = WebhookSender(ctx, scenario.webhooks) if "webhook" in targets else None
        realtime = scenario.realtime.enabled
        identity = IdentityService(ctx, scenario.identity, population, forward=None,
                                   batch_overhead=0.0 if realtime else None)
        data_actions = DataActionService(ctx, scenario.data_actions, population, identity.contact_of,
                                         publish=bus.publish_call if on_bus else None,
                                         post=webhooks.post if webhooks else None)
        triggers = scenario.data_actions.triggers
        insights = InsightActor(ctx, scenario.insights, data_actions.on_firing if "insight" in triggers else None)
        segments = None
        if scenario.segmentation.segments:
            segments = SegmentActor(ctx, scenario.segmentation,
                                    data_actions.on_firing if "segment" in triggers else None,
                                    person_of=lambda profile: _person_of(identity, profile),
                                    attributes=population.profile_attributes)

            def forward(batch, merges):
                insights.receive(batch, merges)
                segments.receive(batch, merges)
            identity.forward = forward
        else:
            identity.forward = insights.receive
        lakehouse = graph = None
        if realtime:
            graph = RealtimeGraph(ctx, scenario.realtime, identity.receive)
            ingestion = IngestionAPI(ctx, scenario.ingestion, source, None, stream=graph.submit)
        else:
            lakehouse = Lakehouse(ctx, scenario.lakehouse, identity.receive)
            ingestion = IngestionAPI(ctx, scenario.ingestion, source, lakehouse.submit)
        truth = GroundTruth(population.n_prospects, PAGE_CODE[scenario.insights.page])
        ingestion.observers.append(truth)
        return DataCloudPipeline(ctx, scenario, self, population=population, visitors=source, ingestion=ingestion,
                                 lakehouse=lakehouse, graph=graph, identity=identity, insights=insights,
                                 data_actions=data_actions, event_bus=bus, crm=crm, webhooks=webhooks,
                                 segments=segments, truth=truth, apex=apex, pubsub=pubsub)

    # -- intents: the ground truth of what the activation should catch ----------------------
    def intents(self, result) -> pd.DataFrame:
        """Every intent with its status and cause; see :mod:`sim.domain.intents`."""
        pipe, ledger, h = result.pipeline, result.ledger, result.horizon_s
        sc, truth = pipe.scenario, pipe.truth
        ids, person, t = truth.views()
        found = find_intents(person, t, sc.insights.threshold, sc.insights.window, click=ids)
        clicks = found["click"].to_numpy()
        states = ledger.states_at("click", h)[clicks]
        fate = np.array([ledger.reasons[r] if r >= 0 else "" for r in ledger.table("click").reason[clicks]],
                        dtype=object)
        fate[states == DELIVERED] = "delivered"
        fate[states == IN_FLIGHT] = "in_flight"
        found["click_fate"] = fate
        parts = []
        for kind in ACTION_KINDS:
            if kind not in ledger.tables:
                continue
            table = ledger.table(kind)
            reaction_t, outcome = reactions(ledger, kind, REACTIONS, h)
            parts.append(pd.DataFrame({"person": truth.person_of(table.parent[: table.n]),
                                       "t": ledger.stage_times(kind, "action", h),
                                       "reaction_t": reaction_t, "fate": outcome}))
        actions = pd.concat(parts, ignore_index=True) if parts else \
            pd.DataFrame({"person": [], "t": [], "reaction_t": [], "fate": []})
        fired = ledger.table("firing")
        firings = pd.DataFrame({"person": truth.person_of(fired.parent[: fired.n]),
                                "t": ledger.stage_times("firing", "fired", h),
                                "filtered": ledger.states_at("firing", h) == DROPPED})
        return classify(found, actions[actions["person"] >= 0], firings, sc.catch_within, h)

    def intent_summary(self, result) -> dict:
        from sim.results.distribution import latency_stats

        frame = result.intents()
        return {**summarize(frame),
                "time_to_action_s": latency_stats(frame["time_to_action"].to_numpy(dtype=float)),
                "time_to_data_action_s": latency_stats(frame["time_to_data_action"].to_numpy(dtype=float))}

    def extra_results(self, result) -> dict[str, Any]:
        return {"intents": result.intent_summary()}

    def warnings(self, result) -> list[str]:
        """Settings of this run that cannot have the effect a reader would expect."""
        sc = result.pipeline.scenario
        out = []
        cw = sc.catch_within
        if cw > result.horizon_s:
            out.append(f"catch_within ({cw:g} s) is longer than the horizon ({result.horizon_s:g} s): no intent can "
                       "be counted as missed, and unanswered ones stay pending")
        ident = result.counts.get("identity", {})
        batch = sc.identity.batch
        if sc.visitors.other_email_share > 0:
            no_forms = self._no_forms(sc.visitors, ident)
            if "email" not in sc.identity.link_namespaces:
                out.append("visitors.other_email_share: identity.link_namespaces has no email, so no sign-in links "
                           "its e-mail and no sign-up form reaches the batch runs")
            elif no_forms:
                out.append(f"visitors.other_email_share has no effect: {no_forms}, so no sign-up form is filled")
            elif batch.runs_per_day and not ident.get("batch_runs"):
                period = 86400.0 / batch.runs_per_day
                first = period - sc.start_epoch_s % period
                out.append(f"visitors.other_email_share: no identity batch run finished within the horizon (runs "
                           f"every {period / 3600:g} h from 00:00 UTC; the first after the start begins at "
                           f"t = {first:,.0f} s and takes about {batch.duration.median:,.0f} s): the sign-up forms "
                           "stay unlinked")
        if sc.ingestion.request_linger > 0 and sc.ingestion.records_per_request == 1:
            out.append("ingestion.request_linger has no effect with records_per_request 1 (each click is sent at once)")
        calls = sc.data_actions.publish_calls
        if "platform_event" not in sc.data_actions.targets and calls != type(calls)():
            out.append("data_actions.publish_calls has no effect: data_actions.targets has no platform_event")
        elif "platform_event" in sc.data_actions.targets:
            out += self._publish_call_warnings(sc, result.counts)
        out += self._request_warnings(sc, result.counts.get("ingestion", {}))
        out += self._form_warnings(sc, ident)
        return out

    def _request_warnings(self, sc, ing: dict) -> list[str]:
        """Request batching and micro-batch settings that cannot have had their effect."""
        out = []
        p, k = sc.ingestion, sc.ingestion.records_per_request
        if k > 1 and ing.get("largest_request_records", 0) <= 1:  # no request held two records
            if p.request_linger == 0:
                out.append(f"ingestion.records_per_request ({k}) has no effect with request_linger 0: a request is "
                           "sent as its first click comes, so it holds only clicks of that same instant (none held "
                           "two)")
            elif p.max_payload_bytes < 2 * sc.visitors.payload_bytes:
                out.append(f"ingestion.records_per_request ({k}) has no effect: max_payload_bytes "
                           f"({p.max_payload_bytes}) holds fewer than two records of visitors.payload_bytes "
                           f"({sc.visitors.payload_bytes}), so each request holds one")
        if sc.realtime.enabled:
            for name in ("flush_interval", "flush_max_events"):
                if self._changed(p, name):
                    out.append(f"ingestion.{name} has no effect with realtime.enabled: no micro-batch is cut "
                               "(accepted events go to the real-time graph at once)")
        return out

    def _publish_call_warnings(self, sc, counts: dict) -> list[str]:
        """Publish-call settings that cannot have had their effect (platform events are a target)."""
        calls = sc.data_actions.publish_calls
        out: list[str] = []
        if calls.linger > 0 and calls.max_events == 1:
            out.append("data_actions.publish_calls.linger has no effect with max_events 1 (each event is a call of "
                       "its own)")
        largest = counts.get("data_actions", {}).get("largest_event_bytes", 0)
        if calls.max_events > 1 and counts.get("event_bus", {}).get("largest_publish_call", 0) <= 1:
            if calls.linger == 0:
                out.append(f"data_actions.publish_calls.max_events ({calls.max_events}) has no effect with linger 0: "
                           "a call is sent as its first event is ready, so it holds only events ready at that same "
                           "instant (none held two)")
            elif largest and calls.max_bytes < 2 * largest:
                out.append(f"data_actions.publish_calls.max_events ({calls.max_events}) has no effect: max_bytes "
                           f"({calls.max_bytes}) holds fewer than two events (the largest was {largest} bytes), so "
                           "each call holds one")
        return out

    def _form_warnings(self, sc, ident: dict) -> list[str]:
        """Sign-up form and identity batch settings that cannot have had their effect: no forms were
        filled (so none is linked or mistyped), or no batch run is made."""
        v, batch = sc.visitors, sc.identity.batch
        out: list[str] = []
        if ident.get("forms"):
            return out
        if v.other_email_share == 0 and self._changed(v, "form_typo_share"):
            out.append("visitors.form_typo_share has no effect with other_email_share 0 (no sign-up form to mistype)")
        changed = [f for f in ("runs_per_day", "precision", "duration") if self._changed(batch, f)]
        if batch.runs_per_day == 0 and set(changed) - {"runs_per_day"}:
            names = [f"identity.batch.{f}" for f in changed if f != "runs_per_day"]
            out.append(f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no effect with runs_per_day 0 "
                       "(no batch runs)")
        elif v.other_email_share == 0 and changed:
            names = [f"identity.batch.{f}" for f in changed]
            out.append(f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no effect with "
                       "visitors.other_email_share 0 (no sign-up form for the batch runs to link)")
        return out

    @staticmethod
    def _no_forms(v, ident: dict) -> str:
        """Why no sign-up form can be filled whatever ``visitors.other_email_share`` (when none was)."""
        if ident.get("forms"):
            return ""
        return ("there are no prospects (visitors.prospects 0)" if v.prospects == 0 else
                "no session is a prospect's (visitors.prospect_share 0)" if v.prospect_share == 0 else
                "no prospect signs in (visitors.login_prob 0)" if v.login_prob == 0 else "")

    @staticmethod
    def _changed(section, name: str) -> bool:
        """Whether a scenario section's field differs from its default (a setting the user gave)."""
        return getattr(section, name) != type(section).model_fields[name].get_default(call_default_factory=True)

    def variant_row(self, result) -> dict[str, Any]:
        """Firings, filtered firings, actions, messages lost after the Data Action, intents by
        status, and time to action (intent to reaction) and to the bell, in seconds."""
        from sim.results.distribution import latency_stats

        s = result.intent_summary()
        tta = s["time_to_action_s"]
        e2e = latency_stats(result.latency("click->notification")) if "flow" in result.ledger.tables else {}
        da = result.counts["data_actions"]
        lost = sum(sum(c["dropped"].values()) for kind, c in result.conservation.by_kind.items()
                   if kind not in ("click", "firing"))
        return {"firings": da["firings_received"], "filtered": da["filtered_no_contact"],
                "actions": da["platform_events"] + da["webhooks"], "lost": lost,
                "intents": s["intents"], "caught": s["caught"], "late": s["late"], "missed": s["missed"],
                "pending": s["pending"], "acted": s["acted"],
                "tta_p50_s": tta["p50"], "tta_p95_s": tta["p95"], "tta_p99_s": tta["p99"],
                "notify_p50_s": e2e.get("p50"), "notify_p99_s": e2e.get("p99")}

    def extra_figures(self, result) -> dict[str, Any]:
        from sim.report.plots import bus

        return {"bus.png": bus(result)} if "platform_event" in result.ledger.tables else {}


SYSTEM = DataCloud()


def build(scenario: DataCloudScenario, seed: int, visitors: VisitorModel | None = None) -> DataCloudPipeline:
    """Wire the actors of a Data Cloud ``scenario`` (see :meth:`DataCloud.build`)."""
    return SYSTEM.build(scenario, seed, visitors=visitors)
