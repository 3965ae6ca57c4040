"""Edges of streaming insights (sim.domain.insights): the sliding window ``(t - window, t]``, the
threshold reached exactly, cooldown both sides of a firing, allowed lateness against the watermark,
tumbling buckets ``[k w, (k+1) w)``, merges of both window types, eviction exactly at the edge, and
the definition's validation."""

import numpy as np
import pytest

from sim.domain.insights import Firing, Insight, InsightEngine


def run(d, events, values=None, merges=()):
    engine = InsightEngine(d)
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] if len(e) > 2 else True for e in events], dtype=bool)
    late, fired = engine.process(t, g, m, list(merges), values)
    return late.tolist(), fired, engine


def test_the_sliding_window_is_open_at_its_start():
    """An event exactly ``window`` before does not count; one a moment later does."""
    d = Insight(threshold=2, window_s=600.0, cooldown_s=0.0)
    assert run(d, [(0.0, 1), (600.0, 1)])[1] == []
    assert run(d, [(0.001, 1), (600.0, 1)])[1] == [Firing(1, 1, 600.0, 0.0, 2)]


def test_an_out_of_order_event_counts_and_fires_at_its_own_time():
    """Within the allowed lateness an earlier event is inserted in time order; the count is taken at
    its own time, over ``(t - window, t]``."""
    d = Insight(threshold=3, window_s=100.0, cooldown_s=0.0, allowed_lateness_s=50.0)
    late, fired, _ = run(d, [(10.0, 1), (60.0, 1), (30.0, 1)])
    assert late == [False, False, False]
    assert fired == []  # at 30 only 10 and 30 are in (-70, 30]
    late, fired, _engine = run(d, [(10.0, 1), (20.0, 1), (60.0, 1), (30.0, 1)])
    assert fired == [Firing(2, 1, 60.0, -40.0, 3), Firing(3, 1, 30.0, -70.0, 3)]


def test_cooldown_blocks_on_both_sides_of_an_earlier_firing():
    """A firing is blocked when an earlier firing of the group is less than ``cooldown`` away, before
    or after it in event time; exactly ``cooldown`` away it fires."""
    d = Insight(threshold=1, window_s=10.0, cooldown_s=60.0, allowed_lateness_s=1000.0)
    _, fired, _ = run(d, [(100.0, 1), (40.5, 1), (40.0, 1), (159.5, 1), (160.0, 1)])
    assert [f.fired_at for f in fired] == [100.0, 40.0, 160.0]
    _, fired, _ = run(d, [(100.0, 1), (100.0, 2)])
    assert [f.group for f in fired] == [1, 2]  # cooldown is per group


def test_lateness_is_measured_against_the_largest_time_so_far_across_batches():
    """The watermark is the largest event time processed (matching or not, any batch) minus the
    allowed lateness; an event before it is late and never counted."""
    d = Insight(threshold=1, window_s=10.0, cooldown_s=0.0, allowed_lateness_s=5.0)
    engine = InsightEngine(d)
    late, fired = engine.process(np.array([100.0]), np.array([1]), np.array([False]))
    assert engine.watermark == 95.0 and fired == []
    late, fired = engine.process(np.array([95.0, 94.999]), np.array([1, 1]), np.array([True, True]))
    assert late.tolist() == [False, True] and [f.fired_at for f in fired] == [95.0]
    assert (engine.events, engine.late, engine.firings) == (3, 1, 1)
    assert engine.process(np.array([]), np.array([], dtype=np.int64), np.array([], dtype=bool))[0].tolist() == []


def test_tumbling_buckets_are_half_open_and_fire_once():
    """A bucket ``[k w, (k+1) w)`` counts the events inside it; it fires once, at the event that
    reaches the threshold, with ``window_start`` its start."""
    d = Insight(threshold=2, window_s=600.0, window_type="tumbling", cooldown_s=0.0)
    _, fired, engine = run(d, [(599.999, 1), (600.0, 1), (1199.999, 1), (1200.0, 1), (1300.0, 1), (1400.0, 1)])
    assert [(f.index, f.fired_at, f.window_start, f.measure) for f in fired] == \
        [(2, 1199.999, 600.0, 2), (4, 1300.0, 1200.0, 2)]
    assert engine.state_size() == 3


def test_merges_combine_tumbling_buckets_and_sliding_firings():
    """A merge adds the absorbed profile's bucket counts (a bucket already fired stays fired) and
    moves its firings, which then block the survivor through the cooldown."""
    d = Insight(threshold=3, window_s=600.0, window_type="tumbling", cooldown_s=0.0)
    engine = InsightEngine(d)
    engine.process(np.array([10.0, 20.0, 30.0]), np.array([1, 2, 2]), np.ones(3, bool))
    _, fired = engine.process(np.array([40.0]), np.array([1]), np.ones(1, bool), merges=[(0, 2, 1)])
    assert [(f.group, f.measure) for f in fired] == [(1, 4)] and engine.state_size() == 1
    engine.merge(1, 1)
    engine.process(np.array([700.0, 710.0, 720.0]), np.array([5, 5, 5]), np.ones(3, bool))
    engine.merge(5, 1)
    _, fired = engine.process(np.array([730.0]), np.array([1]), np.ones(1, bool))
    assert fired == []  # bucket 1 fired for 5 before the merge
    d = Insight(threshold=1, window_s=100.0, cooldown_s=50.0)
    engine = InsightEngine(d)
    engine.process(np.array([10.0, 20.0]), np.array([1, 2]), np.ones(2, bool))
    _, fired = engine.process(np.array([65.0]), np.array([1]), np.ones(1, bool), merges=[(0, 2, 1)])
    assert fired == []  # 65 - 10 >= 50, but group 2's firing at 20 is now the survivor's
    _, fired = engine.process(np.array([70.0]), np.array([1]), np.ones(1, bool))
    assert [f.fired_at for f in fired] == [70.0]
    engine = InsightEngine(d)
    engine.process(np.array([10.0, 20.0]), np.array([1, 2]), np.ones(2, bool))
    _, fired = engine.process(np.array([65.0]), np.array([1]), np.ones(1, bool), merges=[(5, 2, 1)])
    assert [f.fired_at for f in fired] == [65.0]  # a merge listed past the batch comes after it


def test_eviction_drops_state_exactly_at_the_edge():
    """An event time ``x <= W - window`` and a firing ``f <= W - cooldown`` are evicted; a moment
    later they are kept."""
    d = Insight(threshold=5, window_s=100.0, cooldown_s=50.0)
    engine = InsightEngine(d)
    engine.process(np.array([0.0, 0.5, 100.0]), np.array([1, 2, 3]), np.array([True, True, False]))
    engine.evict()
    assert engine.state_size() == 1  # 0.0 <= 100 - 100 went, 0.5 stays
    d = Insight(threshold=1, window_s=10.0, cooldown_s=50.0)
    engine = InsightEngine(d)
    engine.process(np.array([0.0, 0.5, 50.0]), np.array([1, 2, 3]), np.array([True, True, False]))
    engine.evict()
    assert engine.state_size() == 1  # firing 0.0 <= 50 - 50 went with its event; 0.5 kept
    d = Insight(threshold=5, window_s=100.0, window_type="tumbling")
    engine = InsightEngine(d)
    engine.process(np.array([99.0, 100.0, 199.9]), np.array([1, 2, 3]), np.array([True, True, False]))
    engine.evict()
    assert engine.state_size() == 1  # W = 199.9 is in bucket 1: bucket 0 went, bucket 1 stays
    engine.process(np.array([200.0]), np.array([3]), np.array([False]))
    engine.evict()
    assert engine.state_size() == 0
    engine2 = InsightEngine(d)
    engine2.evict()
    assert engine2.state_size() == 0


def test_the_definition_is_validated_at_its_edges():
    """``window_s > 0``, ``cooldown_s >= 0``, ``allowed_lateness_s >= 0``, a count threshold >= 1
    (a sum threshold may be below 1), known window types and measures."""
    Insight(window_s=0.001, cooldown_s=0.0, allowed_lateness_s=0.0, threshold=1)
    Insight(measure="sum", threshold=0.5)
    for bad in ({"window_s": 0.0}, {"cooldown_s": -0.1}, {"allowed_lateness_s": -0.1}):
        with pytest.raises(ValueError, match="window_s > 0, cooldown_s >= 0, allowed_lateness_s >= 0"):
            Insight(**bad)
    for measure in ("count", "distinct"):
        with pytest.raises(ValueError, match="threshold is >= 1"):
            Insight(measure=measure, threshold=0.99)
    with pytest.raises(ValueError, match="window_type must be 'sliding' or 'tumbling'"):
        Insight(window_type="hopping")
    with pytest.raises(ValueError, match="measure must be 'count', 'sum' or 'distinct'"):
        Insight(measure="avg")
