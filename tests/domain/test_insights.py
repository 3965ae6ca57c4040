"""The insight engine against a brute-force oracle written straight from the semantics."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.insights import CountInsight, InsightEngine


def oracle(events, d: CountInsight):
    """events: (t, group, matching) in arrival order -> (late flags, [(index, group, fired_at, window_start)])."""
    max_seen = -math.inf
    accepted = []
    fired = []
    late_flags = []
    for i, (t, g, m) in enumerate(events):
        late = t < max_seen - d.allowed_lateness_s
        late_flags.append(late)
        max_seen = max(max_seen, t)
        if late:
            continue
        accepted.append((t, g, m))
        if not m:
            continue
        if d.window_type == "sliding":
            count = sum(1 for t2, g2, m2 in accepted if g2 == g and m2 and t - d.window_s < t2 <= t)
            if count >= d.threshold and not any(fg == g and abs(t - ft) < d.cooldown_s for _, fg, ft, _ in fired):
                fired.append((i, g, t, t - d.window_s))
        else:
            k = math.floor(t / d.window_s)
            count = sum(1 for t2, g2, m2 in accepted if g2 == g and m2 and math.floor(t2 / d.window_s) == k)
            if count >= d.threshold and not any(fg == g and math.floor(ft / d.window_s) == k for _, fg, ft, _ in fired):
                fired.append((i, g, t, k * d.window_s))
    return late_flags, fired


def walked_state(engine: InsightEngine) -> int:
    """The live window entries counted by walking the state (what ``state_size`` keeps a count of)."""
    if engine.d.window_type == "sliding":
        return sum(map(len, engine._times.values())) + sum(map(len, engine._fired.values()))
    return sum(map(len, engine._buckets.values()))


def run_engine(events, d, cuts=()):
    engine = InsightEngine(d)
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] for e in events], dtype=bool)
    bounds = sorted({0, len(events), *[c for c in cuts if c < len(events)]})
    late, fired = [], []
    for a, b in itertools.pairwise(bounds):
        lt, fs = engine.process(t[a:b], g[a:b], m[a:b])
        late += lt.tolist()
        fired += [(a + f.index, f.group, f.fired_at, f.window_start) for f in fs]
        assert engine.state_size() == walked_state(engine)
        engine.evict()  # eviction must never change an answer
        assert engine.state_size() == walked_state(engine)
    return late, fired


events_st = st.lists(st.tuples(st.integers(0, 60).map(float) | st.floats(0, 60, allow_nan=False),
                               st.integers(0, 2), st.booleans()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(events=events_st, window=st.integers(1, 20), threshold=st.integers(1, 4), cooldown=st.integers(0, 20),
       lateness=st.integers(0, 15), sliding=st.booleans(), cuts=st.lists(st.integers(0, 60), max_size=3))
def test_engine_equals_oracle(events, window, threshold, cooldown, lateness, sliding, cuts):
    d = CountInsight("x", threshold, float(window), "sliding" if sliding else "tumbling", float(cooldown),
                     float(lateness))
    assert run_engine(events, d, cuts) == oracle(events, d)


def sliding(**kw):
    base = {"name": "p", "threshold": 3, "window_s": 600.0, "window_type": "sliding", "cooldown_s": 600.0,
            "allowed_lateness_s": 0.0}
    base.update(kw)
    return CountInsight(**base)


def fired_at(events, d):
    return [f[2] for f in run_engine(events, d)[1]]


def test_three_within_ten_minutes_fires_once_per_burst():
    d = sliding()
    ev = [(0, 1, True), (100, 1, True), (200, 1, True), (300, 1, True), (900, 1, True)]
    assert fired_at(ev, d) == [200.0]  # 300: cooldown; 900: only 300 and 900 in (300, 900]


def test_events_exactly_window_apart_do_not_count_together():
    d = sliding()
    assert fired_at([(0, 1, True), (300, 1, True), (600, 1, True)], d) == []  # (0, 600] excludes 0
    assert fired_at([(0.001, 1, True), (300, 1, True), (600, 1, True)], d) == [600.0]


def test_cooldown_boundary_is_exclusive():
    d = sliding(threshold=1, cooldown_s=60.0)
    assert fired_at([(0, 1, True), (59.999, 1, True), (60, 1, True)], d) == [0.0, 60.0]


def test_tumbling_bucket_edge_and_the_boundary_miss():
    d = sliding(window_type="tumbling")
    # three visits straddling the 600 s boundary: a sliding window fires, a tumbling bucket does not
    ev = [(500, 1, True), (590, 1, True), (600, 1, True)]
    assert fired_at(ev, d) == []
    assert fired_at(ev, sliding()) == [600.0]
    _late, fired = run_engine([(600, 1, True), (700, 1, True), (1199.9, 1, True)], d)
    assert fired == [(2, 1, 1199.9, 600.0)]


def test_lateness_equal_to_the_allowed_value_is_accepted():
    d = sliding(threshold=1, cooldown_s=0.0, allowed_lateness_s=10.0)
    late, _ = run_engine([(100, 1, False), (90, 1, True), (89.999, 1, True)], d)
    assert late == [False, False, True]


def test_merge_combines_window_state_under_the_survivor():
    d = sliding()
    engine = InsightEngine(d)
    _, fired = engine.process(np.array([10.0, 20.0, 30.0]), np.array([5, 5, 9]), np.array([True, True, True]))
    assert fired == []
    _late, fired = engine.process(np.array([40.0]), np.array([5]), np.array([True]), merges=[(0, 9, 5)])
    assert [(f.group, f.fired_at, f.measure) for f in fired] == [(5, 40.0, 4)]


@pytest.mark.parametrize("window_type", ["sliding", "tumbling"])
def test_state_is_evicted_as_the_watermark_moves(window_type):
    d = sliding(window_type=window_type)
    engine = InsightEngine(d)
    t = np.arange(0, 100_000, 10.0)
    engine.process(t, (np.arange(len(t)) % 1000), np.ones(len(t), dtype=bool))
    engine.evict()
    assert engine.state_size() < 400  # only the live 10-minute windows remain


def oracle_measure(events, d, merge_at=None):
    """Like :func:`oracle` with a measure: events are (t, group, matching, value); sums exact (fsum).
    Just before event ``merge_at``, group 2's state (events and firings) becomes group 1's."""
    max_seen = -math.inf
    accepted, fired, owner, late_flags = [], [], [], []

    def measure(vals):
        if d.measure == "count":
            return len(vals)
        return math.fsum(vals) if d.measure == "sum" else len(set(vals))

    for i, (t, g, m, v) in enumerate(events):
        if i == merge_at:
            accepted = [(t2, 1 if g2 == 2 else g2, m2, v2) for t2, g2, m2, v2 in accepted]
            owner = [1 if o == 2 else o for o in owner]
        late = t < max_seen - d.allowed_lateness_s
        late_flags.append(late)
        max_seen = max(max_seen, t)
        if late:
            continue
        accepted.append((t, g, m, v))
        if not m:
            continue
        if d.window_type == "sliding":
            x = measure([v2 for t2, g2, m2, v2 in accepted if g2 == g and m2 and t - d.window_s < t2 <= t])
            blocked = any(o == g and abs(t - f[2]) < d.cooldown_s for o, f in zip(owner, fired))
            start = t - d.window_s
        else:
            k = math.floor(t / d.window_s)
            x = measure([v2 for t2, g2, m2, v2 in accepted if g2 == g and m2 and math.floor(t2 / d.window_s) == k])
            blocked = any(o == g and math.floor(f[2] / d.window_s) == k for o, f in zip(owner, fired))
            start = k * d.window_s
        if x >= d.threshold and not blocked:
            fired.append((i, g, t, start, x))
            owner.append(g)
    return late_flags, fired


measured_events = st.lists(st.tuples(st.integers(0, 40).map(float), st.integers(0, 2), st.booleans(),
                                     st.sampled_from([0.1, 0.2, 0.7, 1.0, 2.5, 3.0])), max_size=50)


@settings(max_examples=300, deadline=None)
@given(events=measured_events, window=st.integers(1, 20), threshold=st.sampled_from([1, 2, 3, 1.0, 2.5]),
       cooldown=st.integers(0, 20), lateness=st.integers(0, 10), sliding_type=st.booleans(),
       measure=st.sampled_from(["sum", "distinct", "count"]), cut=st.integers(0, 50),
       merge_at=st.integers(0, 50))
def test_measures_equal_the_oracle_across_batches_and_a_merge(events, window, threshold, cooldown, lateness,
                                                              sliding_type, measure, cut, merge_at):
    """Group 2 merges into group 1 just before event ``merge_at`` (later group-2 events arrive
    resolved to group 1, as identity resolution delivers them)."""
    d = CountInsight("x", threshold, float(window), "sliding" if sliding_type else "tumbling", float(cooldown),
                     float(lateness), measure)
    events = [(t, 1 if i >= merge_at and g == 2 else g, m, v) for i, (t, g, m, v) in enumerate(events)]
    engine = InsightEngine(d)
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] for e in events], dtype=bool)
    v = np.array([e[3] for e in events], dtype=float)
    n = len(events)
    cut = min(cut, n)
    late, fired = [], []
    for a, b in ((0, cut), (cut, n)):
        last = b == n
        merges = [(merge_at - a, 2, 1)] if a <= merge_at < b or (last and merge_at >= n and a == b) else []
        lt, fs = engine.process(t[a:b], g[a:b], m[a:b], merges=merges, values=v[a:b])
        late += lt.tolist()
        fired += [(a + f.index, f.group, f.fired_at, f.window_start, f.measure) for f in fs]
        assert engine.state_size() == walked_state(engine)  # merges move entries, never lose them
        engine.evict()
        assert engine.state_size() == walked_state(engine)
    assert (late, fired) == oracle_measure(events, d, merge_at)


def test_sum_and_distinct_measures_fire_at_the_threshold():
    ev = [(0.0, 1, True), (10.0, 1, True), (20.0, 1, True)]
    d = CountInsight("basket", 100.0, 600.0, "sliding", 600.0, 0.0, "sum")
    engine = InsightEngine(d)
    _, fired = engine.process(np.array([e[0] for e in ev]), np.array([1, 1, 1]), np.ones(3, bool),
                              values=np.array([40.0, 59.99, 0.01]))
    assert [(f.fired_at, f.measure) for f in fired] == [(20.0, 100.0)]
    d = CountInsight("pages", 2, 600.0, "tumbling", 0.0, 0.0, "distinct")
    engine = InsightEngine(d)
    _, fired = engine.process(np.array([0.0, 1.0, 2.0]), np.array([1, 1, 1]), np.ones(3, bool),
                              values=np.array(["pricing", "pricing", "docs"], dtype=object))
    assert [(f.fired_at, f.measure) for f in fired] == [(2.0, 2)]
    with pytest.raises(ValueError, match="needs one value per event"):
        engine.process(np.array([3.0]), np.array([1]), np.ones(1, bool))


def walk_evict(engine: InsightEngine) -> tuple[dict, dict, int]:
    """What a sweep must leave (the former walk of every group): the groups whose last time is
    above the limit, in their order, and the live count."""
    w = engine.watermark
    times = {g: list(v) for g, v in engine._times.items() if v and v[-1] > w - engine.d.window_s}
    fired = {g: list(v) for g, v in engine._fired.items() if v and v[-1] > w - engine.d.cooldown_s}
    return times, fired, sum(map(len, times.values())) + sum(map(len, fired.values()))


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.tuples(st.integers(0, 20).map(float) | st.floats(0, 20, allow_nan=False),
                                 st.sampled_from([0.0, 1.0, 5.0]) | st.floats(0, 8, allow_nan=False),
                                 st.integers(0, 6), st.booleans()), max_size=80)
       .map(lambda rows: [(sum(r[0] for r in rows[: i + 1]) - jitter, g, m)  # mostly in time order
                          for i, (_, jitter, g, m) in enumerate(rows)]),
       window=st.integers(1, 30), cooldown=st.integers(0, 60), lateness=st.integers(0, 20),
       cuts=st.lists(st.integers(0, 80), max_size=6), merges=st.lists(st.tuples(st.integers(0, 80),
                                                                                  st.integers(0, 6),
                                                                                  st.integers(0, 6)),
                                                                        max_size=4))
def test_a_sweep_evicts_exactly_the_groups_a_walk_of_every_group_would(events, window, cooldown, lateness,
                                                                        cuts, merges):
    """After every batch (merges included) a sweep leaves exactly the groups whose last time is past
    the limit, in their order, and the live count matches (a pin for any faster sweep: a heap of
    last times was tried and was slower, since most groups are touched between sweeps)."""
    d = CountInsight("x", 2, float(window), "sliding", float(cooldown), float(lateness))
    engine = InsightEngine(d)
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] for e in events], dtype=bool)
    bounds = sorted({0, len(events), *[c for c in cuts if c < len(events)]})
    for a, b in itertools.pairwise(bounds):
        mine = [(i - a, x, y) for i, x, y in merges if a <= i < b and x != y]
        engine.process(t[a:b], g[a:b], m[a:b], merges=mine)
        expected = walk_evict(engine)
        engine.evict()
        assert ({k: list(v) for k, v in engine._times.items()}, {k: list(v) for k, v in engine._fired.items()},
                engine.state_size()) == expected
        assert list(engine._times) == list(expected[0]) and list(engine._fired) == list(expected[1])


def test_a_merged_group_is_swept_by_the_later_of_the_two_last_firings():
    """Group 1 fired at 10, group 2 at 50; 2 merges into 1: the survivor's last firing is 50, so the
    sweep keeps it while 50 is within the cooldown and drops it after."""
    d = CountInsight("x", 1, 5.0, "sliding", 100.0, 0.0)
    engine = InsightEngine(d)
    engine.process(np.array([10.0]), np.array([1]), np.array([True]))
    engine.evict()
    engine.process(np.array([50.0]), np.array([2]), np.array([True]))
    engine.evict()
    engine.process(np.array([120.0]), np.array([3]), np.array([False]), merges=[(0, 2, 1)])
    engine.evict()  # limit 20: 1's last firing is 50 now
    assert engine._fired == {1: [10.0, 50.0]} and engine.state_size() == walked_state(engine)
    engine.process(np.array([151.0]), np.array([3]), np.array([False]))
    engine.evict()  # limit 51: gone
    assert engine._fired == {} and engine.state_size() == walked_state(engine) == 0
