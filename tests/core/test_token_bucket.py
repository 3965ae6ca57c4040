import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.token_bucket import TokenBucket


@settings(max_examples=100, deadline=None)
@given(gaps=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=1, max_size=80),
       rate=st.floats(1, 20), burst=st.integers(1, 6))
def test_vectorised_prefix_equals_one_by_one(gaps, rate, burst):
    """admit_prefix admits exactly the requests admit() would, up to the first refusal."""
    t = np.cumsum(gaps)
    one = TokenBucket(rate, burst)
    decisions = [one.admit(x) == 0.0 for x in t]
    expected = decisions.index(False) if False in decisions else len(t)
    many = TokenBucket(rate, burst)
    assert many.admit_prefix(t) == expected
    # the state after the prefix is the same too
    one2 = TokenBucket(rate, burst)
    for x in t[:expected]:
        one2.admit(x)
    assert np.isclose(many.tat, one2.tat) or (np.isinf(many.tat) and np.isinf(one2.tat))


def test_rate_and_burst_by_hand():
    """2 req/s, burst 2: two at once pass, the third waits 0.5 s for a token."""
    b = TokenBucket(2.0, 2)
    assert b.admit(0.0) == 0.0
    assert b.admit(0.0) == 0.0
    assert b.admit(0.0) == 0.5
    assert b.admit(0.5) == 0.0
