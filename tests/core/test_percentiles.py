"""Exact percentiles and empirical-CDF points from one sort, checked against numpy to the last bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50),
       st.integers(200_000, 260_000), st.integers(0, 2**32 - 1))
def test_exact_percentiles_equal_numpy_on_large_arrays(head, n, seed):
    """Order statistics of one sort, interpolated as numpy does, give numpy.percentile's values."""
    from sim.results.distribution import percentiles

    rng = np.random.default_rng(seed)
    values = np.concatenate([np.array(head), rng.lognormal(3, 2, n), np.repeat(rng.uniform(0, 100, 3), 5000)])
    qs = (0, 1, 50, 90, 95, 99, 100)
    assert percentiles(values, qs) == [float(v) for v in np.percentile(values, qs)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e9, allow_nan=False), min_size=1, max_size=300),
       st.sampled_from([0.0, 0.001, 0.5, 2.5]), st.integers(1, 400))
def test_exact_percentiles_equal_numpy_on_small_and_tied_arrays(values, grain, q_steps):
    from sim.results.distribution import percentiles

    v = np.array(values) if grain == 0 else np.round(np.array(values) / grain) * grain
    qs = [100 * i / q_steps for i in range(q_steps + 1)]
    assert percentiles(v, qs) == [float(x) for x in np.percentile(v, qs)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=400), st.integers(1, 500),
       st.integers(0, 3))
def test_ecdf_points_are_numpys_inverted_cdf_quantiles(values, points, decimals):
    """Above ``points`` values, the curve's x are numpy.quantile(..., method="inverted_cdf") at
    the levels i/points; at or below, every value sorted with levels i/n."""
    from sim.results.distribution import ecdf_points

    v = np.round(np.array(values), decimals)
    x, levels = ecdf_points(v, points)
    if len(v) <= points:
        assert (x == np.sort(v)).all() and (levels == np.arange(1, len(v) + 1) / len(v)).all()
    else:
        expect = np.arange(1, points + 1) / points
        assert (levels == expect).all()
        assert (x == np.quantile(v, expect, method="inverted_cdf")).all()


def test_latency_stats_leave_out_nan_and_infinite_values_and_an_empty_set_has_none():
    from sim.results.distribution import latency_stats

    assert latency_stats(np.array([1.0, np.nan, 3.0, np.inf, -np.inf])) == latency_stats(np.array([1.0, 3.0]))
    assert latency_stats(np.array([1.0, 3.0]))["mean"] == 2.0
    assert latency_stats(np.array([np.nan]))["count"] == 0 and latency_stats(np.empty(0))["mean"] is None


def test_percentiles_outside_0_100_are_refused_and_a_nan_value_gives_nan_as_numpy():
    import pytest

    from sim.results.distribution import percentiles

    for q in (-10, -1e-9, 100.5, 150, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 100\]"):
            percentiles(np.array([1.0, 2.0]), [q])
    with pytest.raises(ValueError, match=r"^percentiles of no values$"):
        percentiles(np.empty(0), [50])
    got = percentiles(np.array([1.0, np.nan, 2.0]), [0, 50])
    assert np.isnan(got).all() and np.isnan(np.percentile([1.0, np.nan, 2.0], [0, 50])).all()
    assert percentiles(np.array([1.0, 2.0]), [0, 100]) == [1.0, 2.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf"))), max_size=200),
       st.sampled_from(["float", "int", "list"]))
def test_sorted_stats_in_place_gives_what_a_copy_gives(values, form):
    """Sorting the caller's own array where it is (what the summary does with each new latency
    array) gives the same stats and the same sorted values as sorting a copy; the caller's array
    is sorted only when it was a float array without NaN or infinities (else a copy is sorted)."""
    from sim.results.distribution import sorted_stats

    arr = np.array(values, dtype=float)
    if form == "int":
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0).astype(np.int64)
    given_ = arr.tolist() if form == "list" else arr
    before = np.array(arr, copy=True)
    stats_copy, ordered_copy = sorted_stats(np.array(before, copy=True))
    stats, ordered = sorted_stats(given_, in_place=True)
    assert stats == stats_copy or (stats["count"] == 0 and stats_copy["count"] == 0)
    assert np.array_equal(ordered, ordered_copy)
    all_finite = bool(np.isfinite(before.astype(float)).all())
    if form == "float" and all_finite:
        assert ordered is given_ and np.array_equal(arr, np.sort(before))
    else:
        assert np.array_equal(arr, before, equal_nan=True)  # left as it was
