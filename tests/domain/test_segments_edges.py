"""Edges of batch segments (sim.domain.segments): the lookback window ``(s - lookback, s]``, the
``min_events``-th event as origin, entering and leaving, merges, the platform's refresh schedules
and the publish-concurrency rule."""

import numpy as np
import pytest

from sim.domain.segments import RETRY_AFTER_SKIP_S, Entry, SegmentState, check_refresh, publish_allowed

H = 3600.0


def test_regression_the_origin_is_the_min_events_th_view_in_the_window():
    """Regression (issue 13): with four views in the window the origin of a 3-view segment is the
    third view (by event time), not the fourth; it was moved to the fourth."""
    s = SegmentState(min_events=3, lookback_s=10 * H)
    for t, eid in ((40.0, 104), (10.0, 101), (30.0, 103), (20.0, 102)):
        s.add(5, t, eid)
    assert s.publish(H) == [Entry(5, 103, 30.0)]


def test_the_lookback_window_is_open_at_its_start_and_closed_at_the_snapshot():
    """A view exactly ``lookback`` before the snapshot is out, one just after it is in; a view at
    the snapshot is in, one after it is not yet."""
    def entries(times, snapshot):
        s = SegmentState(min_events=2, lookback_s=100.0)
        for k, t in enumerate(times):
            s.add(1, t, k)
        return s.publish(snapshot)

    assert entries([100.0, 150.0], 200.0) == []
    assert entries([100.5, 150.0], 200.0) == [Entry(1, 1, 150.0)]
    assert entries([150.0, 200.0], 200.0) == [Entry(1, 1, 200.0)]
    assert entries([150.0, 200.5], 200.0) == []


def test_min_events_exactly_reached_enters_one_less_does_not():
    """A profile with exactly ``min_events`` views enters; with one fewer it does not."""
    s = SegmentState(min_events=3, lookback_s=H)
    for k in range(2):
        s.add(1, 10.0 + k, k)
    for k in range(3):
        s.add(2, 10.0 + k, 10 + k)
    assert s.publish(100.0) == [Entry(2, 12, 12.0)]
    assert s.members == {2}


def test_a_member_leaves_when_its_views_age_out_and_enters_again():
    """Leaving is silent; coming back is a new entry; old views are forgotten after the lookback."""
    s = SegmentState(min_events=1, lookback_s=100.0)
    s.add(1, 50.0, 1)
    assert s.publish(60.0) == [Entry(1, 1, 50.0)]
    assert s.publish(149.5) == [] and s.members == {1}       # 50 is still within (49.5, 149.5]
    assert s.state_size() == 1
    assert s.publish(150.0) == [] and s.members == set()     # not within (50, 150]
    assert s.state_size() == 0
    s.add(1, 160.0, 2)
    assert s.publish(170.0) == [Entry(1, 2, 160.0)]


def test_eligible_filters_candidates_and_members():
    """``eligible`` removes profiles from the candidates: they neither enter nor stay members."""
    s = SegmentState(min_events=1, lookback_s=H)
    for p in (1, 2, 3):
        s.add(p, 10.0, 100 + p)
    got = s.publish(20.0, eligible=lambda ps: np.array([p != 2 for p in ps]))
    assert got == [Entry(1, 101, 10.0), Entry(3, 103, 10.0)] and s.members == {1, 3}
    assert s.publish(30.0, eligible=lambda ps: np.array([p == 2 for p in ps])) == [Entry(2, 102, 10.0)]
    assert s.members == {2}


def test_a_merge_moves_events_and_membership_to_the_survivor():
    """A merge puts the absorbed profile's views under the survivor (in time order) and carries its
    membership, so the survivor does not enter again; merging into itself changes nothing."""
    s = SegmentState(min_events=2, lookback_s=H)
    s.add(2, 10.0, 1)
    s.add(2, 20.0, 2)
    assert s.publish(30.0) == [Entry(2, 2, 20.0)]
    s.add(1, 15.0, 3)
    s.merge(2, 2)
    s.merge(9, 1)  # unknown absorbed profile: nothing
    assert s.members == {2} and s.state_size() == 3
    s.merge(2, 1)
    assert s.members == {1}
    assert s.publish(40.0) == []
    s3 = SegmentState(min_events=1, lookback_s=H)
    s3.add(4, 10.0, 7)
    s3.merge(4, 8)  # into a profile with no events of its own
    assert s3.publish(20.0) == [Entry(8, 7, 10.0)]
    s2 = SegmentState(min_events=2, lookback_s=H)
    s2.add(2, 10.0, 1)
    s2.add(1, 5.0, 2)
    s2.merge(2, 1)
    assert s2.publish(20.0) == [Entry(1, 1, 10.0)]


def test_refresh_schedules_exactly_the_platforms():
    """Standard 12 h / 24 h, rapid 1 h / 4 h; anything else, even a second off, is refused; a skipped
    publish is retried 30 minutes later."""
    assert [check_refresh(x) for x in (12 * H, 24 * H, H, 4 * H)] == ["standard", "standard", "rapid", "rapid"]
    for bad in (12 * H + 1, H - 1, 2 * H, 0.0):
        with pytest.raises(ValueError, match="is not a segment schedule"):
            check_refresh(bad)
    assert RETRY_AFTER_SKIP_S == 30 * 60


def test_publish_concurrency_at_its_edge():
    """A publish starts when fewer than ``max_concurrent`` are running; one ending exactly now is
    not running."""
    assert publish_allowed(10.0, [], 1)
    assert not publish_allowed(10.0, [10.5], 1)
    assert publish_allowed(10.0, [10.0, 11.0], 2)
    assert not publish_allowed(10.0, [10.1, 11.0], 2)
    assert publish_allowed(10.0, [10.1, 11.0], 3)
