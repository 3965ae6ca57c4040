"""Freshness (source change -> profile) against its expected value, derived from the model.

A change written at a uniform time inside the window ``[r_{k-1}, r_k)`` of two runs is selected by
run ``k`` (its delta value, floored to the second, is below ``floor(r_k) = r_k``), so it waits
``r_k - t``, uniform on ``[0, I)``: ``I / 2`` on average. Run ``k`` then starts its read after
``startup``, reads ``P_k = max(1, ceil(N_k / 100))`` pages of ``page`` seconds each (``N_k`` rows:
Poisson with mean ``λ I``), writes after ``write``; the profile takes a log-normal ``L`` more.
Every change of run ``k`` lands when the whole batch does, so a change sees its run's page count
with the size-biased weight ``N``:

    E[freshness] = I/2 + startup + page * E[N P(N)] / E[N] + write + E[L],
    E[L] = median * exp(sigma^2 / 2).

Each replication gives the mean freshness of the changes created in a window far enough from
both ends (no censoring: all of them must have reached the profile); the t confidence interval
of those means over replications must hold the expected value, and must be narrow enough to
reject the values a wrong model would give (the full interval instead of half, a run time left
out).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim.core.ledger import DELIVERED
from sim.runs.runner import run
from tests.aep_system.conftest import hubspot

INTERVAL = 900.0  # I in the docstring
STARTUP, PAGE, WRITE = 30.0, 0.25, 60.0
MEDIAN, P95 = 60.0, 300.0
PER_HOUR = 1500.0


def expected_freshness() -> float:
    lam = PER_HOUR / 3600.0 * INTERVAL
    n = np.arange(0, int(lam * 4))
    pmf = stats.poisson.pmf(n, lam)
    pages = np.maximum(1, np.ceil(n / 100))
    weighted_pages = float((pmf * n * pages).sum() / (pmf * n).sum())
    sigma = math.log(P95 / MEDIAN) / 1.6448536269514722
    mean_l = MEDIAN * math.exp(sigma ** 2 / 2)
    return INTERVAL / 2 + STARTUP + PAGE * weighted_pages + WRITE + mean_l


def replication_mean(seed: int) -> tuple[float, int]:
    sc = hubspot(horizon="5h", rows=300, per_hour=PER_HOUR)
    sc["profile"]["latency"] = {"median": MEDIAN, "p95": P95}
    res = run(sc, seed=seed, progress=False)
    led, h = res.ledger, res.horizon_s
    created = led.stage_times("change", "change", h)
    profile = led.stage_times("change", "profile", h)
    window = (created >= INTERVAL) & (created < h - 2 * 3600)
    assert window.sum() > 2000
    assert (led.states_at("change", h)[window] == DELIVERED).all()  # no censoring in the window
    return float((profile - created)[window].mean()), int(window.sum())


def test_mean_freshness_is_half_the_interval_plus_run_time_plus_profile_latency():
    means = np.array([replication_mean(seed)[0] for seed in range(1, 7)])
    expected = expected_freshness()
    half = stats.t.ppf(0.995, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    lo, hi = means.mean() - half, means.mean() + half
    assert lo <= expected <= hi, (means, expected)
    # the test can fail: a model off by a few tens of seconds lies outside the interval
    assert half < 15.0, half
    wrong = [expected + INTERVAL / 2, expected - STARTUP - WRITE,
             expected - (expected_freshness() - INTERVAL / 2 - 180) + 0]
    for value in wrong[:2]:
        assert not lo <= value <= hi


def test_run_time_reported_per_flow_matches_the_plan():
    sc = hubspot(horizon="3h", rows=300, per_hour=PER_HOUR)
    res = run(sc, seed=11, progress=False)
    flow = res.extras()["dataflows"]["contacts"]
    assert flow["load"] == "incremental"
    # every run: startup + pages + write, each page 0.25 s (static token, no 429s)
    for r in res.pipeline.flows[0].runlog:
        if r["finished"] is None:
            continue
        pages = r["api_calls"]
        assert math.isclose(r["finished"] - r["started"], STARTUP + PAGE * pages + WRITE)
    assert flow["token_refreshes"] == 0 and flow["rate_limit_waits"] == 0
