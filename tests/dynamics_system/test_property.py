"""A property over random small Dynamics scenarios (rates, shares, journeys, capacity, faults):
every message is accounted for and every customer who entered a journey is in exactly one outcome."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim

SHARE = st.floats(0.0, 1.0)
CHANNEL = st.sampled_from(["email", "sms", "push", "survey"])


@st.composite
def tiles(draw, depth: int = 0, prefix: str = "t"):
    out = []
    for i in range(draw(st.integers(0 if depth else 1, 3))):
        tid = f"{prefix}{depth}_{i}"
        kind = draw(st.sampled_from(["action", "action", "wait", "wait_for_trigger", "attribute_condition",
                                     "create_record"] if depth < 2 else ["action", "wait"]))
        if kind == "action":
            template = draw(st.sampled_from(["Hi {{contact.firstname}}, case {{incident.title}}", "Plain text",
                                             "Order {{incident.ticketnumber}}"]))
            out.append({"id": tid, "kind": "action", "channel": draw(CHANNEL), "template": template})
        elif kind == "wait":
            out.append({"id": tid, "kind": "wait", "duration": draw(st.integers(0, 7200))})
        elif kind == "create_record":
            out.append({"id": tid, "kind": "create_record", "table": "salesorder",
                        "values": {"name": "Follow-up for {{contact.lastname}}", "statuscode": "New"}})
        elif kind == "wait_for_trigger":
            out.append({"id": tid, "kind": "wait_for_trigger", "trigger": "order_placed",
                        "timeout": draw(st.integers(1, 7200)),
                        "triggered": draw(tiles(depth + 1, f"{tid}y")), "timed_out": draw(tiles(depth + 1, f"{tid}n"))})
        else:
            out.append({"id": tid, "kind": "attribute_condition",
                        "branches": [{"name": "low", "condition": f"satisfaction <= {draw(st.integers(1, 5))}",
                                      "tiles": draw(tiles(depth + 1, f"{tid}l"))}],
                        "otherwise": draw(tiles(depth + 1, f"{tid}o"))})
    return out


@st.composite
def scenarios(draw):
    journeys = []
    for j in range(draw(st.integers(1, 2))):
        journey = {"name": f"j{j}", "tiles": draw(tiles(prefix=f"j{j}t")),
                   "entry": {"trigger": "status", "filter": draw(st.sampled_from(
                       ["statuscode == 'Resolved'", "", "statuscode != 'Active'"]))},
                   "reentry": draw(st.sampled_from(["always", "never", {"after": "30m"}])),
                   "concurrent": draw(st.booleans())}
        if draw(st.booleans()):
            journey["goal"] = {"trigger": "order_placed", "ends_journey": draw(st.booleans())}
        if draw(st.booleans()):
            journey["exit"] = {"trigger": "status", "filter": "statuscode == 'Cancelled'"}
        journeys.append(journey)
    action_tiles = [t["id"] for j in journeys for t in _walk(j["tiles"]) if t["kind"] == "action"]
    responses = []
    if action_tiles and draw(st.booleans()):
        responses.append({"tile": draw(st.sampled_from(action_tiles)), "prob": draw(SHARE),
                          "after": {"median": draw(st.integers(1, 1800)), "p95": 3600}, "table": "salesorder",
                          "customer": "customerid", "values": {"statuscode": "New"}})
    via = draw(st.sampled_from(["app", "power_apps", "sdk"]))
    steps = [{"after": {"median": draw(st.integers(1, 600)), "p95": 1200}, "prob": draw(SHARE),
              "agents": draw(st.sampled_from([None, 1, 3])),
              "set": {"statuscode": {"choice": {"Resolved": 0.8, "Cancelled": 0.2}},
                      "satisfaction": {"choice": {1: 0.3, 3: 0.3, 5: 0.4}, "blank": draw(SHARE)}}}
             for _ in range(draw(st.integers(0, 2)))]
    source = {"name": "cases", "via": via, "table": "incident", "per_hour": draw(st.floats(10, 3000)),
              "customer": "customerid", "steps": steps,
              "values": {"title": {"choice": {"A": 0.5, "B": 0.5}, "blank": draw(SHARE)}, "statuscode": "Active"}}
    if draw(st.booleans()):
        source["backlog"] = draw(st.integers(1, 300))
        source["bulk"] = {"at": draw(st.integers(0, 3000)), "users": draw(st.integers(1, 2)),
                          "requests_per_s": draw(st.floats(1, 50)), "set": {"statuscode": "Resolved"}}
    faults = []
    if draw(st.booleans()):
        faults.append({"target": "trigger_processing", "kind": "outage", "start": draw(st.integers(0, 3000)),
                       "duration": draw(st.integers(1, 3000))})
    if draw(st.booleans()):
        faults.append({"target": draw(CHANNEL), "kind": "error_rate", "rate": draw(SHARE),
                       "start": draw(st.integers(0, 3000)), "duration": draw(st.integers(1, 3000))})
    median = draw(st.integers(0, 120))
    latency = {"median": median, "p95": 300 if median else 0}  # a p95 above a median of 0 is refused
    return {
        "system": "dynamics_journeys", "name": "random", "horizon": draw(st.integers(600, 7200)),
        "seed": draw(st.integers(0, 10_000)),
        "customers": {"contacts": draw(st.integers(1, 200)), "accounts": 3, "email_share": draw(SHARE),
                      "mobile_share": draw(SHARE), "firstname_blank": draw(SHARE)},
        "definitions": {"triggers": [
            {"name": "status", "table": "incident", "event": "updated", "audience": "customerid",
             "columns": ["statuscode"], "state": "ready_to_use"},
            {"name": "order_placed", "table": "salesorder", "event": "created", "audience": "customerid",
             "state": "ready_to_use"}], "journeys": journeys},
        "sources": [source], "responses": responses, "faults": faults,
        "dataverse": {"service_protection": {"requests_per_window": draw(st.integers(1, 100)), "window": 60,
                                             "max_concurrent": draw(st.integers(1, 3))}},
        "trigger_processing": {"capacity_per_min": draw(st.floats(1, 3000)), "cycle": draw(st.integers(1, 60)),
                               "max_backlog_age": draw(st.integers(1, 1800)),
                               "latency": latency},
        "channels": {"sms": {"rate_limit_per_s": draw(st.floats(0.05, 50)), "burst": draw(st.integers(1, 5)),
                             "latency": {"median": 1, "p95": 10}, "bounce_rate": draw(SHARE),
                             "error_rate": draw(SHARE)}},
    }


def _walk(tiles):
    for t in tiles:
        yield t
        for key in ("triggered", "timed_out", "otherwise"):
            yield from _walk(t.get(key, []))
        for b in t.get("branches", []):
            yield from _walk(b["tiles"])


@settings(max_examples=int(os.environ.get("SIM_PROPERTY_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_conserve_messages_and_outcomes(raw):
    r = sim.run(raw, check=False)
    assert r.conservation.ok, (r.conservation.to_dict(), r.conservation.lost, r.conservation.phantom)
    total_entered = 0
    for name, j in r.extras()["journeys"].items():
        assert j["entered"] == j["completed"] + j["goal_reached"] + j["exited"] + j["in_progress"], name
        total_entered += j["entered"]
    by_kind = r.conservation.by_kind
    assert by_kind["journey"]["created"] == total_entered
    env = r.extras()["trigger_processing"]
    assert env["offered"] == by_kind["trigger"]["created"]
    assert env["processed"] + env["dropped_trigger_overload"] <= env["offered"]
    # messages: one per send or failed action, each ended once or still on its way
    sent_or_failed = sum(j["sent"] + j["failed"] for j in r.extras()["journeys"].values())
    assert by_kind["message"]["created"] == sent_or_failed - r.counts["journeys"]["create_record_failed"]
