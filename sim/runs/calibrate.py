"""The twin's defaults against what the vendors publish: ``sim calibrate``.

Each :class:`Figure` names a published number (``domain.md`` "Numbers"), how the twin measures the
same thing on a bundled scenario at its defaults, and the envelope that counts as agreeing. Each is
measured over replications (independent seeds), with a Student-t 95 % confidence interval of the
mean; a figure is ``inside`` when the whole interval lies inside the envelope. A hard limit (the
72 h retention) is judged on its largest value over the replications instead: ``twin`` is that
maximum and ``ci_low``/``ci_high`` the range. The test suite runs this with few replications and
asserts that every default sits inside.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.stats import mean_ci

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True)
class Figure:
    """A published number and how the twin measures it."""

    figure: str
    published: str
    low: float  # the envelope the twin's value must sit in (its whole CI)
    high: float
    scenario: str
    overrides: dict
    measure: Callable  # RunResult -> float
    source: str
    bound: bool = False  # a limit the twin must never pass: judged on the largest replication value


def _micro_batch_period(r) -> float:
    """Mean time between two micro-batches reaching the lakehouse (s)."""
    return r.horizon_s / max(r.counts["lakehouse"]["batches"], 1)


def _stat(key: str, q: str) -> Callable:
    return lambda r: r.stats(key)[q] if r.stats(key)["count"] else float("nan")


def _oldest_delivered_h(r) -> float:
    """After a 73-hour Flow outage: the age (h) of the oldest event the Flow still processed."""
    table = r.ledger.table("flow")
    start = r.ledger.stage_times("flow", "flow_start", r.horizon_s)
    published = r.ledger.stage_times("platform_event", "publish", r.horizon_s)[table.parent[: table.n]]
    ages = start - published
    return float(np.nanmax(ages)) / 3600 if np.isfinite(ages).any() else float("nan")


def _realtime_p95(r) -> float:
    """Real-time data graph: the 95th percentile (s) from the Ingestion API's acceptance to the
    insight's evaluation of the event (what triggers a real-time Data Action)."""
    h = r.horizon_s
    d = r.ledger.stage_times("click", "insight", h) - r.ledger.stage_times("click", "ingest", h)
    d = d[np.isfinite(d)]
    return float(np.percentile(d, 95)) if len(d) else float("nan")


def _largest_flow_batch(r) -> float:
    """The most platform events one Flow interview took, from the backlog a 2-hour CRM outage leaves
    when every pricing view is an alert (thousands of events waiting)."""
    return float(r.counts["crm"]["largest_batch"])


OUTAGE_73H = {"horizon": "74h", "visitors.rate_per_s": 0.2, "catch_within": "80h",
              "faults": [{"target": "crm", "kind": "outage", "start": "30m", "duration": "73h"}]}

FIGURES = (
    Figure("Data Cloud Ingestion API micro-batch period (s)", "about every 3 minutes", 150, 210,
           "b2b_pricing_alert.yaml", {"horizon": "2h"}, _micro_batch_period,
           "Data Cloud Ingestion API (doc)"),
    Figure("Real-time data graph: ingestion -> insight, P95 (s)", "about 500 ms at P95", 0.25, 0.75,
           "b2b_pricing_alert.yaml", {"horizon": "30m", "realtime.enabled": True}, _realtime_p95,
           "Data Cloud real-time layer, data graphs (doc)"),
    Figure("Oldest event a subscriber gets after a 73 h outage (h)", "72 h retention", 0, 72,
           "b2b_pricing_alert.yaml", OUTAGE_73H, _oldest_delivered_h,
           "Pub/Sub API guide, event message durability (doc)", bound=True),
    Figure("Platform events per Flow batch, at most", "up to 2,000 per batch", 1, 2000,
           "b2b_pricing_alert.yaml", {"horizon": "2h30m", "visitors.rate_per_s": 8, "insights.threshold": 1,
                                      "insights.cooldown": 0,
                                      "faults": [{"target": "crm", "kind": "outage", "start": "10m",
                                                  "duration": "2h"}]},
           _largest_flow_batch,
           "Platform event triggered flows, batch size (doc)", bound=True),
    Figure("Dynamics trigger -> first journey step, P90 (s)", "< 3 min up to 2,500 triggers/min", 0, 180,
           "support_survey_on_resolved_case.yaml", {}, _stat("trigger->first_step", "p90"),
           "Customer Insights - Journeys trigger limits (doc)"),
    Figure("Dynamics trigger -> first journey step, P95 (s)", "< 5 min up to 2,500 triggers/min", 0, 300,
           "support_survey_on_resolved_case.yaml", {}, _stat("trigger->first_step", "p95"),
           "Customer Insights - Journeys trigger limits (doc)"),
    Figure("AEP dataset -> Real-Time Customer Profile, P95 (s)", "< 15 min at P95", 0, 900,
           "hubspot_contacts_dataflow.yaml", {"horizon": "12h"}, _stat("landed->profile", "p95"),
           "AEP streaming ingestion guardrails (doc)"),
)


def calibrate(replications: int = 5, seed: int = 1, figures=FIGURES, progress=None) -> pd.DataFrame:
    """One row per figure: ``figure``, ``published``, ``twin`` (mean over replications),
    ``ci_low``, ``ci_high`` (95 %), ``inside``, ``envelope_low``, ``envelope_high``, ``n``,
    ``scenario``, ``source``."""
    import sim
    from sim.core.rng import derive_seed

    rows, cache = [], {}
    for k, f in enumerate(figures):
        key = (f.scenario, repr(sorted(f.overrides.items())))
        if key not in cache:
            cache[key] = [sim.run(SCENARIOS / f.scenario, seed=derive_seed(seed, "replication", i),
                                  overrides=f.overrides, progress=False) for i in range(replications)]
        values = [f.measure(r) for r in cache[key]]
        mean, half, n = mean_ci(values)
        half = 0.0 if n and not math.isfinite(half) and np.nanstd(values) == 0 else half
        low, high = mean - half, mean + half
        if f.bound:  # a hard limit: every replication must respect it, so the range is what counts
            mean, low, high = float(np.nanmax(values)), float(np.nanmin(values)), float(np.nanmax(values))
        rows.append({"figure": f.figure, "published": f.published, "twin": mean, "ci_low": low, "ci_high": high,
                     "inside": bool(math.isfinite(low) and math.isfinite(high) and f.low <= low and high <= f.high),
                     "envelope_low": f.low, "envelope_high": f.high, "n": n, "scenario": f.scenario,
                     "source": f.source})
        if progress is not None:
            progress(k + 1, 0, len(figures))
    return pd.DataFrame(rows)
