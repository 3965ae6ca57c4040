"""The bundled aep_dataflows scenarios: their variants order as expected, and what each one is
for shows in its results."""

from __future__ import annotations

import os

import pytest

from sim.results.variants import compare
from sim.runs.runner import run
from tests.aep_system.conftest import ROOT

SCENARIOS = ROOT / "scenarios"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the bundled scenarios name their bodies relative to the repo root


def test_hubspot_variants_every_15_min_fresher_than_hourly_fresher_than_daily():
    table, results = compare(SCENARIOS / "hubspot_contacts_dataflow.yaml", overrides={"horizon": "30h"})
    assert list(table.index) == ["every_15_min", "hourly", "daily"]
    p50 = table["freshness_p50_s"]
    assert p50["every_15_min"] < p50["hourly"] < p50["daily"]
    assert p50["every_15_min"] < 900 < p50["hourly"] < 3600 < p50["daily"]
    calls = table["api_calls"]
    assert calls["every_15_min"] > calls["hourly"] > calls["daily"]
    per_run = table["rows_per_run"]
    assert per_run["every_15_min"] < per_run["hourly"] < per_run["daily"]
    assert (table["runs_failed"] == 0).all()
    for res in results.values():
        assert res.conservation.ok
    # same source changes in every variant (the schedule changes, not the traffic)
    created = {name: res.ledger.table("change").n for name, res in results.items()}
    assert len(set(created.values())) == 1


def test_sfmc_segments_three_use_cases_with_token_refreshes_and_429_waits():
    res = run(SCENARIOS / "sfmc_segments.yaml", overrides={"horizon": "26h"}, progress=False)
    extra = res.extras()
    flows = extra["dataflows"]
    assert set(flows) == {"contacts", "engagement", "activities"}
    for name in ("contacts", "engagement"):  # hourly runs, 1,080 s tokens: every run after the first refreshes
        assert flows[name]["token_refreshes"] == flows[name]["runs_finished"] - 1 > 0
    act = flows["activities"]  # every 15 minutes: a token serves two runs
    assert abs(act["token_refreshes"] - act["runs_finished"] / 2) <= 1
    assert flows["contacts"]["history_rows_read"] > 9900
    assert flows["contacts"]["rate_limit_waits"] > 0  # the backfill's pages meet the limit
    segs = extra["segments"]
    for name in ("lifecycle_welcome", "lifecycle_loyalty_reward", "lifecycle_win_back", "engaged_promotion",
                 "negative_response_follow_up", "visited_without_purchase_reminder"):
        assert segs[name]["entries"] > 0, name
    # the streaming reminder e-mail follows its change within the hour; the daily batch ones take hours
    stream = segs["visited_without_purchase_reminder"]["change_to_activation_s"]["p50"]
    batch = segs["engaged_promotion"]["change_to_activation_s"]["p50"]
    assert stream < 3600 < batch
    assert res.conservation.ok


def test_batch_plus_streaming_the_segment_waits_for_the_crm_attribute():
    table, results = compare(SCENARIOS / "batch_plus_streaming.yaml",
                             overrides={"horizon": "25h", "web_events.per_hour": 600})
    streaming = table["sales_ready_streaming.change_to_email_p50_s"]
    batch = table["sales_ready_batch.change_to_email_p50_s"]
    # the streaming segment sees the CRM attribute when the dataflow brings it: its delay follows the
    # dataflow's schedule, and the daily batch segment is slower still
    assert streaming["every_15_min_dataflow"] < streaming["hourly_dataflow"] < streaming["daily_dataflow"]
    assert streaming["hourly_dataflow"] < batch["hourly_dataflow"]
    res = results["hourly_dataflow"]
    seg = res.extras()["segments"]["sales_ready_streaming"]
    assert set(seg["entries_triggered_by"]) == {"change", "web_event"}
    assert res.conservation.by_kind["web_event"]["created"] > 10000
    assert res.conservation.ok
