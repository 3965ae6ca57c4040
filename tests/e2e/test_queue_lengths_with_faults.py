"""Across layers: a Flow outage downstream shows in the numbers a user reads from the summary and
the figures. Events published while the CRM is down wait in the Flow's queue (queue_series, the
queues and bus figures) and drain after it; their time to the bell (a percentile of the table)
grows by the outage's length. Without the fault the same run keeps that queue empty."""

import sim
from tests.conftest import DEFAULT

BASE = {"horizon": "1h", "visitors.rate_per_s": 10, "catch_within": "30m"}
OUTAGE = [{"target": "crm", "kind": "outage", "start": "10m", "duration": "20m"}]


def test_a_crm_outage_fills_the_flow_queue_then_drains_and_lengthens_the_time_to_the_bell():
    calm = sim.run(DEFAULT, overrides=BASE, progress=False)
    down = sim.run(DEFAULT, overrides={**BASE, "faults": OUTAGE}, progress=False)
    assert calm.ledger.table("flow").n == down.ledger.table("flow").n > 20  # the same events reach the bus
    for result, waiting in ((calm, False), (down, True)):
        q = result.queue_series()
        t, flow = q.index.to_numpy(), q["available->flow_start"].to_numpy()
        during, after = (t > 700) & (t < 1800), t >= 2400
        assert bool(flow[during].max() > 5) == waiting
        assert flow[after].max() == 0  # drained once the CRM is back
    assert calm.stats("available->notification")["p95"] < 60 < down.stats("available->notification")["p95"]
    assert down.stats("available->notification")["max"] < 20 * 60 + 60  # no longer than the outage
