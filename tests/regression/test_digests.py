"""Every bundled scenario and variant at its own horizon: the ledger digest pinned in
digests.json (seed-pinned regression, kept apart from the theory and oracle tests), conservation,
intents that add up, and the conclusion the scenario's comments and the README state. An
optimisation must leave the digests unchanged; a change of behaviour re-pins them on purpose
(``python -m tests.regression.pin``)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import assert_intent_statuses
from tests.regression.cases import ROOT, cases, digest, groups
from tests.regression.pin import PINNED

CASES = cases()
DIGESTS = json.loads(PINNED.read_text())


def crm_outage(r):
    """Errors lose intents; a pause delays them (README, "Faults")."""
    caught = {k: v.intent_summary()["caught"] for k, v in r.items()}
    p95 = {k: v.intent_summary()["time_to_action_s"]["p95"] for k, v in r.items()}
    assert caught["flow_errors"] < caught["no_fault"] and p95["flow_paused"] > p95["no_fault"]
    assert r["flow_errors"].intent_summary()["missed_by_reason"].get("flow_error", 0) > 0
    assert "flow_error" not in r["no_fault"].intent_summary()["missed_by_reason"]
    assert r["flow_paused"].conservation.dropped.get("flow_error", 0) == 0


def black_friday_peak(r):
    """Dropping at the allocation loses intents that retrying still catches (README, "Faults")."""
    drop, retry = r["drop"].intent_summary(), r["retry"].intent_summary()
    assert drop["caught"] < retry["caught"] and drop["missed_by_reason"].get("allocation", 0) > 0
    assert r["drop"].counts["event_bus"]["first_limit_exceeded_s"] is not None
    assert r["drop"].conservation.dropped.get("allocation", 0) > 0
    assert r["retry"].conservation.dropped.get("allocation", 0) == 0
    assert r["retry"].counts["event_bus"]["retried_publishes"] > 0
    assert max(v for _, v in r["drop"].series["publish_allocation_used"]) <= 250_000


def streaming_vs_batch(r):
    """Streaming acts in minutes and misses least; tumbling buckets miss bursts across a boundary;
    batch segments wait for their publish (README, "Intents")."""
    s = {k: v.intent_summary() for k, v in r.items()}
    assert s["streaming_sliding"]["time_to_action_s"]["p50"] < 600 < s["batch_12h"]["time_to_action_s"]["p50"]
    assert s["streaming_sliding"]["missed"] < s["streaming_tumbling"]["missed"] < s["batch_12h"]["missed"]
    assert s["streaming_sliding"]["caught"] > s["streaming_tumbling"]["caught"] > s["batch_24h"]["caught"]
    assert s["batch_12h"]["time_to_action_s"]["p50"] < s["batch_24h"]["time_to_action_s"]["p50"]


def fraud_sms_webhook(r):
    """A rate-limited SMS API that fails 5 % of calls: 429s and retries, yet alerts get through."""
    w = r["base"].counts["webhooks"]
    assert w["http_429"] > 0 and w["errors_5xx"] > 0 and w["acknowledged"] > 0
    assert r["base"].intent_summary()["caught"] > 0.9 * r["base"].intent_summary()["intents"]


def support_survey_on_resolved_case(r):
    """Inside the published envelope by default; the bulk-resolution peak leaves it and drops
    triggers (README, "Dynamics 365 journeys")."""
    default, peak = r["default"].extras()["trigger_processing"], r["peak"].extras()["trigger_processing"]
    assert default["inside_envelope"] and not peak["inside_envelope"]
    assert r["default"].conservation.dropped.get("trigger_overload", 0) == 0
    assert r["peak"].conservation.dropped.get("trigger_overload", 0) > 0


def journeys_add_up(r):
    for result in r.values():
        for j in result.extras()["journeys"].values():
            assert j["entered"] == j["completed"] + j["goal_reached"] + j["exited"] + j["in_progress"]


def hubspot_contacts_dataflow(r):
    """Every 15 minutes is fresher than hourly, fresher than daily; it costs more API calls and
    reads fewer rows per run (README, "Adobe Experience Platform dataflows")."""
    t = {k: v.system.variant_row(v) for k, v in r.items()}
    assert list(t) == ["every_15_min", "hourly", "daily"]
    assert t["every_15_min"]["freshness_p50_s"] < 900 < t["hourly"]["freshness_p50_s"] < 3600 \
        < t["daily"]["freshness_p50_s"]
    assert all(row["runs_failed"] == 0 for row in t.values())
    assert len({v.ledger.table("change").n for v in r.values()}) == 1  # the schedule changes, not the traffic
    assert t["every_15_min"]["api_calls"] > t["hourly"]["api_calls"] > t["daily"]["api_calls"]
    assert t["every_15_min"]["rows_per_run"] < t["hourly"]["rows_per_run"] < t["daily"]["rows_per_run"]


def sfmc_segments(r):
    """Tokens refreshed on every hourly run, the backfill meets the rate limit, the streaming
    reminder follows its change within the hour and the daily batch segments take hours."""
    flows = r["as_published"].extras()["dataflows"]
    for name in ("contacts", "engagement"):  # hourly runs, 1,080 s tokens: every run after the first refreshes
        assert flows[name]["token_refreshes"] == flows[name]["runs_finished"] - 1 > 0
    act = flows["activities"]  # every 15 minutes: a token serves two runs
    assert abs(act["token_refreshes"] - act["runs_finished"] / 2) <= 1
    for result in r.values():
        flows, segs = result.extras()["dataflows"], result.extras()["segments"]
        assert flows["contacts"]["rate_limit_waits"] > 0 and flows["contacts"]["token_refreshes"] > 0
        assert set(flows) == {"contacts", "engagement", "activities"}
        assert flows["contacts"]["history_rows_read"] > 9900
        assert all(s["entries"] > 0 for s in segs.values())
        stream = segs["visited_without_purchase_reminder"]["change_to_activation_s"]["p50"]
        assert stream < 3600 < segs["engaged_promotion"]["change_to_activation_s"]["p50"]


def batch_plus_streaming(r):
    """The streaming segment sees the CRM attribute when the dataflow brings it: its change -> e-mail
    delay follows the schedule, and the daily batch segment is slower."""
    p50 = {k: v.extras()["segments"]["sales_ready_streaming"]["change_to_activation_s"]["p50"] for k, v in r.items()}
    assert p50["every_15_min_dataflow"] < p50["hourly_dataflow"] < p50["daily_dataflow"]
    batch = r["hourly_dataflow"].extras()["segments"]["sales_ready_batch"]["change_to_activation_s"]["p50"]
    assert p50["hourly_dataflow"] < batch


CONCLUSIONS = {"hubspot_contacts_dataflow": hubspot_contacts_dataflow, "sfmc_segments": sfmc_segments,
               "batch_plus_streaming": batch_plus_streaming,
               "support_survey_on_resolved_case": support_survey_on_resolved_case,
               "order_ready_notification": journeys_add_up, "webinar_signup_on_new_lead": journeys_add_up,
               "crm_outage": crm_outage, "black_friday_peak": black_friday_peak,
               "streaming_vs_batch": streaming_vs_batch, "fraud_sms_webhook": fraud_sms_webhook}


@pytest.mark.slow
@pytest.mark.parametrize("group", list(groups()))
def test_bundled_runs_keep_their_digest_and_their_conclusions(group):
    results = {}
    for name in groups()[group]:
        scenario, overrides = CASES[name]
        got, result = digest(scenario, overrides)
        assert result.conservation.ok, name  # checked here, on a run made with check=False
        if result.system.name == "data_cloud":
            assert_intent_statuses(result)
        assert name in DIGESTS, f"{name} has no pinned digest: run python -m tests.regression.pin"
        assert got == DIGESTS[name], name
        results[name.split("/")[-1]] = result
    if group in CONCLUSIONS:
        CONCLUSIONS[group](results)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_same_seed_gives_the_same_ledger_in_another_process(path):
    code = ("import sim,sys; r = sim.run(sys.argv[1], overrides={'horizon': '20m'}, progress=False); "
            "print(r.ledger.digest(r.horizon_s))")
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                           cwd=ROOT, timeout=300)
    assert other.returncode == 0, other.stderr
    here, _ = digest(path, {"horizon": "20m"})
    assert other.stdout.strip() == here
