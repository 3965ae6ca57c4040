"""The insight engine against a brute-force oracle written straight from the semantics."""

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


def run_engine(events, d, cuts=()):
    engine = InsightEngine(d)
    t = np.array([e[0] for e in events], dtype=float)
    g = np.array([e[1] for e in events], dtype=np.int64)
    m = np.array([e[2] for e in events], dtype=bool)
    bounds = sorted({0, len(events), *[c for c in cuts if c < len(events)]})
    late, fired = [], []
    for a, b in zip(bounds, bounds[1:]):
        lt, fs = engine.process(t[a:b], g[a:b], m[a:b])
        late += lt.tolist()
        fired += [(a + f.index, f.group, f.fired_at, f.window_start) for f in fs]
        engine.evict()  # eviction must never change an answer
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
    base = dict(name="p", threshold=3, window_s=600.0, window_type="sliding", cooldown_s=600.0, allowed_lateness_s=0.0)
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
    late, fired = run_engine([(600, 1, True), (700, 1, True), (1199.9, 1, True)], d)
    assert fired == [(2, 1, 1199.9, 600.0)]


def test_lateness_equal_to_the_allowed_value_is_accepted():
    d = sliding(threshold=1, cooldown_s=0.0, allowed_lateness_s=10.0)
    late, _ = run_engine([(100, 1, False), (90, 1, True), (89.999, 1, True)], d)
    assert late == [False, False, True]


def test_merge_combines_window_state_under_the_survivor():
    d = sliding()
    engine = InsightEngine(d)
    late, fired = engine.process(np.array([10.0, 20.0, 30.0]), np.array([5, 5, 9]), np.array([True, True, True]))
    assert fired == []
    late, fired = engine.process(np.array([40.0]), np.array([5]), np.array([True]), merges=[(0, 9, 5)])
    assert [(f.group, f.fired_at, f.measure) for f in fired] == [(5, 40.0, 4)]


@pytest.mark.parametrize("window_type", ["sliding", "tumbling"])
def test_state_is_evicted_as_the_watermark_moves(window_type):
    d = sliding(window_type=window_type)
    engine = InsightEngine(d)
    t = np.arange(0, 100_000, 10.0)
    engine.process(t, (np.arange(len(t)) % 1000), np.ones(len(t), dtype=bool))
    engine.evict()
    assert engine.state_size() < 400  # only the live 10-minute windows remain
