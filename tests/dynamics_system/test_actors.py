"""The timing rules of the Dynamics actors on small set-ups: service protection, trigger capacity
and backlog age, channel rate limits, agents."""

import numpy as np

import sim
from sim.actors.dynamics.sources import Throttle
from sim.scenario.dynamics import ServiceProtection

from .conftest import ORDERS


def test_service_protection_allows_6000_requests_per_user_in_any_5_minutes():
    throttle = Throttle(ServiceProtection(request_time={"median": 0.1, "p95": 0.1}), np.random.default_rng(1))
    sent = np.arange(7000) / 100.0  # 100 requests/s for 70 s
    done = throttle.request_many(sent)
    assert throttle.throttled_window == 1000 and throttle.throttled_concurrency == 0
    start = done - 0.1
    assert np.allclose(start[:6000], sent[:6000])
    assert np.allclose(start[6000:], sent[:1000] + 300.0)  # Retry-After: when the oldest leaves the window
    # no 5-minute window ever holds more than 6,000 starts
    counts = np.searchsorted(start, start + 300.0 - 1e-9) - np.arange(len(start))
    assert counts.max() <= 6000


def test_concurrent_requests_over_the_limit_wait_for_a_slot():
    limits = ServiceProtection(max_concurrent=2, request_time={"median": 10, "p95": 10})
    throttle = Throttle(limits, np.random.default_rng(1))
    done = throttle.request_many(np.zeros(5))
    assert done.tolist() == [10, 10, 20, 20, 30] and throttle.throttled_concurrency == 3


def _flood(capacity_per_min=2500.0, per_min=5000.0, minutes=20, max_age="5m", faults=()):
    return sim.run({
        "system": "dynamics_journeys", "name": "flood", "horizon": minutes * 60, "seed": 5,
        "customers": {"contacts": 100},
        "definitions": {
            "triggers": [{"name": "case_created", "table": "incident", "event": "created", "audience": "customerid",
                          "state": "ready_to_use"}],
            "journeys": [{"name": "ack", "entry": {"trigger": "case_created"}, "concurrent": True,
                          "tiles": [{"id": "ack", "kind": "action", "channel": "push", "template": "We got it"}]}]},
        "sources": [{"name": "forms", "via": "power_apps", "table": "incident", "per_hour": per_min * 60,
                     "customer": "customerid", "values": {"title": "Form", "statuscode": "Active"}}],
        "trigger_processing": {"capacity_per_min": capacity_per_min, "max_backlog_age": max_age},
        "channels": {"push": {"rate_limit_per_s": 10_000, "burst": 10_000, "latency": {"median": 1, "p95": 1},
                              "bounce_rate": 0, "error_rate": 0}},
        "faults": list(faults)}, check=False)


def test_trigger_processing_takes_2500_per_minute_and_drops_what_waited_too_long():
    r = _flood(minutes=8, max_age="2m")
    assert r.conservation.ok
    env = r.extras()["trigger_processing"]
    assert 4800 < env["peak_triggers_per_min"] < 5300
    cycle_cap = 2500 * 10 / 60
    taken = r.counts["trigger_processing"]["processed"]  # taken from the backlog (first steps come later)
    assert 2500 * 8 - 2 * cycle_cap <= taken <= 2500 * 8 + cycle_cap
    assert env["dropped_trigger_overload"] > 0 and not env["inside_envelope"]
    # waiting for capacity never exceeds the backlog age (plus one cycle); the latency comes after it
    assert np.percentile(r.latency("trigger->first_step"), 50) > 100
    # processed per minute never exceeds the capacity
    first = r.ledger.stage_times("trigger", "first_step", r.horizon_s)
    assert np.isfinite(first).sum() == env["processed"]


def test_below_capacity_nothing_waits_and_an_outage_ages_the_backlog():
    calm = _flood(per_min=600, minutes=15).extras()["trigger_processing"]
    assert calm["dropped_trigger_overload"] == 0 and calm["inside_envelope"]
    down = _flood(per_min=600, minutes=30, max_age="10m",
                  faults=[{"target": "trigger_processing", "kind": "outage", "start": "5m", "duration": "12m"}])
    env = down.extras()["trigger_processing"]
    assert down.conservation.ok and env["dropped_trigger_overload"] > 600  # more than 2 min of triggers aged out
    lost = down.lost_detail()
    row = lost[lost["reason"] == "trigger_overload"].iloc[0]
    assert 15 * 60 <= row["first_s"] <= 17 * 60 + 10  # 10 minutes after the outage began, until it ended


def test_sms_waits_for_its_rate_limit_in_order():
    r = sim.run(ORDERS, overrides={"horizon": "3h", "channels.sms.rate_limit_per_s": 0.05, "channels.sms.burst": 1})
    sent = r.ledger.stage_times("message", "sent", r.horizon_s)
    tiles = np.array(r.pipeline.orchestrator.message_tile[: len(sent)])
    sms_code = r.pipeline.orchestrator.tiles.index(("order_ready", "ready_sms"))
    times = np.sort(sent[(tiles == sms_code) & np.isfinite(sent)])
    assert len(times) > 20 and np.diff(times).min() >= 20.0 - 1e-6
    assert r.counts["channels"]["sms"]["max_wait_s"] > 60


def test_agents_work_first_come_first_served():
    r = sim.run(ORDERS, overrides={"horizon": "4h", "sources": [{
        "name": "orders", "table": "salesorder", "per_hour": 120, "customer": "customerid",
        "values": {"ordernumber": {"generate": "code"}, "statuscode": "New"},
        "steps": [{"agents": 1, "after": {"median": "60s", "p95": "60s"}, "set": {"statuscode": "Fulfilled"}}]}]})
    counts = r.counts["sources"]["orders"]
    assert counts["steps"][0] > 100
    assert counts["agent_mean_wait_s"][0] > 0  # 2 per minute on one agent at 60 s each: a queue
    assert r.extras()["journeys"]["order_ready"]["entered"] > 100
