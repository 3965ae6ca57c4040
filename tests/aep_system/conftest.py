"""Scenarios for the aep_dataflows tests, built as dicts (small, fast, every latency explicit)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "aep"
HUBSPOT_JSON = str(EXAMPLES / "hubspot_incremental.json")  # every 15 minutes, Copy + Mapping
HUBSPOT_FLOW = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"
SFMC_JSON = str(EXAMPLES / "sfmc_v2.json")  # hourly, no backfill
SFMC_FLOW = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
SEED_CHAIN = str(EXAMPLES / "marketing_automation.json")  # the seed's own bodies: Mapping only
SEED_FLOW = "8256cfb4-17e6-432c-a469-6aedafb16cd5"

HUBSPOT_COLUMNS = {"Vid": "row_id", "Properties_Email_Value": "email", "Properties_Firstname_Value": "name",
                   "Properties_Lastname_Value": {"choice": {"Martin": 1, "Bernard": 1}}}


def const(seconds: float) -> dict:
    return {"median": seconds, "p95": seconds}


def hubspot(horizon="6h", rows=500, per_hour=600.0, update_share=0.0, **source) -> dict:
    """A HubSpot contacts flow every 15 minutes with constant latencies (startup 30 s, write 60 s,
    page 0.25 s, a token that never expires), no bad rows."""
    src = {"name": "contacts", "flow": HUBSPOT_FLOW, "rows": rows,
           "changes": {"per_hour": per_hour, "update_share": update_share},
           "columns": dict(HUBSPOT_COLUMNS)}
    src.update(source)
    return {"system": "aep_dataflows", "name": "hubspot_test", "horizon": horizon,
            "start": "2026-01-01T00:00:00Z", "seed": 3, "bodies": [HUBSPOT_JSON], "sources": [src],
            "api": {"latency": const(0.25), "token_latency": const(0.25), "static_token": True},
            "scheduler": {"startup": const(30), "write": const(60), "write_per_row": 0},
            "profile": {"latency": const(120)}}


def sfmc(horizon="4h", rows=200, per_hour=300.0, **api) -> dict:
    return {"system": "aep_dataflows", "name": "sfmc_test", "horizon": horizon, "start": "2026-01-01T00:00:00Z",
            "seed": 5, "bodies": [SFMC_JSON],
            "sources": [{"name": "contacts_de", "flow": SFMC_FLOW, "rows": rows,
                         "changes": {"per_hour": per_hour, "update_share": 0.5},
                         "columns": {"SubscriberKey": {"key": "SK"}, "EmailAddress": "email",
                                     "LifecycleStage": {"choice": {"new": 1, "loyal": 1, "lapsed": 1}}}}],
            "api": {"latency": const(0.25), "token_latency": const(0.25), **api},
            "scheduler": {"startup": const(30), "write": const(60), "write_per_row": 0},
            "profile": {"latency": const(60)}}


@pytest.fixture
def make():
    """``make(hubspot, **changes)``: a deep copy of a scenario dict with top-level keys replaced."""
    def build(factory, *args, **top):
        sc = copy.deepcopy(factory(*args))
        sc.update(top)
        return sc
    return build
