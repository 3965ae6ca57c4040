"""Seeds 002–003 as a twinned system (``system: aep_dataflows``): Adobe Experience Platform Flow
Service dataflows from HubSpot contacts or Marketing Cloud (V2) data extensions into an XDM
dataset, Real-Time Customer Profile, segments and an e-mail activation.

    source table --(scheduler: runs)--> source API (pages, tokens, 429s) --> mapping --> dataset
        --> profile (identity graph, merge policy) --> segments (batch / streaming) --> activation
    web events (streaming) ----------------------------------------------> profile

Message kinds and their stages (path order; the first is creation):

* ``change``: a row version written in the source system: change, read (its page returned it),
  landed (the run wrote its batch to the dataset), profile (the profile holds it). Dropped
  ``superseded`` (a newer version of the row replaced it before any read: the newer one carries
  the row's state), ``mapping_failed`` (a value did not fit the mapping), ``identity_refused``
  (the profile refused the record: no identity, too many, an invalid ECID). In flight at the
  horizon: not yet read (the row's latest version, still in the source), or read and not yet in the profile.
* ``run`` (one per scheduled dataflow run): scheduled, started, finished; dropped
  ``skipped_overlap`` (``on_overlap: skip``) or ``quota_exhausted`` (the API's daily quota ran out
  during the read: nothing written, the next run reads the window again).
* ``activation`` (parent: the change that last updated the profile): qualified, sent.
* ``web_event`` (with ``web_events.enabled``): event, profile.

Cross keys: ``change->profile`` (freshness: the time from a change in the source system to the
profile; the headline) and ``change->activated`` (a change to the e-mail it led to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.actors.aep.dataflow import DataflowActor
from sim.actors.aep.profile import ProfileActor, WebEventSource
from sim.actors.aep.source import expected_count
from sim.actors.base import RunContext
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams
from sim.scenario.aep import AepScenario
from sim.systems.base import BASE_BYTES, CrossKey, Estimate, Kind, Pipeline, System

KINDS = {
    "change": (("change", "read", "landed", "profile"), None),
    "run": (("scheduled", "started", "finished"), None),
    "activation": (("qualified", "sent"), "change"),
    "web_event": (("event", "profile"), None),
}
E2E = (CrossKey("change->profile", "change", "profile", "change", "change"),
       CrossKey("change->activated", "activation", "sent", "change", "change"))
THROUGHPUT: dict[str, list[tuple[str, str | None]]] = {
    "source": [("change", "change")],
    "dataflows": [("change", "read")],
    "dataset": [("change", "landed")],
    "profile": [("change", "profile"), ("web_event", "profile")],
    "activation": [("activation", "sent")],
}
# memory of a run (bytes), measured with /usr/bin/time on the bundled scenarios (see the README)
BYTES_PER_CHANGE = 2500.0  # ledger, versions, row dicts while mapped, profile fragments and graph nodes
BYTES_PER_ROW = 2000.0  # a source row that exists at the start (history, in the profile)
BYTES_PER_WEB_EVENT = 1500.0
FIGURE_BYTES_PER_CHANGE = 200.0
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)


def new_context(scenario, seed: int, kinds: list[Kind]) -> RunContext:
    """A run context with a ledger holding ``kinds`` and the seed's random streams (no faults: the
    AEP scenario has no fault targets)."""
    import simpy

    ledger = Ledger()
    for kind in kinds:
        ledger.register(kind.name, list(kind.stages), kind.parent)
    return RunContext(simpy.Environment(), ledger, RandomStreams(seed), scenario.horizon,
                      start_epoch_s=scenario.start_epoch_s)


@dataclass
class AepPipeline(Pipeline):
    flows: list[DataflowActor] = field(default_factory=list)
    profile: ProfileActor | None = None
    web: WebEventSource | None = None

    def __post_init__(self) -> None:
        self.actors = [*self.flows, *(a for a in (self.profile, self.web) if a is not None)]


def _stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if not len(values):
        return {"count": 0, "mean": None, **{f"p{q}": None for q in PERCENTILES}, "max": None}
    qs = np.percentile(values, PERCENTILES)
    return {"count": len(values), "mean": float(values.mean()),
            **{f"p{q}": float(v) for q, v in zip(PERCENTILES, qs)}, "max": float(values.max())}


class AepDataflows(System[AepScenario]):
    """Seeds 002–003; see the module docstring."""

    name = "aep_dataflows"
    title = "AEP dataflows -> profile -> segments -> activation"
    progress_kind = "change"
    headline = ("latency_s.change->profile.mean", "latency_s.change->profile.p50",
                "latency_s.change->profile.p95", "dataflow_totals.api_calls")

    def kinds(self, scenario: AepScenario) -> list[Kind]:
        used = {"change", "run", "activation"} | ({"web_event"} if scenario.web_events.enabled else set())
        return [Kind(k, stages, parent) for k, (stages, parent) in KINDS.items() if k in used]

    def cross_keys(self, kinds: dict[str, Kind]) -> list[CrossKey]:
        return [k for k in E2E if k.kind in kinds]

    def throughput(self, kinds: dict[str, Kind]) -> dict[str, list[tuple[str, str | None]]]:
        return {actor: [(k, s) for k, s in pairs if k in kinds] for actor, pairs in THROUGHPUT.items()}

    def estimate(self, scenario: AepScenario, **options: Any) -> Estimate:
        """Changes from each source's change model, rows at the start, web events; memory per
        message measured on the bundled scenarios."""
        start, h = scenario.start_epoch_s, scenario.horizon
        changes = sum(expected_count(s.changes.per_hour, s.changes.daily_profile, start, h) for s in scenario.sources)
        rows = sum(s.rows for s in scenario.sources)
        web = expected_count(scenario.web_events.per_hour, scenario.web_events.daily_profile, start, h) \
            if scenario.web_events.enabled else 0.0
        memory = BASE_BYTES + changes * BYTES_PER_CHANGE + rows * BYTES_PER_ROW + web * BYTES_PER_WEB_EVENT
        return Estimate({"change": changes, "web event": web}, memory, changes * FIGURE_BYTES_PER_CHANGE)

    def build(self, scenario: AepScenario, seed: int, **options: Any) -> AepPipeline:
        if options:
            raise TypeError(f"aep_dataflows takes no build options (got {', '.join(options)})")
        ctx = new_context(scenario, seed, self.kinds(scenario))
        flows_by_source = [(src, scenario.flow_of(src)) for src in scenario.sources]
        dataset_ids = {}
        for _, flow in flows_by_source:
            dataset_ids[flow.target.dataset.name] = flow.target.dataset.id
        profile = ProfileActor(ctx, scenario.profile, scenario.segments, scenario.activation, dataset_ids)
        flows = []
        for src, flow in flows_by_source:
            api = scenario.api.merged(src.api)
            actor = DataflowActor(ctx, src, flow, api, scenario.scheduler, profile.receive)
            flows.append(actor)
            if src.history == "loaded" and src.rows:
                tb = actor.table
                versions = range(tb.rows)
                texts = [flow.delta_column.format(ctx.start_epoch_s + float(tb.t[v])) for v in versions] \
                    if flow.delta_column is not None else None
                rows = [tb.record(v, texts[v] if texts else None) for v in versions]
                stamps = list(actor.d[: tb.rows]) if flow.delta_column is not None else None
                profile.preload(flow.mapping.apply(rows, stamps).records, flow.target.dataset.id)
        web = None
        if scenario.web_events.enabled:
            known = scenario.sources[0].rows
            web = WebEventSource(ctx, scenario.web_events, known, profile)
        return AepPipeline(ctx, scenario, self, flows=flows, profile=profile, web=web)

    # -- results -----------------------------------------------------------------------------------
    def flow_summary(self, result) -> dict[str, dict]:
        out = {}
        for actor in result.pipeline.flows:
            c = result.counts[actor.name]
            finished = [r for r in actor.runlog if r["outcome"] == "finished" and r["finished"] is not None
                        and r["finished"] <= result.horizon_s]
            durations = np.array([r["finished"] - r["started"] for r in finished])
            per_run = np.array([r["rows_read"] for r in finished], dtype=float)
            sched = actor.flow.schedule
            out[actor.label] = {
                "flow_id": actor.flow.id, "flow": actor.flow.name, "load": actor.flow.load_mode,
                "schedule": {"frequency": sched.frequency, "interval": sched.interval,
                             "period_s": sched.period_s, "backfill": sched.backfill},
                "runs": c["runs_scheduled"], "runs_finished": c["runs_finished"], "runs_failed": c["runs_failed"],
                "skipped_runs": c["skipped_runs"], "rows_read": c["rows_read"], "rows_written": c["rows_written"],
                "rows_failed": c["rows_failed"], "history_rows_read": c["history_rows_read"],
                "superseded": c["superseded"], "api_calls": c["api_calls"], "page_calls": c["page_calls"],
                "token_requests": c["token_requests"], "token_refreshes": c["token_refreshes"],
                "unauthorized": c["unauthorized"], "rate_limit_waits": c["rate_limit_waits"],
                "rate_limit_wait_s": c["rate_limit_wait_s"],
                "rows_per_run": {"mean": float(per_run.mean()) if len(per_run) else None,
                                 "max": float(per_run.max()) if len(per_run) else None},
                "run_duration_s": {"mean": float(durations.mean()) if len(durations) else None,
                                   "p95": float(np.percentile(durations, 95)) if len(durations) else None,
                                   "max": float(durations.max()) if len(durations) else None},
            }
        return out

    def extra_results(self, result) -> dict[str, Any]:
        flows = self.flow_summary(result)
        keys = ("runs", "runs_finished", "runs_failed", "skipped_runs", "rows_read", "rows_written", "rows_failed",
                "api_calls", "token_refreshes", "rate_limit_waits")
        totals = {k: sum(f[k] for f in flows.values()) for k in keys}
        prof = result.counts.get("profile", {})
        out = {"dataflows": flows, "dataflow_totals": totals,
               "freshness_s": _stats(result.latency("change->profile")),
               "segments": {k: dict(v) for k, v in prof.get("segments", {}).items()}}
        if "activation" in result.ledger.tables:
            sent = result.ledger.stage_times("activation", "sent", result.horizon_s)
            out["activation"] = {"destination": result.pipeline.scenario.activation.destination,
                                 "qualified": len(sent), "sent": int(np.isfinite(sent).sum())}
            out["change_to_activation_s"] = _stats(result.latency("change->activated"))
            led, h = result.ledger, result.horizon_s
            sent = led.stage_times("activation", "sent", h)
            parent = led.table("activation").parent[: len(sent)]
            created = led.stage_times("change", "change", h)
            for seg in result.pipeline.profile.segments:
                ids = np.asarray(seg.activations, dtype=np.int64)
                ids = ids[ids < len(sent)]
                par = parent[ids]
                values = np.where(par >= 0, sent[ids] - created[np.maximum(par, 0)], np.nan)
                out["segments"][seg.spec.name]["evaluation"] = seg.spec.evaluation
                out["segments"][seg.spec.name]["change_to_activation_s"] = _stats(values)
        return out

    def warnings(self, result) -> list[str]:
        out = list(result.pipeline.scenario.notes)
        for name, f in self.flow_summary(result).items():
            period = f["schedule"]["period_s"]
            if period and period > result.horizon_s / 2:
                out.append(f"{name}: the schedule runs every {period:g} s, more than half the horizon "
                           f"({result.horizon_s:g} s): few runs, and changes after the last one stay unread")
            if f["runs_failed"]:
                out.append(f"{name}: {f['runs_failed']} run(s) failed (daily API quota exhausted)")
        return out

    def report_tables(self, result) -> dict[str, Any]:
        import pandas as pd

        extra = result.extras()
        rows = {}
        for name, f in extra["dataflows"].items():
            rows[name] = {"load": f["load"], "every_s": f["schedule"]["period_s"], "runs": f["runs"],
                          "finished": f["runs_finished"], "failed": f["runs_failed"], "skipped": f["skipped_runs"],
                          "rows_read": f["rows_read"], "rows_written": f["rows_written"],
                          "rows_failed": f["rows_failed"],
                          "rows_per_run": f["rows_per_run"]["mean"], "run_s_mean": f["run_duration_s"]["mean"],
                          "api_calls": f["api_calls"], "token_refreshes": f["token_refreshes"],
                          "429_waits": f["rate_limit_waits"]}
        out = {"Dataflows": pd.DataFrame([{"dataflow": k, **v} for k, v in rows.items()]),
               "Freshness: source change -> profile (s)": pd.DataFrame([{"changes": "all flows",
                                                                         **extra["freshness_s"]}])}
        segs = {name: {"evaluation": s.get("evaluation"), "entries": s["entries"], "exits": s["exits"],
                       "members": s["members"],
                       "change_to_email_p50_s": s.get("change_to_activation_s", {}).get("p50"),
                       "change_to_email_p95_s": s.get("change_to_activation_s", {}).get("p95")}
                for name, s in extra["segments"].items()}
        if segs:
            out["Segments and activation"] = pd.DataFrame([{"segment": k, **v} for k, v in segs.items()])
        return out

    def summary_lines(self, result) -> list[str]:
        extra = result.extras()
        out = []
        for name, f in extra["dataflows"].items():
            rpr, dur = f["rows_per_run"]["mean"], f["run_duration_s"]["mean"]
            out.append(f"dataflow {name} ({f['load']}, every {f['schedule']['period_s'] or '-'} s): runs "
                       f"{f['runs']:,} (finished {f['runs_finished']:,}, failed {f['runs_failed']:,}, skipped "
                       f"{f['skipped_runs']:,}), rows read {f['rows_read']:,} (per run {rpr or 0:,.1f}), written "
                       f"{f['rows_written']:,}, failed {f['rows_failed']:,}; API calls {f['api_calls']:,}, token "
                       f"refreshes {f['token_refreshes']:,}, 429 waits {f['rate_limit_waits']:,}; run "
                       f"{dur or 0:,.0f} s on average")
        fr = extra["freshness_s"]
        if fr["count"]:
            out.append(f"freshness (source change -> profile): mean {fr['mean']:,.0f} s, p50 {fr['p50']:,.0f} s, "
                       f"p95 {fr['p95']:,.0f} s, max {fr['max']:,.0f} s over {fr['count']:,} changes")
        for name, s in extra["segments"].items():
            lat = s.get("change_to_activation_s", {})
            p50 = f", change -> e-mail p50 {lat['p50']:,.0f} s" if lat.get("p50") is not None else ""
            out.append(f"segment {name} ({s.get('evaluation', '')}): {s['entries']:,} entries, {s['exits']:,} exits, "
                       f"{s['members']:,} members{p50}")
        act = extra.get("activation")
        if act:
            out.append(f"activation ({act['destination']}): {act['sent']:,} sent of {act['qualified']:,} segment "
                       "entries")
        for line in self.warnings(result):
            out.append(f"note: {line}")
        return out

    def variant_row(self, result) -> dict[str, Any]:
        """Freshness (change -> profile) p50/p95/mean in seconds, API calls, token refreshes,
        429 waits, runs (finished, failed, skipped), rows per run, rows failed, activations."""
        extra = result.extras()
        fr, tot = extra["freshness_s"], extra["dataflow_totals"]
        finished = tot["runs_finished"]
        act = result.latency("change->activated") if "activation" in result.ledger.tables else np.empty(0)
        segs = {}
        for name, seg in extra["segments"].items():
            lat = seg.get("change_to_activation_s", {})
            segs[f"{name}.entries"] = seg["entries"]
            segs[f"{name}.change_to_email_p50_s"] = lat.get("p50")
        return {"freshness_p50_s": fr["p50"], "freshness_p95_s": fr["p95"], "freshness_mean_s": fr["mean"],
                "api_calls": tot["api_calls"], "token_refreshes": tot["token_refreshes"],
                "rate_limit_waits": tot["rate_limit_waits"], "runs": tot["runs"], "runs_finished": finished,
                "runs_failed": tot["runs_failed"], "skipped_runs": tot["skipped_runs"],
                "rows_per_run": tot["rows_read"] / finished if finished else None, "rows_failed": tot["rows_failed"],
                "activations": int(result.ledger.table("activation").n) if "activation" in result.ledger.tables
                else 0, "activated_p50_s": float(np.median(act)) if len(act) else None,
                **segs}

    def extra_figures(self, result) -> dict[str, Any]:
        from sim.report.aep_plots import freshness, runs

        return {"freshness.png": freshness(result), "runs.png": runs(result)}


SYSTEM = AepDataflows()
