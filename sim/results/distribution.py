"""Distributions of latencies from one sort: exact percentiles (numpy's linear method, to the last
bit), count/max/mean, and empirical-CDF step points (numpy's inverted-CDF quantiles at even levels,
so a curve of any run size is drawn from a bounded number of points). Pure numpy."""

from __future__ import annotations

import numpy as np


def latency_stats(values: np.ndarray) -> dict:
    """count, p50, p90, p95, p99, max, mean of latencies in seconds (None when there are none);
    NaN values are left out. Percentiles are exact (linear interpolation between order statistics,
    as ``numpy.percentile``)."""
    return sorted_stats(values)[0]


def sorted_stats(values: np.ndarray, in_place: bool = False) -> tuple[dict, np.ndarray]:
    """:func:`latency_stats` of ``values`` and their finite values sorted ascending (one sort, for
    the caller's other uses: :func:`ecdf_of_sorted`). ``in_place``: ``values`` (a float array the
    caller no longer needs in its order) may be sorted where it is instead of copied."""
    kept = finite(values)
    mean = float(kept.mean()) if len(kept) else 0.0  # of the unsorted values: numpy's pairwise sum
    if in_place and isinstance(values, np.ndarray) and values.dtype == np.float64:
        ordered = kept  # ``values`` itself, or finite()'s own copy
        ordered.sort()
    else:
        ordered = np.sort(kept)
    return stats_of_sorted(ordered, mean), ordered


def finite(values: np.ndarray) -> np.ndarray:
    """``values`` as floats without their NaN and infinite entries (the same array when all are finite)."""
    values = np.asarray(values, dtype=float)
    return values if np.isfinite(values).all() else values[np.isfinite(values)]


def stats_of_sorted(ordered: np.ndarray, mean: float) -> dict:
    """:func:`latency_stats` of finite latencies already sorted ascending, with their ``mean``
    (given, since numpy's pairwise sum of the unsorted values is the reference to the last bit)."""
    if len(ordered) == 0:
        return {"count": 0, "p50": None, "p90": None, "p95": None, "p99": None, "max": None, "mean": None}
    p50, p90, p95, p99 = percentiles_of_sorted(ordered, (50, 90, 95, 99))
    return {"count": len(ordered), "p50": p50, "p90": p90, "p95": p95, "p99": p99,
            "max": float(ordered[-1]), "mean": mean}


def percentiles(values: np.ndarray, qs) -> list[float]:
    """Exact percentiles of ``values`` (as ``numpy.percentile``, linear method, to the last bit;
    all NaN when a value is NaN, as numpy gives). One sort (numpy's SIMD sort is faster than
    numpy's own selection of several order statistics on large arrays). ``qs`` in [0, 100]."""
    qs = list(qs)
    bad = [q for q in qs if not 0 <= q <= 100]  # NaN fails the test too
    if bad:
        raise ValueError(f"percentiles are in [0, 100] (got {bad[0]!r})")
    ordered = np.sort(np.asarray(values, dtype=float))
    if not len(ordered):
        raise ValueError("percentiles of no values")
    if np.isnan(ordered[-1]):  # NaN sorts last
        return [float("nan")] * len(qs)
    return percentiles_of_sorted(ordered, qs)


def percentiles_of_sorted(ordered: np.ndarray, qs) -> list[float]:
    """:func:`percentiles` of values already sorted ascending."""
    n = len(ordered)
    out = []
    for q in qs:
        r = (q / 100.0) * (n - 1)  # numpy's order of operations
        k = int(np.floor(r))
        below, above, t = float(ordered[k]), float(ordered[min(k + 1, n - 1)]), r - k
        diff = above - below  # numpy's lerp, for the same last bit
        out.append(float(above - diff * (1 - t)) if t >= 0.5 else float(below + diff * t))
    return out


def ecdf_points(values: np.ndarray, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF of ``values`` as step points: every value when there are few, else the
    exact empirical quantiles at ``points`` evenly spaced levels (the same curve, drawn from a
    bounded number of points whatever the run's size)."""
    return ecdf_of_sorted(np.sort(np.asarray(values, dtype=float)), points)


def ecdf_of_sorted(ordered: np.ndarray, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ecdf_points` of values already sorted ascending: the quantiles are those of
    ``numpy.quantile(values, levels, method="inverted_cdf")``."""
    n = len(ordered)
    if n <= points:
        return ordered, np.arange(1, n + 1) / max(n, 1)
    levels = np.arange(1, points + 1) / points
    at = np.ceil(n * levels - 1).astype(np.intp)  # numpy's inverted_cdf: order statistic ceil(n * level - 1)
    return ordered[at], levels
