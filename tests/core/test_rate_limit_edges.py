"""Edges of the token bucket (sim.core.token_bucket, GCRA): a burst of exactly ``burst`` requests
passes and one more waits exactly one interval; a request at the conforming time passes, one a
moment earlier is told how long to wait; the vectorised prefix agrees at those edges."""

import numpy as np
import pytest

from sim.core.token_bucket import TokenBucket


def test_a_burst_of_exactly_burst_passes_and_the_next_waits_one_interval():
    """HubSpot-like 10 requests per second with bursts of 10: 10 at once pass, the 11th waits 0.1 s;
    at 0.1 s exactly it passes."""
    b = TokenBucket(10.0, 10)
    assert [b.admit(0.0) for _ in range(10)] == [0.0] * 10
    assert b.admit(0.0) == pytest.approx(0.1)
    assert b.admit(0.1) == 0.0
    assert b.admit(0.1) == pytest.approx(0.1)


def test_a_request_a_moment_early_is_refused_with_the_exact_wait():
    """1 request/s, burst 1: the second request conforms exactly one second after the first; a
    microsecond earlier it is told to wait a microsecond; a refusal takes no token."""
    b = TokenBucket(1.0, 1)
    assert b.admit(5.0) == 0.0
    assert b.admit(5.999999) == pytest.approx(1e-6)
    assert b.tat == 6.0
    assert b.admit(6.0) == 0.0 and b.tat == 7.0
    assert b.admit(100.0) == 0.0 and b.tat == 101.0  # an idle bucket refills, no more than the burst


def test_bad_rates_and_bursts_are_refused():
    """A rate must be positive and a burst at least 1."""
    for rate, burst in ((0.0, 1), (-1.0, 1), (1.0, 0.5)):
        with pytest.raises(ValueError) as err:
            TokenBucket(rate, burst)
        assert str(err.value) == "rate_per_s must be > 0 and burst >= 1"
    assert TokenBucket(1.0, 1).tau == 0.0 and TokenBucket(4.0, 3).tau == 0.5


def test_the_prefix_stops_exactly_at_the_first_refusal():
    """``admit_prefix`` admits the longest conforming prefix of sorted times and leaves the bucket as
    one-by-one admission would; nothing admitted leaves it unchanged."""
    b = TokenBucket(2.0, 2)
    assert b.admit_prefix(np.array([0.0, 0.0, 0.0, 0.5])) == 2
    assert b.tat == 1.0
    assert b.admit_prefix(np.array([0.49])) == 0 and b.tat == 1.0
    assert b.admit_prefix(np.array([0.5, 1.0, 1.5])) == 3 and b.tat == 2.5
    assert b.admit_prefix(np.array([])) == 0
    fresh = TokenBucket(1.0, 3)
    assert fresh.admit_prefix(np.array([10.0, 10.0, 10.0, 10.0])) == 3 and fresh.tat == 13.0
