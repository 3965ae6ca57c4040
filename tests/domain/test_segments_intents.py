import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.intents import find_intents
from sim.domain.segments import SegmentState, check_refresh, publish_allowed

H = 3600.0


def test_membership_entries_and_the_completing_origin():
    s = SegmentState(min_events=3, lookback_s=7 * 86400.0)
    for t, eid in ((10.0, 1), (20.0, 2), (5.0, 3)):   # arrival order differs from time order
        s.add(7, t, eid)
    s.add(8, 30.0, 4)
    entries = s.publish(12 * H)
    assert [(e.profile, e.origin, e.origin_t) for e in entries] == [(7, 2, 20.0)]  # the 3rd by time
    s.add(7, 13 * H, 5)
    assert s.publish(24 * H) == []                     # already a member: no second entry
    assert s.publish(7 * 86400.0 + 6.0) == []          # t=5 left the window, 3 remain: still a member
    assert 7 in s.members
    assert s.publish(7 * 86400.0 + 25.0) == []         # only the 13 h event is left: not a member
    assert 7 not in s.members
    s.add(7, 8 * 86400.0, 6)
    s.add(7, 8 * 86400.0 + 1, 7)
    s.add(7, 8 * 86400.0 + 2, 8)
    assert [e.origin for e in s.publish(8 * 86400.0 + 10)] == [8]  # re-entry after leaving


def test_merge_counts_events_together():
    s = SegmentState(min_events=3, lookback_s=600.0)
    s.add(1, 10.0, 1)
    s.add(2, 20.0, 2)
    s.add(2, 30.0, 3)
    s.merge(2, 1)
    assert [(e.profile, e.origin) for e in s.publish(100.0)] == [(1, 3)]


def test_segment_schedules_are_the_platforms():
    assert check_refresh(12 * H) == "standard" and check_refresh(24 * H) == "standard"
    assert check_refresh(H) == "rapid" and check_refresh(4 * H) == "rapid"
    with pytest.raises(ValueError, match=r"allowed: 12h or 24h .standard., 1h or 4h .rapid."):
        check_refresh(6 * H)


def test_publish_concurrency_rule():
    assert publish_allowed(100.0, [50.0, 150.0], 2)        # one still running
    assert not publish_allowed(100.0, [150.0, 160.0], 2)   # two running: skip
    assert publish_allowed(100.0, [100.0], 1)              # ends exactly now: free


def brute_intents(person, t, threshold, window):
    out = []
    for p in sorted(set(person)):
        times = sorted(tt for pp, tt in zip(person, t) if pp == p)
        last = -np.inf
        for j, tj in enumerate(times):
            count = sum(1 for x in times[: j + 1] if tj - window < x <= tj)
            if count >= threshold and tj - last >= window:
                out.append((p, tj))
                last = tj
    return sorted(out, key=lambda x: (x[1], x[0]))


@settings(max_examples=200, deadline=None)
@given(views=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 100).map(float)), max_size=40),
       threshold=st.integers(1, 4), window=st.integers(1, 30))
def test_intents_equal_brute_force(views, threshold, window):
    person = np.array([v[0] for v in views], dtype=np.int64)
    t = np.array([v[1] for v in views], dtype=float)
    got = find_intents(person, t, threshold, float(window))
    assert list(zip(got.person, got.t)) == brute_intents(person.tolist(), t.tolist(), threshold, window)
