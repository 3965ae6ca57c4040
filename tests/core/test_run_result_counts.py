"""The summary's throughput counts and digest, read from a hand-built ledger (no simulation): a
stamp at the horizon counts, one after it or never reached does not; the digest is the ledger's."""

import numpy as np
import pytest

from sim.core.ledger import Ledger, check_conservation
from sim.results.run_result import RunResult

H = 100.0


def result() -> RunResult:
    led = Ledger()
    led.register("job", ["arrive", "done"])
    ids = led.create("job", [1.0, 2.0, 3.0, 4.0])
    led.stamp("job", "done", ids[:3], [H - 1e-9, H, H + 1e-9])  # the fourth never reaches 'done'
    led.deliver("job", ids[:3], [H - 1e-9, H, H + 1e-9])
    conservation = check_conservation(led, {"job": [ids[2:]]}, H)
    return RunResult("hand-built", "d", 1, H, led, conservation, counts={})


def test_a_stage_passed_at_the_horizon_counts_and_one_after_it_does_not():
    r = result()
    assert r.stage_throughput("job") == {"arrive": pytest.approx(4 / H), "done": pytest.approx(2 / H)}
    assert r._passed("job", None) == 2  # delivered by the horizon: the first two
    assert r._passed("absent", "done") == 0


def test_counts_are_computed_once_and_the_digest_is_the_ledgers():
    r = result()
    first = r.stage_throughput("job")
    r.ledger.table("job").stamp["done"][3] = 5.0  # a later change is not seen: the counts are cached
    assert r.stage_throughput("job") == first
    fresh = result()
    assert fresh.ledger_digest() == fresh.ledger.digest(H)
    assert fresh.ledger_digest() != Ledger().digest(H)
    assert np.isnan(fresh.ledger.table("job").stamp["done"][3])
