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
