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
@given(st.lists(st.tuples(st.floats(0, 120), st.floats(0, 60), st.sampled_from(["deliver", "drop", "fly", "early"])),
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
    grid = np.concatenate([np.linspace(0.0, H, points), [H + 10.0, H + 100.0]])  # a grid may run past the horizon
    assert np.array_equal(result.occupancy("m", "a", "b", grid), brute(ta, tb, end, grid))
    assert np.array_equal(result.occupancy("m", "b", "c", grid), brute(tb, tc, end, grid))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-5, 200), st.just(float("nan")), st.just(float("inf"))), max_size=80),
       st.booleans())
def test_count_at_counts_the_times_at_or_before_each_grid_point(times, ordered):
    t = np.array(sorted(times) if ordered else times, dtype=float)
    grid = np.array([0.0, 0.5, 10.0, 10.0 + 1e-9, 99.5, 100.0, 150.0])
    assert np.array_equal(_count_at(t, grid), np.array([int((t <= g).sum()) for g in grid]))


def test_a_message_ending_after_the_horizon_is_still_waiting_on_a_grid_past_it():
    """Reached a at 10, b at 20, dropped at 150 (after the horizon, 100): between b and c at 50,
    100 and 160 alike, since nothing after the horizon is counted."""
    led = Ledger()
    led.register("m", ["a", "b", "c"])
    led.create("m", np.array([10.0]))
    led.stamp("m", "b", np.array([0]), np.array([20.0]))
    led.drop("m", np.array([0]), "invalid_payload", np.array([150.0]))
    report = check_conservation(led, {"m": [np.array([0])]}, H)
    result = RunResult("t", "d", 1, H, led, report, counts={})
    assert result.occupancy("m", "b", "c", np.array([50.0, 100.0, 160.0])).tolist() == [1, 1, 1]
    assert result.occupancy("m", "a", "b", np.array([5.0, 10.0, 19.0, 20.0])).tolist() == [0, 1, 1, 0]
