"""Queue lengths (RunResult.occupancy) against a brute-force count at each grid point: a message is
between stages a and b at time g when it reached a at or before g and had neither reached b nor
ended by g (stamps after the horizon do not count). Stage columns in order and out of order (the
look-up fast path and the binned path), drops, messages still in flight."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.ledger import IN_FLIGHT, Ledger, check_conservation
from sim.results.run_result import RunResult, _count_at

H = 100.0


def brute(ta, tb, end, grid, h=H):
    out = []
    for g in grid:
        n = 0
        for a, b, e in zip(ta, tb, end):
            if not (a <= h and a <= g):
                continue
            left = (b <= h and b <= g) or (not b <= h and e <= h and e <= g)
            n += not left
        out.append(n)
    return np.array(out)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 120), st.floats(0, 30), st.sampled_from(["deliver", "drop", "fly", "early"])),
                min_size=1, max_size=60), st.booleans(), st.integers(2, 25))
def test_occupancy_counts_what_a_brute_force_count_does(rows, ordered, points):
    if ordered:
        rows = sorted(rows)
    led = Ledger()
    led.register("m", ["a", "b", "c"])
    led.create("m", np.array([r[0] for r in rows]))
    ta = np.array([r[0] for r in rows])
    tb = np.full(len(rows), np.nan)
    end = np.full(len(rows), np.nan)
    tc = np.full(len(rows), np.nan)
    for i, (t, wait, fate) in enumerate(rows):
        ids = np.array([i])
        if fate == "early":  # dropped before reaching b
            led.drop("m", ids, "invalid_payload", np.array([t + wait / 2]))
            end[i] = t + wait / 2
            continue
        tb[i] = t + wait
        led.stamp("m", "b", ids, np.array([t + wait]))
        if fate == "deliver":
            led.stamp("m", "c", ids, np.array([t + wait + 1]))
            led.deliver("m", ids, np.array([t + wait + 1]))
            end[i] = tc[i] = t + wait + 1
        elif fate == "drop":
            led.drop("m", ids, "invalid_payload", np.array([t + wait + 0.5]))
            end[i] = t + wait + 0.5
    flying = np.flatnonzero(led.states_at("m", H) == IN_FLIGHT)
    report = check_conservation(led, {"m": [flying]}, H)
    result = RunResult("t", "d", 1, H, led, report, counts={})
    grid = np.linspace(0.0, H, points)
    assert np.array_equal(result.occupancy("m", "a", "b", grid), brute(ta, tb, end, grid))
    assert np.array_equal(result.occupancy("m", "b", "c", grid), brute(tb, tc, end, grid))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-5, 200), st.just(float("nan")), st.just(float("inf"))), max_size=80),
       st.booleans())
def test_count_at_counts_the_times_at_or_before_each_grid_point(times, ordered):
    t = np.array(sorted(times) if ordered else times, dtype=float)
    grid = np.array([0.0, 0.5, 10.0, 10.0 + 1e-9, 99.5, 100.0, 150.0])
    assert np.array_equal(_count_at(t, grid), np.array([int((t <= g).sum()) for g in grid]))
