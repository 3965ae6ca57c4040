"""Seed 001 as a twinned system (``system: dynamics_journeys``): Dynamics 365 Customer Insights –
Journeys started and steered by Dataverse record changes.

    sources (agents, Power Apps, SDK jobs), responses -> DataverseOrg (store, triggers)
        -> TriggerService (cycles, 2,500/min, backlog) -> JourneyOrchestrator (journey engines)
        -> ChannelService (email, sms, push, survey) -> inbox -> responses

Message kinds and their stages (path order; the first is creation), with the kind their parent
ids point to:

* ``change``: change (a create or update that changed a record; delivered when evaluated)
* ``trigger`` (parent: change), one per ready trigger a journey uses: trigger, first_step
  (delivered when the orchestrator acts on it; dropped ``trigger_overload``)
* ``journey`` (parent: trigger), one customer's instance of a journey: entered, ended (delivered
  at its outcome; in flight while in progress)
* ``message`` (parent: journey): queued, sent, inbox (delivered at the inbox; dropped
  ``missing_attribute``, ``no_contact_point``, ``provider_error``, ``bounced``, ``channel_outage``)

Cross keys: ``change->inbox`` (the record change that started the journey to the message in the
inbox; the headline) and ``trigger->inbox``.

Published envelope (doc): up to 2,500 triggers per minute, trigger to first journey step P90 < 3
min and P95 < 5 min; ``trigger_processing`` in ``summary.json`` checks a run against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.actors.base import RunContext
from sim.actors.dynamics.channels import ChannelService
from sim.actors.dynamics.orchestrator import JourneyOrchestrator, triggers_used
from sim.actors.dynamics.org import DataverseOrg
from sim.actors.dynamics.sources import RecordSources, Responses
from sim.actors.dynamics.trigger_service import OVERLOAD, TriggerService
from sim.actors.dynamics.values import make_customers
from sim.core.ledger import Ledger
from sim.core.lineage import roots
from sim.core.rng import RandomStreams
from sim.domain.faults import Fault, FaultSchedule
from sim.scenario.dynamics import DynamicsScenario
from sim.systems.base import BASE_BYTES, CrossKey, Estimate, Kind, Pipeline, System

KINDS = (Kind("change", ("change",)), Kind("trigger", ("trigger", "first_step"), "change"),
         Kind("journey", ("entered", "ended"), "trigger"), Kind("message", ("queued", "sent", "inbox"), "journey"))
CROSS = (CrossKey("change->inbox", "message", "inbox", "change", "change"),
         CrossKey("trigger->inbox", "message", "inbox", "trigger", "trigger"))
THROUGHPUT: dict[str, list[tuple[str, str | None]]] = {
    "dataverse": [("change", "change")], "trigger_processing": [("trigger", "first_step")],
    "journeys": [("journey", "entered")], "channels": [("message", "inbox")]}
ENVELOPE_P90_S, ENVELOPE_P95_S = 180.0, 300.0  # doc: trigger -> first step P90 < 3 min, P95 < 5 min
FIRST_STEP = "trigger->first_step"


@dataclass
class DynamicsPipeline(Pipeline):
    """The wired actors of one Dynamics run, by name."""

    org: DataverseOrg | None = None
    sources: RecordSources | None = None
    responses: Responses | None = None
    triggers: TriggerService | None = None
    orchestrator: JourneyOrchestrator | None = None
    channels: ChannelService | None = None
    contacts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.actors = [a for a in (self.org, self.sources, self.responses, self.triggers, self.orchestrator,
                                   self.channels) if a is not None]


def _stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if not len(values):
        return {"count": 0, "p50": None, "p90": None, "p95": None}
    p50, p90, p95 = np.percentile(values, [50, 90, 95])
    return {"count": len(values), "p50": float(p50), "p90": float(p90), "p95": float(p95)}


class DynamicsJourneys(System[DynamicsScenario]):
    """Seed 001; see the module docstring."""

    name = "dynamics_journeys"
    title = "Dataverse changes -> triggers -> journeys -> channels"
    progress_kind = "change"
    # change->inbox p95 is not among them: a journey's later messages (a reminder after a wait) set it
    headline = (f"latency_s.{FIRST_STEP}.p90", f"latency_s.{FIRST_STEP}.p95", "latency_s.change->inbox.p50",
                "throughput_per_s.journeys")

    def estimate(self, scenario: DynamicsScenario, **options: Any) -> Estimate:
        """Changes from the sources (records created at ``per_hour`` over the horizon, each with its
        steps, plus bulk updates of the backlog) and memory for the Dataverse records, which are
        kept as Python rows (about 1.5 KB each), the ledger and the journeys' state."""
        from sim.systems.data_cloud import expected_sessions

        records = changes = 0.0
        for src in scenario.sources:
            made = expected_sessions(src.per_hour / 3600.0, src.daily_profile, scenario.start_epoch_s,
                                     scenario.horizon)
            records += made + src.backlog
            changes += made * (1 + len(src.steps)) + (src.backlog if src.bulk is not None else 0)
        memory = BASE_BYTES + (records + scenario.customers.contacts + scenario.customers.accounts) * 1500.0 + \
            changes * 900.0
        return Estimate({"change": changes}, memory, changes * 200.0)

    def kinds(self, scenario: DynamicsScenario) -> list[Kind]:
        return list(KINDS)

    def cross_keys(self, kinds: dict[str, Kind]) -> list[CrossKey]:
        return [k for k in CROSS if k.kind in kinds and k.origin_kind in kinds]

    def throughput(self, kinds: dict[str, Kind]) -> dict[str, list[tuple[str, str | None]]]:
        return dict(THROUGHPUT)

    def build(self, scenario: DynamicsScenario, seed: int, **options: Any) -> DynamicsPipeline:
        """Wire the actors of ``scenario`` for one run with ``seed``."""
        if options:
            raise TypeError(f"dynamics_journeys takes no build options (got {', '.join(options)})")
        ledger = Ledger()
        for kind in self.kinds(scenario):
            ledger.register(kind.name, list(kind.stages), kind.parent)
        faults = FaultSchedule([Fault(f.target, f.kind, f.start, f.duration, f.rate, f.factor, f.allocation)
                                for f in scenario.faults])
        ctx = RunContext(simpy.Environment(), ledger, RandomStreams(seed), scenario.horizon,
                         start_epoch_s=scenario.start_epoch_s, faults=faults)
        defs = scenario.parsed()
        used = set().union(*(triggers_used(j) for j in defs.journeys.values())) if defs.journeys else set()
        org = DataverseOrg(ctx, defs.catalog, used)
        accounts, contacts = make_customers(scenario.customers, ctx.rng("customers"))
        org.create_silently("account", [(row.pop("accountid"), row) for row in accounts])
        contact_ids = [row["contactid"] for row in contacts]
        org.create_silently("contact", [(row.pop("contactid"), row) for row in contacts])
        responses = Responses(ctx, scenario.responses, org) if scenario.responses else None
        channels = ChannelService(ctx, scenario.channels, org.store.profile,
                                  on_inbox=responses.on_inbox if responses else None)
        orchestrator = JourneyOrchestrator(ctx, defs, org, channels.send)
        triggers = TriggerService(ctx, scenario.trigger_processing, org, orchestrator.deliver)
        orchestrator.safe_until = triggers.next_delivery
        sources = RecordSources(ctx, scenario.sources, scenario.dataverse.service_protection, org, contact_ids)
        return DynamicsPipeline(ctx, scenario, self, org=org, sources=sources, responses=responses,
                                triggers=triggers, orchestrator=orchestrator, channels=channels,
                                contacts=contact_ids)

    # -- results ---------------------------------------------------------------------------------
    def _messages(self, result) -> tuple[np.ndarray, np.ndarray]:
        """Per message: its tile code and its change -> inbox latency (NaN if not in an inbox)."""
        if "messages" not in result._cache:
            ledger, h = result.ledger, result.horizon_s
            n = ledger.table("message").n
            tiles = np.array(result.pipeline.orchestrator.message_tile[:n], dtype=np.int64)
            inbox = ledger.stage_times("message", "inbox", h)
            origin = roots(ledger, "message", np.arange(n), "change")
            start = np.full(n, np.nan)
            ok = origin >= 0
            start[ok] = ledger.stage_times("change", "change", h)[origin[ok]]
            result._cache["messages"] = (tiles, inbox - start)
        return result._cache["messages"]

    def envelope(self, result) -> dict[str, Any]:
        """Trigger processing against the published envelope (P90 < 180 s, P95 < 300 s at up to
        2,500 triggers/min), with the offered rate's peak minute."""
        ledger, h = result.ledger, result.horizon_s
        lat = result.latency(FIRST_STEP)
        created = ledger.stage_times("trigger", "trigger", h)
        created = created[np.isfinite(created)]
        per_min = np.bincount((created // 60).astype(np.int64)) if len(created) else np.zeros(1, dtype=np.int64)
        stats = _stats(lat)
        counts = result.counts.get("trigger_processing", {})
        inside = stats["count"] > 0 and stats["p90"] < ENVELOPE_P90_S and stats["p95"] < ENVELOPE_P95_S
        return {"offered": len(created), "processed": int(stats["count"]),
                "dropped_trigger_overload": int(ledger.dropped_by_reason("trigger", h).get(OVERLOAD, 0)),
                "peak_triggers_per_min": int(per_min.max()),
                "capacity_triggers_per_min": result.pipeline.scenario.trigger_processing.capacity_per_min,
                "peak_backlog": counts.get("peak_backlog", 0),
                "p50_s": stats["p50"], "p90_s": stats["p90"], "p95_s": stats["p95"],
                "envelope_p90_s": ENVELOPE_P90_S, "envelope_p95_s": ENVELOPE_P95_S,
                "inside_envelope": bool(inside)}

    def journeys(self, result) -> dict[str, Any]:
        """Per journey: outcomes (entered = completed + goal_reached + exited + in_progress), entry
        filtering, sends, reached tiles, and per action tile the entry change -> inbox latency."""
        orch = result.pipeline.orchestrator
        tiles, e2e = self._messages(result)
        out = {}
        for name, engine in orch.engines.items():
            c = engine.counts
            latency = {}
            for code, (jname, tile) in enumerate(orch.tiles):
                if jname == name and (tiles == code).any():
                    latency[tile] = _stats(e2e[tiles == code])
            out[name] = {"entered": c.entered, "completed": c.completed, "goal_reached": c.goal_reached,
                         "exited": c.exited, "in_progress": c.in_progress, "filtered_out": c.filtered_out,
                         "refused": c.refused, "goals_met": c.goals_met, "sent": c.sent, "failed": c.failed,
                         "by_tile": dict(engine.by_tile), "change_to_inbox_s": latency}
        return out

    def extra_results(self, result) -> dict[str, Any]:
        return {"journeys": self.journeys(result), "trigger_processing": self.envelope(result)}

    def warnings(self, result) -> list[str]:
        env = result.extras()["trigger_processing"]
        out = []
        if env["peak_triggers_per_min"] > env["capacity_triggers_per_min"]:
            out.append(f"offered triggers peaked at {env['peak_triggers_per_min']:,}/min, above the "
                       f"{env['capacity_triggers_per_min']:,.0f}/min the platform processes (doc: 2,500): slower first "
                       f"steps, {env['dropped_trigger_overload']:,} triggers dropped (trigger_overload)")
        return out

    def variant_row(self, result) -> dict[str, Any]:
        """Triggers, overload drops, journey outcomes, messages inboxed and lost, trigger -> first
        step p90/p95 and change -> inbox p50/p95 (seconds)."""
        ex = result.extras()
        env, js = ex["trigger_processing"], ex["journeys"]
        total = {k: sum(j[k] for j in js.values()) for k in ("entered", "completed", "goal_reached", "exited",
                                                              "in_progress")}
        msg = result.conservation.by_kind["message"]
        e2e = _stats(result.latency("change->inbox"))
        return {"triggers": env["offered"], "overload_drops": env["dropped_trigger_overload"], **total,
                "inboxed": msg["delivered"], "lost": sum(msg["dropped"].values()),
                "first_step_p90_s": env["p90_s"], "first_step_p95_s": env["p95_s"],
                "inside_envelope": env["inside_envelope"],
                "change_inbox_p50_s": e2e["p50"], "change_inbox_p95_s": e2e["p95"]}

    def summary_lines(self, result) -> list[str]:
        ex = result.extras()
        env = ex["trigger_processing"]
        fmt = lambda v: "-" if v is None else f"{v:,.0f} s"  # noqa: E731
        lines = [f"triggers {env['offered']:,} (peak {env['peak_triggers_per_min']:,}/min, capacity "
                 f"{env['capacity_triggers_per_min']:,.0f}/min), dropped trigger_overload "
                 f"{env['dropped_trigger_overload']:,}; "
                 f"trigger -> first step p90 {fmt(env['p90_s'])}, p95 {fmt(env['p95_s'])}: "
                 + ("inside" if env["inside_envelope"] else "OUTSIDE")
                 + " the published envelope (P90 < 180 s, P95 < 300 s)"]
        for name, j in ex["journeys"].items():
            lines.append(f"journey {name}: entered {j['entered']:,} = completed {j['completed']:,} + goal reached "
                         f"{j['goal_reached']:,} + exited {j['exited']:,} + in progress {j['in_progress']:,}; "
                         f"filtered out {j['filtered_out']:,}, refused {j['refused']:,}, sent {j['sent']:,}, "
                         f"failed {j['failed']:,}")
        return lines

    def report_tables(self, result) -> dict[str, pd.DataFrame]:
        ex = result.extras()
        env = ex["trigger_processing"]
        rows = [{"journey": n, **{k: j[k] for k in ("entered", "completed", "goal_reached", "exited", "in_progress",
                                                      "filtered_out", "refused", "sent", "failed")}}
                for n, j in ex["journeys"].items()]
        tiles = [{"journey": n, "tile": t, "reached": c,
                  **{f"change->inbox {k}": v for k, v in j["change_to_inbox_s"].get(t, {}).items()}}
                 for n, j in ex["journeys"].items() for t, c in j["by_tile"].items()]
        envelope = pd.DataFrame([{"measure": k, "value": v} for k, v in env.items()])
        return {"Journeys: outcomes": pd.DataFrame(rows), "Journeys: tiles": pd.DataFrame(tiles),
                "Trigger processing against the published envelope": envelope}

    def extra_figures(self, result) -> dict[str, Any]:
        from sim.report.dynamics_plots import journey_tiles, trigger_latency

        return {"journey_tiles.png": journey_tiles(result), "trigger_latency.png": trigger_latency(result)}


SYSTEM = DynamicsJourneys()


def build(scenario: DynamicsScenario, seed: int) -> DynamicsPipeline:
    """Wire the actors of a Dynamics ``scenario`` (see :meth:`DynamicsJourneys.build`)."""
    return SYSTEM.build(scenario, seed)
