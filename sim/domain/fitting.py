"""Fitting observed stage durations: which distribution, with which parameters, and how well.

For one sample of durations (seconds, > 0) :func:`fit_durations` fits each candidate family by
maximum likelihood with ``scipy.stats`` (location fixed at 0: durations start at zero) —
``lognorm``, ``gamma``, ``weibull_min`` — and keeps the one with the lowest AIC
(``2k - 2 ln L``); the empirical distribution is reported beside them (its quantiles are the
data's). Each fit carries its median and 95th percentile, so it can be written into the twin's
latency parameters (``{median, p95}``, log-normal), and a Kolmogorov-Smirnov test of the data
against the fitted distribution (statistic and p-value; a small p-value says the family does not
describe the data, whatever its AIC rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

FAMILIES = ("lognorm", "gamma", "weibull_min")


@dataclass(frozen=True)
class Fit:
    """One family fitted to one sample."""

    family: str
    params: tuple[float, ...]  # scipy's (shape..., loc, scale)
    log_likelihood: float
    aic: float
    ks_statistic: float
    ks_pvalue: float
    median: float
    p95: float

    def dist(self):
        return getattr(stats, self.family)(*self.params)


@dataclass(frozen=True)
class StageFit:
    """The fits of one stage's durations, best first, and the sample's own quantiles."""

    stage: str
    n: int
    fits: tuple[Fit, ...]
    empirical_median: float
    empirical_p95: float

    @property
    def best(self) -> Fit:
        return self.fits[0]


class FitError(ValueError):
    """A sample that cannot be fitted (too few positive, finite durations)."""


def fit_durations(values: np.ndarray, stage: str = "", families=FAMILIES, min_n: int = 20) -> StageFit:
    """Fit ``families`` to the positive, finite ``values`` (seconds); see the module docstring."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < min_n:
        raise FitError(f"{stage or 'sample'}: {len(x)} positive durations; at least {min_n} are needed to fit")
    fits = []
    for family in families:
        dist = getattr(stats, family)
        with np.errstate(all="ignore"):
            params = dist.fit(x, floc=0)
            ll = float(np.sum(dist.logpdf(x, *params)))
        if not np.isfinite(ll):
            continue
        k = len(params) - 1  # loc is fixed, not estimated
        ks = stats.kstest(x, family, args=params)
        frozen = dist(*params)
        fits.append(Fit(family, tuple(float(p) for p in params), ll, 2 * k - 2 * ll, float(ks.statistic),
                        float(ks.pvalue), float(frozen.median()), float(frozen.ppf(0.95))))
    if not fits:
        raise FitError(f"{stage or 'sample'}: no family could be fitted")
    fits.sort(key=lambda f: f.aic)
    return StageFit(stage, len(x), tuple(fits), float(np.median(x)), float(np.percentile(x, 95)))


def stage_durations(message: np.ndarray, stage: np.ndarray, t: np.ndarray,
                    order: list[str] | None = None) -> dict[str, np.ndarray]:
    """Durations between consecutive stages of each message, by stage pair ``a->b``, from one row
    per message and stage (times in seconds). ``order`` gives the stages' path order; by default
    each message's stages are taken in time order."""
    import pandas as pd

    frame = pd.DataFrame({"m": message, "s": stage, "t": np.asarray(t, dtype=float)})
    frame = frame[np.isfinite(frame["t"])]
    if order is not None:
        rank = {s: i for i, s in enumerate(order)}
        frame = frame[frame["s"].isin(rank)].assign(r=frame["s"].map(rank))
        frame = frame.sort_values(["m", "r", "t"], kind="stable")
    else:
        frame = frame.sort_values(["m", "t"], kind="stable")
    same = frame["m"].to_numpy()[1:] == frame["m"].to_numpy()[:-1]
    a, b = frame["s"].to_numpy()[:-1][same], frame["s"].to_numpy()[1:][same]
    d = (frame["t"].to_numpy()[1:] - frame["t"].to_numpy()[:-1])[same]
    out: dict[str, list] = {}
    for key, value in zip((a + "->" + b).tolist() if len(a) else [], d.tolist()):
        out.setdefault(key, []).append(value)
    return {k: np.array(v) for k, v in out.items()}
