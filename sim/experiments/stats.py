"""Confidence intervals over replications (Student t on the replication values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, half-width, n) of the mean of independent replication values; half-width NaN if n < 2."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    if n < 2:
        return float(x.mean()), float("nan"), 1
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return float(x.mean()), float(half), n


def summarize(runs: Sequence[Mapping[str, float]], metrics: Sequence[str] | None = None,
              level: float = 0.95) -> pd.DataFrame:
    """One row per metric: mean, ci_low, ci_high, half_width, rel_half_width (of |mean|), n.
    For a percentile metric this is the CI of the replication values of that percentile."""
    names = metrics or sorted({k for r in runs for k in r})
    rows = []
    for name in names:
        mean, half, n = mean_ci([r.get(name, np.nan) for r in runs], level)
        rel = half / abs(mean) if mean and np.isfinite(half) else float("nan")
        rows.append({"metric": name, "mean": mean, "ci_low": mean - half, "ci_high": mean + half,
                     "half_width": half, "rel_half_width": rel, "n": n})
    return pd.DataFrame(rows).set_index("metric")
