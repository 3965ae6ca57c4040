"""Several records per Ingestion API request (``ingestion.records_per_request``): a request is sent
when it holds that many records, when the next record would take it over ``max_payload_bytes``
(sent as that record comes), or ``request_linger`` after its first record; it is admitted, retried
or dropped whole, and its records are validated one by one."""

import numpy as np
import pytest

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT

NO_HTTP = {"ingestion.http_latency": {"median": 0, "p95": 0}, "horizon": "10m"}


def clicks(times, size=1000):
    return [{"t": float(t), "cookie": 7000 + i, "page": "home", "size_bytes": size} for i, t in enumerate(times)]


def run(times, size=1000, **over):
    return sim.run(DEFAULT, seed=1, overrides={**NO_HTTP, **over}, visitors=ScriptedClicks(clicks(times, size)))


def ingested(r):
    return r.ledger.stage_times("click", "ingest", r.horizon_s).tolist()


def test_a_request_leaves_linger_after_its_first_record_and_takes_what_came_meanwhile():
    r = run(range(10), **{"ingestion.records_per_request": 4, "ingestion.request_linger": 2.5})
    assert ingested(r) == [2.5] * 3 + [5.5] * 3 + [8.5] * 3 + [11.5]
    c = r.counts["ingestion"]
    assert (c["requests"], c["accepted_requests"], c["accepted_records"], c["largest_request_records"]) == (4, 4, 10, 3)


def test_a_record_exactly_at_the_end_of_the_linger_joins_and_a_full_request_goes_at_once():
    r = run(range(10), **{"ingestion.records_per_request": 4, "ingestion.request_linger": 3.0})
    # 0..3 (the record at t = 3 joins and fills it: sent at 3), 4..7 (sent at 7), 8, 9 (linger: 11)
    assert ingested(r) == [3.0] * 4 + [7.0] * 4 + [11.0] * 2
    assert r.counts["ingestion"]["requests"] == 3


def test_by_default_each_click_is_its_own_request_sent_at_once():
    r = run([0.5, 1.0, 1.0, 4.0])
    assert ingested(r) == [0.5, 1.0, 1.0, 4.0]
    c = r.counts["ingestion"]
    assert c["requests"] == c["accepted_requests"] == c["accepted_records"] == 4 and c["largest_request_records"] == 1


@pytest.mark.parametrize("size, expected", [
    (60_000, [3.0] * 3 + [6.0] * 3 + [9.0] * 3 + [109.0]),   # a 4th record would make 240 kB: sent as it comes
    (50_000, [4.0] * 4 + [8.0] * 4 + [108.0] * 2),           # 4 x 50 kB = 200 kB: at the limit, still fits
])
def test_the_client_keeps_a_request_within_max_payload_bytes(size, expected):
    r = run(range(10), size=size, **{"ingestion.records_per_request": 100, "ingestion.request_linger": 100})
    assert ingested(r) == expected


def test_a_record_alone_over_the_limit_goes_at_once_and_is_rejected_alone():
    rows = [*clicks([0, 1, 2]), {"t": 1.5, "cookie": 9999, "page": "home", "size_bytes": 250_000}]
    r = sim.run(DEFAULT, seed=1, overrides={**NO_HTTP, "ingestion.records_per_request": 100,
                                            "ingestion.request_linger": 100}, visitors=ScriptedClicks(rows))
    t = r.ledger.stage_times("click", "ingest", r.horizon_s)
    assert np.isnan(t[2]) and r.ledger.dropped_by_reason("click", r.horizon_s) == {"invalid_payload": 1}
    # [0, 1] sent when the big one comes (1.5); the big one at once (1.5); [2] at the linger's end (102)
    assert t[[0, 1, 3]].tolist() == [1.5, 1.5, 102.0]
    assert r.counts["ingestion"]["rejected_by_rule"] == {"payload_too_large": 1}


def test_a_refused_request_loses_all_its_records():
    over = {"ingestion.rate_limit_per_s": 1, "ingestion.burst": 1, "ingestion.on_429": "drop"}
    one = run([0.0] * 10, **over)
    five = run([0.0] * 10, **over, **{"ingestion.records_per_request": 5})
    assert one.ledger.dropped_by_reason("click", one.horizon_s) == {"rate_limited": 9}
    assert five.ledger.dropped_by_reason("click", five.horizon_s) == {"rate_limited": 5}
    assert (one.counts["ingestion"]["http_429"], five.counts["ingestion"]["http_429"]) == (9, 1)
    assert one.counts["ingestion"]["requests"] == 10 and five.counts["ingestion"]["requests"] == 2


def test_a_retried_request_keeps_its_records_together():
    over = {"ingestion.rate_limit_per_s": 1, "ingestion.burst": 1, "ingestion.records_per_request": 5}
    r = run([0.0] * 10, **over)
    t = ingested(r)
    assert t[:5] == [0.0] * 5 and len(set(t[5:])) == 1 and 1.0 <= t[5] <= 2.0  # one back-off, U(0.5, 1) s, >= wait
    assert r.counts["ingestion"]["http_429"] == 1 and r.counts["ingestion"]["requests"] == 3


def test_an_open_request_is_in_flight_at_the_horizon_and_crosses_micro_batches():
    r = run([100.0, 170.0], **{"ingestion.records_per_request": 10, "ingestion.request_linger": 200,
                               "horizon": "4m"})
    assert r.conservation.by_kind["click"]["in_flight"] == 2 and r.conservation.ok
    later = run([100.0, 170.0], **{"ingestion.records_per_request": 10, "ingestion.request_linger": 200})
    assert ingested(later) == [300.0, 300.0]  # after the 180 s flush: they wait for the 360 s micro-batch
    lake = later.ledger.stage_times("click", "lakehouse", later.horizon_s)
    assert np.all(lake > 360.0)


def test_batching_requests_moves_the_onset_of_http_429s():
    """Cross-layer: with ~10 clicks/s against a 5 requests/s limit, one click per request is throttled
    and loses clicks; ten records per request (linger 1 s) stays under the limit and loses none."""
    over = {"horizon": "20m", "ingestion.rate_limit_per_s": 5, "ingestion.burst": 5, "ingestion.retry.max_attempts": 2}
    single = sim.run(DEFAULT, seed=2, overrides=over)
    batched = sim.run(DEFAULT, seed=2, overrides={**over, "ingestion.records_per_request": 10,
                                                  "ingestion.request_linger": 1.0})
    s, b = single.counts["ingestion"], batched.counts["ingestion"]
    assert s["http_429"] > 100 and s["dropped_rate_limited"] > 0
    assert b["http_429"] == 0 and b["dropped_rate_limited"] == 0 and b["requests"] < s["requests"] / 5
    assert batched.conservation.by_kind["click"]["created"] == single.conservation.by_kind["click"]["created"]


@pytest.mark.parametrize("field, value", [("records_per_request", 0), ("records_per_request", 100_001),
                                          ("request_linger", -1), ("request_linger", "2h")])
def test_request_settings_out_of_range_are_refused(field, value):
    with pytest.raises(ScenarioError, match=f"ingestion.{field}"):
        load(DEFAULT, overrides={f"ingestion.{field}": value})
