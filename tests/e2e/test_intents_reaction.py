"""Intents are counted at the reaction the business sees: each test changes what happens after
the Data Action (a fault, a lost message, an anonymous profile) and checks the intent's status."""

import json
import subprocess

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from tests.conftest import DEFAULT

TINY = {"horizon": "2h", "visitors.prospects": 3, "visitors.anonymous": 3, "visitors.mean_devices": 1.0,
        "data_actions.targets": ["platform_event"], "catch_within": "30m"}
A = 1000
# prospect 0 logs in on device A and reads Pricing three times: one intent at t = 220 s
INTENT = [{"t": 10, "cookie": A, "page": "login", "email": 0, "person": 0}] + \
         [{"t": 20 + 100 * k, "cookie": A, "page": "pricing", "person": 0} for k in range(3)]


def twin(rows=INTENT, **over):
    return sim.run(DEFAULT, seed=1, overrides={**TINY, **over}, visitors=ScriptedClicks(rows), progress=False)


def status(r):
    frame = r.intents()
    assert len(frame) == 1 and frame.t.iloc[0] == 220.0
    return frame.status.iloc[0], frame.cause.iloc[0]


def test_the_bell_catches_the_intent_and_time_to_action_ends_at_the_bell():
    r = twin()
    assert status(r) == ("caught", "")
    row = r.intents().iloc[0]
    bell = r.ledger.stage_times("flow", "notification", r.horizon_s)[0]
    assert row.reaction_t == bell and row.time_to_action == bell - 220.0
    assert row.time_to_data_action < row.time_to_action  # the Data Action comes before the bell
    s = r.intent_summary()
    assert (s["caught"], s["acted"], s["missed"]) == (1, 1, 0)


def test_a_failing_flow_misses_the_intent_with_flow_error():
    r = twin(faults=[{"target": "crm", "kind": "error_rate", "rate": 1.0, "start": 0, "duration": "2h"}])
    assert status(r) == ("missed", "flow_error")
    s = r.intent_summary()
    assert s["acted"] == 1 and s["missed_by_reason"] == {"flow_error": 1}


def test_a_paused_flow_makes_the_intent_late_not_missed():
    r = twin(faults=[{"target": "crm", "kind": "outage", "start": 0, "duration": "45m"}])
    assert status(r) == ("late", "")
    assert r.intents().time_to_action.iloc[0] > 30 * 60
    assert twin(faults=[{"target": "crm", "kind": "outage", "start": 0, "duration": "20m"}]).intents().status.iloc[0] \
        == "caught"


def test_an_exhausted_allocation_misses_the_intent_with_allocation():
    r = twin(**{"event_bus.publish_allocation_per_hour": 0})
    assert status(r) == ("missed", "allocation")


def test_a_webhook_is_a_reaction_too():
    r = twin(**{"data_actions.targets": ["webhook"]})
    assert status(r) == ("caught", "")
    assert r.intents().reaction_t.iloc[0] == r.ledger.stage_times("webhook", "ack", r.horizon_s)[0]
    dead = twin(**{"data_actions.targets": ["webhook"], "webhooks.retry_schedule": [0],
                   "faults": [{"target": "webhooks", "kind": "outage", "start": 0, "duration": "2h"}]})
    assert status(dead) == ("missed", "dead_letter")


def test_an_anonymous_profile_is_filtered_and_says_so():
    rows = [{**row, "email": -1} if row["page"] == "login" else row for row in INTENT[1:]]  # no login at all
    r = twin(rows)
    assert status(r) == ("missed", "filtered_no_contact")
    lost = r.lost_detail()
    assert lost.loc[lost.reason == "filtered_no_contact", "kind"].tolist() == ["firing"]


def test_pending_when_the_horizon_comes_first():
    assert status(twin(horizon="5m")) == ("pending", "in_flight")  # the click waits for the 6-min flush
    late_intent = [{**row, "t": row["t"] + 6000} for row in INTENT]
    r = twin(late_intent, faults=[{"target": "crm", "kind": "outage", "start": "1h", "duration": "5h"}])
    frame = r.intents()
    assert (frame.status.iloc[0], frame.cause.iloc[0]) == ("pending", "in_flight")  # waiting on the bus


def test_catch_within_longer_than_the_horizon_warns(sim_cmd, tmp_path):
    r = twin(catch_within="1d")
    assert any("catch_within" in w for w in r.warnings())
    assert json.loads(r.to_json())["warnings"] == r.warnings()
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "horizon=10m", "--set", "catch_within=1h",
                           "--out", str(tmp_path), "-q", "--no-plots"], capture_output=True, text=True)
    assert proc.returncode == 0 and "warning: catch_within (3600 s) is longer than the horizon" in proc.stderr


def test_tumbling_buckets_sit_on_the_clock_not_on_the_run_start():
    """Data Cloud's WINDOW buckets (and Kafka's, Flink's) are epoch-aligned: with t = 0 at 08:05,
    a 10-minute bucket ends at 08:10 (t = 300 s), so views at t = 250, 290 and 310 s straddle it
    and do not fire, while 310, 330, 350 s (all in 08:10-08:20) do."""
    over = {"insights.window_type": "tumbling", "insights.allowed_lateness": 0, "start": "2026-11-24T08:05:00Z"}
    login = [{"t": 10, "cookie": A, "page": "login", "email": 0, "person": 0}]
    straddle = login + [{"t": t, "cookie": A, "page": "pricing", "person": 0} for t in (250, 290, 310)]
    inside = login + [{"t": t, "cookie": A, "page": "pricing", "person": 0} for t in (310, 330, 350)]
    assert twin(straddle, **over).counts["insights"]["firings"] == 0
    assert twin(inside, **over).counts["insights"]["firings"] == 1
    aligned = {**over, "start": "2026-11-24T08:00:00Z"}  # the same views, one bucket [08:00, 08:10)
    assert twin(straddle, **aligned).counts["insights"]["firings"] == 1


def test_a_platform_event_over_the_size_limit_is_refused_at_publish():
    """An event over the bus's limit (1 MB, doc) fails its publish call: dropped event_too_large,
    so the intent is missed for that reason. Exactly at the limit it is published."""
    size = twin().counts["data_actions"]["largest_event_bytes"]
    assert status(twin(**{"event_bus.max_event_bytes": size})) == ("caught", "")
    refused = twin(**{"event_bus.max_event_bytes": size - 1})
    assert status(refused) == ("missed", "event_too_large")
    assert refused.counts["event_bus"]["event_too_large"] == 1
    big = twin(**{"data_actions.extra_payload_bytes": 1_000_000})  # custom fields past the default 1 MB
    assert status(big) == ("missed", "event_too_large")


def test_requests_take_network_time_and_one_that_misses_a_flush_waits_for_the_next():
    """click -> ingest is the HTTP latency (here fixed 2 s): a view sent at 179 s reaches the API
    at 181 s, after the 3-minute flush, and goes in the next micro-batch."""
    rows = [{"t": 10, "cookie": A, "page": "login", "email": 0, "person": 0},
            {"t": 179, "cookie": A, "page": "pricing", "person": 0}]
    r = twin(rows, **{"ingestion.http_latency": {"median": "2s", "p95": "2s"}})
    assert r.latency("click->ingest").tolist() == [2.0, 2.0]
    lake = r.ledger.stage_times("click", "lakehouse", r.horizon_s)
    assert lake[0] < 360 < lake[1]  # 12 s arrives before the 180 s flush; 181 s after it
    none = twin(rows, **{"ingestion.http_latency": {"median": 0, "p95": 0}})
    assert none.latency("click->ingest").tolist() == [0.0, 0.0]


def test_a_resent_event_is_deduplicated_on_its_event_id():
    """At-least-once: the copy of an event reaches the lakehouse, which keeps one row per event
    id (dropped ``duplicate``); the insight counts the view once."""
    copies = [*INTENT, {**INTENT[3], "t": INTENT[3]["t"] + 5, "event_id": 3}]
    r = twin(copies)
    assert r.conservation.by_kind["click"]["dropped"].get("duplicate") == 1
    assert r.counts["lakehouse"]["duplicates_dropped"] == 1
    assert r.counts["insights"]["firings"] == 1 and len(r.intents()) == 1  # the copy is no fourth view
    two_views = [*INTENT[:3], {**INTENT[2], "t": INTENT[2]["t"] + 5, "event_id": 2}]
    assert twin(two_views).counts["insights"]["firings"] == 0  # a copy of the 2nd view is not a 3rd


def test_the_traffic_model_resends_a_share_of_events_and_the_twin_drops_them():
    r = sim.run(DEFAULT, overrides={"horizon": "30m", "visitors.duplicate_share": 0.05}, progress=False)
    sent = r.counts["visitors"]["resent_drawn"]
    dropped = r.conservation.by_kind["click"]["dropped"].get("duplicate", 0)
    # the rest are copies of malformed events, or still in the last micro-batch at the horizon
    assert sent > 0 and 0.75 * sent <= dropped <= sent
    none = sim.run(DEFAULT, overrides={"horizon": "30m", "visitors.duplicate_share": 0}, progress=False)
    assert none.counts["visitors"]["resent_drawn"] == 0 and "duplicate" not in none.conservation.dropped
