"""More edges of streaming insights (sim.domain.insights), from the module docstring: the counters
and the watermark across batches, a batch holding only merges, a merge applied just before the
event at its position, each firing's fields (its position in the batch, group, time, window start
and measure), tumbling buckets shifted by ``phase_s``, merged sums and distinct values, and the
periodic eviction every ``SWEEP_EVERY`` events."""

import numpy as np
import pytest

from sim.domain.insights import Firing, Insight, InsightEngine


def feed(engine, events, merges=(), values=None):
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] if len(e) > 2 else True for e in events], dtype=bool)
    late, fired = engine.process(t, g, m, list(merges), values)
    return late.tolist(), fired


def test_valued_measures_need_values():
    engine = InsightEngine(Insight(measure="sum", threshold=1))
    with pytest.raises(ValueError) as err:
        engine.process(np.array([1.0]), np.array([1]), np.array([True]))
    assert str(err.value) == "measure 'sum' needs one value per event"
    assert engine.events == 0


def test_counters_and_the_watermark_across_batches():
    engine = InsightEngine(Insight(threshold=2, window_s=100.0, allowed_lateness_s=5.0))
    assert engine.watermark == -np.inf and engine.state_size() == 0
    late, fired = feed(engine, [(10.0, 1), (20.0, 1, False), (15.0, 1), (14.0, 1)])
    assert late == [False, False, False, True]  # W = 20 - 5: 15 is on time, 14 is late
    assert engine.watermark == 15.0 and engine.events == 4 and engine.late == 1
    assert fired == [Firing(2, 1, 15.0, -85.0, 2)] and engine.firings == 1
    late, fired = feed(engine, [(16.0, 1)])
    assert late == [False] and engine.events == 5 and engine.late == 1 and engine.firings == 1
    assert fired == []  # 16 is within the cooldown of 15
    assert feed(engine, []) == ([], []) and engine.events == 5
    assert engine.state_size() == 4  # times 10, 15, 16 and the firing at 15


def test_late_is_strictly_before_the_watermark():
    engine = InsightEngine(Insight(threshold=1, allowed_lateness_s=5.0))
    late, fired = feed(engine, [(20.0, 1, False), (15.0, 1), (14.999, 2)])
    assert late == [False, False, True] and [f.group for f in fired] == [1]


def test_a_batch_of_merges_alone_applies_them():
    engine = InsightEngine(Insight(threshold=3, window_s=100.0))
    feed(engine, [(1.0, 1), (2.0, 2)])
    engine.process(np.array([]), np.array([], dtype=np.int64), np.array([], dtype=bool), [(0, 2, 1)])
    assert engine.events == 2
    _, fired = feed(engine, [(3.0, 1)])
    assert fired == [Firing(0, 1, 3.0, -97.0, 3)]


def test_a_merge_is_applied_just_before_the_event_at_its_position():
    d = Insight(threshold=2, window_s=100.0)
    engine = InsightEngine(d)
    _, fired = feed(engine, [(1.0, 1), (2.0, 2, False), (3.0, 1)], merges=[(2, 1, 2)])
    # group 1's state moved to 2 before event 2, which the caller still labels 1: it counts alone
    assert fired == []
    engine = InsightEngine(d)
    _, fired = feed(engine, [(1.0, 1), (2.0, 2, False), (3.0, 2)], merges=[(2, 1, 2)])
    assert fired == [Firing(2, 2, 3.0, -97.0, 2)]
    engine = InsightEngine(d)
    _, fired = feed(engine, [(1.0, 1), (3.0, 2), (4.0, 2)], merges=[(2, 1, 2)])
    assert fired == [Firing(2, 2, 4.0, -96.0, 3)]  # not at 3.0: the merge came after it
    engine = InsightEngine(d)
    _, fired = feed(engine, [(1.0, 1), (3.0, 2)], merges=[(1, 1, 2)])
    assert fired == [Firing(1, 2, 3.0, -97.0, 2)]  # position 1: before the event at 1


def test_merging_a_profile_into_itself_changes_nothing():
    for kind in ("sliding", "tumbling"):
        engine = InsightEngine(Insight(threshold=3, window_s=100.0, window_type=kind))
        feed(engine, [(1.0, 1), (2.0, 1)])
        engine.merge(1, 1)
        assert engine.state_size() == (2 if kind == "sliding" else 1)
        _, fired = feed(engine, [(3.0, 1)])
        assert [f.measure for f in fired] == [3]


def test_tumbling_buckets_are_shifted_by_the_phase():
    d = Insight(threshold=1, window_s=60.0, window_type="tumbling", phase_s=30.0)
    engine = InsightEngine(d)
    _, fired = feed(engine, [(29.0, 1), (30.0, 1), (89.9, 1), (90.0, 1)])
    # t + 30 is a multiple of 60 at t = 30 and t = 90: buckets [-30, 30), [30, 90), [90, 150)
    assert [(f.fired_at, f.window_start, f.measure) for f in fired] == [(29.0, -30.0, 1), (30.0, 30.0, 1),
                                                                        (90.0, 90.0, 1)]
    assert engine.state_size() == 3
    engine.evict()  # W = 90: the live bucket starts at 90
    assert engine.state_size() == 1


def test_tumbling_sums_and_distinct_values_merge():
    d = Insight(threshold=10.0, window_s=60.0, window_type="tumbling", measure="sum", allowed_lateness_s=100.0)
    engine = InsightEngine(d)
    feed(engine, [(1.0, 1), (2.0, 2), (70.0, 2)], values=np.array([4.0, 5.0, 100.0]))
    engine.merge(2, 1)
    _, fired = feed(engine, [(3.0, 1)], values=np.array([1.0]))
    assert fired == [Firing(0, 1, 3.0, 0.0, 10.0)]
    _, fired = feed(engine, [(71.0, 1)], values=np.array([0.5]))
    assert fired == []  # bucket 1 fired already (100 >= 10 under group 2, moved over)
    d = Insight(threshold=3, window_s=60.0, window_type="tumbling", measure="distinct")
    engine = InsightEngine(d)
    feed(engine, [(1.0, 1), (2.0, 2)], values=np.array(["a", "b"], dtype=object))
    engine.merge(2, 1)
    _, fired = feed(engine, [(3.0, 1), (4.0, 1)], values=np.array(["a", "c"], dtype=object))
    assert [(f.index, f.measure) for f in fired] == [(1, 3)]


def test_sliding_sums_and_distinct_values_merge():
    d = Insight(threshold=10.0, window_s=100.0, measure="sum")
    engine = InsightEngine(d)
    feed(engine, [(1.0, 1), (2.0, 2)], values=np.array([4.0, 5.0]))
    engine.merge(2, 1)
    _, fired = feed(engine, [(3.0, 1)], values=np.array([1.0]))
    assert fired == [Firing(0, 1, 3.0, -97.0, 10.0)]
    d = Insight(threshold=3, window_s=100.0, measure="distinct")
    engine = InsightEngine(d)
    feed(engine, [(1.0, 1), (2.0, 2)], values=np.array(["a", "b"], dtype=object))
    engine.merge(2, 1)
    _, fired = feed(engine, [(3.0, 1), (4.0, 1)], values=np.array(["b", "c"], dtype=object))
    assert [(f.index, f.measure) for f in fired] == [(1, 3)]
    engine.merge(1, 7)  # into a group with no state of its own
    _, fired = feed(engine, [(5.0, 7)], values=np.array(["d"], dtype=object))
    assert fired == []  # the firing at 4 moved too: cooldown
    assert engine.state_size() == 6


def test_the_sweep_runs_every_sweep_every_events():
    engine = InsightEngine(Insight(threshold=5, window_s=10.0, cooldown_s=10.0))
    engine.SWEEP_EVERY = 4
    feed(engine, [(0.0, 1), (1.0, 2)])
    feed(engine, [(50.0, 3, False)])
    assert engine.state_size() == 2  # 3 events: no sweep yet
    feed(engine, [(51.0, 3, False)])
    assert engine.state_size() == 0  # the 4th event sweeps: 0 and 1 <= 51 - 10
    feed(engine, [(60.0, 4), (61.0, 4, False), (62.0, 4, False)])
    assert engine.state_size() == 1  # the counter restarted after the sweep


def test_a_sliding_merge_keeps_the_survivors_own_firings():
    engine = InsightEngine(Insight(threshold=1, window_s=100.0, cooldown_s=50.0))
    feed(engine, [(10.0, 1), (100.0, 2)])  # each group fires once
    engine.merge(2, 1)
    _, fired = feed(engine, [(120.0, 1)])
    assert fired == []  # within 50 s of the firing moved over from group 2
    engine = InsightEngine(Insight(threshold=1, window_s=100.0, cooldown_s=50.0, allowed_lateness_s=100.0))
    feed(engine, [(10.0, 1), (100.0, 2)])
    engine.merge(2, 1)
    _, fired = feed(engine, [(30.0, 1)])
    assert fired == []  # within 50 s of group 1's own firing at 10


def test_a_tumbling_merge_keeps_fired_buckets_fired_and_moves_new_ones():
    engine = InsightEngine(Insight(threshold=2, window_s=60.0, window_type="tumbling"))
    feed(engine, [(1.0, 1), (2.0, 1), (3.0, 2), (61.0, 2)])  # group 1 fired bucket 0
    engine.merge(2, 1)
    _, fired = feed(engine, [(62.0, 1), (63.0, 1)])
    assert [(f.index, f.window_start, f.measure) for f in fired] == [(0, 60.0, 2)]
    engine = InsightEngine(Insight(threshold=2, window_s=60.0, window_type="tumbling", allowed_lateness_s=60.0))
    feed(engine, [(1.0, 1), (2.0, 1), (3.0, 2)])
    engine.merge(2, 1)
    _, fired = feed(engine, [(4.0, 1)])
    assert fired == []  # bucket 0 of group 1 fired already


def test_values_of_an_out_of_order_event_stay_with_its_time():
    d = Insight(threshold=3.0, window_s=10.0, cooldown_s=0.0, measure="sum", allowed_lateness_s=100.0)
    engine = InsightEngine(d)
    _, fired = feed(engine, [(5.0, 1), (20.0, 1), (12.0, 1)], values=np.array([1.0, 100.0, 2.0]))
    # at 20: (10, 20] holds 100 -> fires; at 12: (2, 12] holds 5 and 12 -> 1 + 2 = 3 -> fires
    assert [(f.fired_at, f.measure) for f in fired] == [(20.0, 100.0), (12.0, 3.0)]


def test_two_merges_at_one_position_are_both_applied():
    engine = InsightEngine(Insight(threshold=3, window_s=100.0))
    _, fired = feed(engine, [(1.0, 2), (2.0, 3), (3.0, 1)], merges=[(2, 2, 1), (2, 3, 1)])
    assert fired == [Firing(2, 1, 3.0, -97.0, 3)]


def test_eviction_of_dead_firings_keeps_the_live_values():
    engine = InsightEngine(Insight(threshold=5.0, window_s=100.0, cooldown_s=10.0, measure="sum"))
    _, fired = feed(engine, [(0.0, 1)], values=np.array([5.0]))
    assert len(fired) == 1
    feed(engine, [(50.0, 2, False)], values=np.array([0.0]))
    engine.evict()  # the firing at 0 is dead (0 <= 50 - 10), the event at 0 is not (0 > 50 - 100)
    _, fired = feed(engine, [(60.0, 1)], values=np.array([0.5]))
    assert [(f.fired_at, f.measure) for f in fired] == [(60.0, 5.5)]
