"""Publish calls (``data_actions.publish_calls``): events grouped into calls of at most 200 events
and 3 MB (doc), sent when full or ``linger`` after their first event; one transaction and one
publish latency per call."""

import numpy as np
import pytest

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT
from tests.e2e.test_bus_faults import BASE, alert_rows

STARTS = [float(i) for i in range(12)]  # twelve alerts, all completed in the same micro-batch


def run(horizon="1h", seed=1, **over):
    return sim.run(DEFAULT, seed=seed, overrides={**BASE, "horizon": horizon, **over},
                   visitors=ScriptedClicks(alert_rows(STARTS)))


def calls_of(r):
    """Sizes of the groups of platform events stored at the same instant (one call each)."""
    t = r.ledger.stage_times("platform_event", "publish", r.horizon_s)
    _, sizes = np.unique(t[~np.isnan(t)], return_counts=True)
    return sorted(sizes.tolist(), reverse=True)


def test_by_default_each_event_is_a_call_of_its_own():
    r = run()
    bus = r.counts["event_bus"]
    assert bus["published"] == 12 and bus["publish_calls"] == 12 and bus["largest_publish_call"] == 1
    assert calls_of(r) == [1] * 12


def test_full_calls_go_at_once_and_the_rest_after_the_linger():
    r = run(**{"data_actions.publish_calls": {"max_events": 5, "linger": "10m"}})
    bus = r.counts["event_bus"]
    assert bus["published"] == 12 and bus["publish_calls"] == 3 and bus["largest_publish_call"] == 5
    assert calls_of(r) == [5, 5, 2]
    pub = r.ledger.stage_times("platform_event", "publish", r.horizon_s)
    act = r.ledger.stage_times("platform_event", "action", r.horizon_s)
    waited = pub - act
    # the two full calls leave as soon as their fifth event is ready; the last two wait the linger
    assert np.sum(waited >= 600) == 2 and np.sum(waited < 60) == 10


def test_the_linger_delays_a_lone_event_by_exactly_its_length():
    one = {**BASE, "horizon": "1h"}
    rows = alert_rows([0.0])
    times = []
    for linger in (0, 120):
        r = sim.run(DEFAULT, seed=3, overrides={**one, "data_actions.publish_calls": {"max_events": 200,
                                                                                      "linger": linger}},
                    visitors=ScriptedClicks(rows))
        times.append(r.ledger.stage_times("platform_event", "publish", r.horizon_s)[0])
    assert times[1] - times[0] == pytest.approx(120.0, abs=1e-6)


def test_a_call_holds_at_most_max_bytes():
    # each event is about 900 kB: three fit in 3 MB, a fourth would not
    r = run(**{"data_actions.extra_payload_bytes": 900_000,
               "data_actions.publish_calls": {"max_events": 200, "linger": "10m"}})
    assert calls_of(r) == [3, 3, 3, 3] and r.counts["event_bus"]["publish_calls"] == 4
    small = run(**{"data_actions.extra_payload_bytes": 200_000,
                   "data_actions.publish_calls": {"max_events": 200, "linger": "10m"}})
    assert calls_of(small) == [12]  # 12 x ~200 kB < 3 MB: one call


def test_a_rollback_loses_the_whole_call_with_publish_after_commit():
    over = {"event_bus.transaction_failure_rate": 0.5, "event_bus.publish_behavior": "after_commit"}
    seen = set()
    for seed in range(1, 13):
        r = run(seed=seed, **over, **{"data_actions.publish_calls": {"max_events": 200, "linger": "10m"}})
        rolled = r.counts["event_bus"]["rolled_back"]
        assert rolled in (0, 12) and r.counts["event_bus"]["published"] == 12 - rolled
        seen.add(rolled)
    assert seen == {0, 12}  # one draw per call: all or nothing
    singles = [run(seed=s, **over).counts["event_bus"]["rolled_back"] for s in range(1, 5)]
    assert any(0 < k < 12 for k in singles)  # one call per event: independent draws


def test_events_waiting_in_an_open_call_are_in_flight_at_the_horizon():
    r = run(horizon="30m", **{"data_actions.publish_calls": {"max_events": 200, "linger": "1h"}})
    pe = r.conservation.by_kind["platform_event"]
    assert pe["in_flight"] == 12 and r.counts["event_bus"]["publish_calls"] == 0 and r.conservation.ok


@pytest.mark.parametrize("field, value", [("max_events", 201), ("max_events", 0), ("max_bytes", 4_000_001),
                                          ("linger", -1)])
def test_publish_call_limits_beyond_the_platforms_are_refused(field, value):
    with pytest.raises(ScenarioError, match=f"publish_calls.{field}"):
        load(DEFAULT, overrides={f"data_actions.publish_calls.{field}": value})
