"""The bundled aep_dataflows scenarios: their variants order as expected, and what each one is
for shows in its results."""

from __future__ import annotations

import pytest

from sim.runs.runner import run
from tests.aep_system.conftest import ROOT

SCENARIOS = ROOT / "scenarios"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the bundled scenarios name their bodies relative to the repo root


def test_sfmc_segments_three_use_cases_with_token_refreshes_and_429_waits():
    res = run(SCENARIOS / "sfmc_segments.yaml", overrides={"horizon": "26h"}, progress=False, check=False)
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
