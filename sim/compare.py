"""Comparing designs on the same traffic: a scenario's ``variants`` run with the same seed.

Every named stream of random numbers is derived from the seed and the stream's name, so variants
that change only downstream actors (the trigger, the window type, a segment's refresh) see exactly
the same visitors, clicks and logins: the differences in the table are the designs', not noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.result import latency_stats
from sim.runner import run
from sim.scenario.load import ScenarioError, derive, load

BASE = "base"


def variant_scenarios(scenario, overrides: Mapping[str, Any] | None = None) -> dict:
    """The base scenario and each variant (base + the variant's dotted overrides), validated."""
    base = load(scenario, overrides)
    out = {}
    if not base.variants:
        out[BASE] = base
    for name, changes in base.variants.items():
        if not isinstance(changes, dict):
            raise ScenarioError(f"variants.{name}: a mapping of dotted overrides, e.g. {{insights.window_type: tumbling}}")
        out[name] = derive(base, changes, f"variants.{name}")
    return out


def compare(scenario: str | Path | dict, seed: int | None = None, overrides: Mapping[str, Any] | None = None,
            progress: bool = False) -> tuple[pd.DataFrame, dict]:
    """Run every variant with one seed. Returns a table (one row per variant) and the results."""
    variants = variant_scenarios(scenario, overrides)
    first = next(iter(variants.values()))
    seed = first.seed if seed is None else int(seed)
    rows, results = [], {}
    for name, sc in variants.items():
        result = run(sc, seed=seed, progress=progress)
        results[name] = result
        rows.append(variant_row(name, result))
    return pd.DataFrame(rows).set_index("variant"), results


def variant_row(name: str, result) -> dict:
    """One variant's line: firings, filtered firings, actions, messages lost after the Data Action,
    intents by status, and time to action (intent to reaction) and to the bell, in seconds."""
    s = result.intent_summary()
    tta = s["time_to_action_s"]
    e2e = latency_stats(result.latency("click->notification")) if "flow" in result.ledger.tables else {}
    da = result.counts["data_actions"]
    lost = sum(sum(c["dropped"].values()) for kind, c in result.conservation.by_kind.items()
               if kind not in ("click", "firing"))
    return {"variant": name, "firings": da["firings_received"], "filtered": da["filtered_no_contact"],
            "actions": da["platform_events"] + da["webhooks"], "lost": lost,
            "intents": s["intents"], "caught": s["caught"], "late": s["late"], "missed": s["missed"],
            "pending": s["pending"], "acted": s["acted"],
            "tta_p50_s": tta["p50"], "tta_p95_s": tta["p95"], "tta_p99_s": tta["p99"],
            "notify_p50_s": e2e.get("p50"), "notify_p99_s": e2e.get("p99")}
