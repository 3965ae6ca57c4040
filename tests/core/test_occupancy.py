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


def _result_with_columns(columns: dict[str, np.ndarray], end: np.ndarray, h: float = H) -> RunResult:
    """A run whose ``m`` table holds exactly these stage columns and end times (any order, NaN for
    a stage not reached), to test the counts on columns no simulation would write."""
    led = Ledger()
    led.register("m", list(columns))
    first = next(iter(columns.values()))
    led.create("m", np.zeros(len(first)))
    table = led.table("m")
    for stage, values in columns.items():
        table.stamp[stage][: len(values)] = values
    table.end_t[: len(end)] = end
    return RunResult("t", "d", 1, h, led, check_conservation(Ledger(), {}, h), counts={})


_stamp = st.one_of(st.floats(0, 130), st.just(float("nan")))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_stamp, _stamp, _stamp, _stamp), min_size=1, max_size=40), st.integers(2, 30))
def test_queue_series_counts_every_stage_pair_as_occupancy_does(rows, points):
    """queue_series shares each stage's count of arrivals between two pairs; on any columns (stages
    out of order, a message at b that never reached a) it gives occupancy()'s counts."""
    ta, tb, tc, end = (np.array(c, dtype=float) for c in zip(*rows))
    result = _result_with_columns({"a": ta, "b": tb, "c": tc}, end)
    frame = result.queue_series(points)
    grid = frame.index.to_numpy()
    assert list(frame.columns) == ["a->b", "b->c"]
    assert np.array_equal(frame["a->b"].to_numpy(), result.occupancy("m", "a", "b", grid))
    assert np.array_equal(frame["b->c"].to_numpy(), result.occupancy("m", "b", "c", grid))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 130), st.floats(0, 40), st.floats(0, 40), st.floats(0, 40),
                          st.integers(0, 3), st.booleans()), min_size=1, max_size=40), st.integers(2, 30))
def test_queue_series_of_messages_moving_forward_in_time_is_a_brute_force_count(rows, points):
    """Messages that reach a, then b, then c (stopping after ``reached`` stages), ending (dropped or
    delivered) at their last stage or later, or not at all: the counts a brute-force count gives."""
    ta, tb, tc, end = (np.full(len(rows), np.nan) for _ in range(4))
    for i, (t, d1, d2, d3, reached, ends) in enumerate(rows):
        stamps = np.cumsum([t, d1, d2])[:max(reached, 1)]
        for column, value in zip((ta, tb, tc), stamps):
            column[i] = value
        if ends:
            end[i] = stamps[-1] + d3
    result = _result_with_columns({"a": ta, "b": tb, "c": tc}, end)
    frame = result.queue_series(points)
    grid = frame.index.to_numpy()
    assert np.array_equal(frame["a->b"].to_numpy(), brute(ta, tb, end, grid))
    assert np.array_equal(frame["b->c"].to_numpy(), brute(tb, tc, end, grid))


def test_a_message_at_b_that_never_reached_a_is_counted_as_occupancy_counts_it():
    """Message 0 reached b at 20 without a stamp at a: it never entered a->b, so it never leaves
    it either (the shared count would subtract it); message 1 went a (10) -> b (30)."""
    result = _result_with_columns({"a": np.array([np.nan, 10.0]), "b": np.array([20.0, 30.0]),
                                   "c": np.array([np.nan, np.nan])}, np.array([np.nan, np.nan]))
    frame = result.queue_series(11)  # every 10 s
    assert frame["a->b"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert frame["b->c"].tolist() == [0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2]


def test_a_message_dropped_between_two_stages_leaves_the_pair_when_it_ends():
    """Reached a at 10, dropped at 35 before b; another reached a at 10 and b at 50: a->b holds 2
    until 35, then 1 until 50; a drop after the horizon never leaves."""
    result = _result_with_columns({"a": np.array([10.0, 10.0, 10.0]), "b": np.array([np.nan, 50.0, np.nan]),
                                   "c": np.full(3, np.nan)}, np.array([35.0, np.nan, 150.0]))
    frame = result.queue_series(11)
    assert frame["a->b"].tolist() == [0, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1]
    assert frame["b->c"].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-5, 200), st.just(float("nan")), st.just(float("inf"))), max_size=80),
       st.booleans())
def test_count_at_on_a_scratch_copy_counts_as_without(times, ordered):
    t = np.array(sorted(times) if ordered else times, dtype=float)
    grid = np.array([0.0, 0.5, 10.0, 10.0 + 1e-9, 99.5, 100.0, 150.0])
    expected = _count_at(t.copy(), grid)
    assert np.array_equal(_count_at(t, grid, scratch=True), expected)


def test_stage_occupancies_on_a_grid_past_the_horizon_count_as_occupancy_does():
    """The shared counts hold for grid points within the horizon; a grid past it is counted pair
    by pair (a stamp after the horizon never counts, even at a later grid point)."""
    result = _result_with_columns({"a": np.array([10.0, 20.0]), "b": np.array([120.0, 50.0]),
                                   "c": np.array([np.nan, 130.0])}, np.array([np.nan, 130.0]))
    grid = np.array([0.0, 15.0, 60.0, 100.0, 125.0, 140.0])
    counts = result._stage_occupancies("m", grid)
    assert counts["a->b"].tolist() == [0, 1, 1, 1, 1, 1]  # b at 120 is after the horizon (100)
    assert counts["b->c"].tolist() == [0, 0, 1, 1, 1, 1]
    for pair in ("a->b", "b->c"):
        assert np.array_equal(counts[pair], result.occupancy("m", *pair.split("->"), grid))
