"""The kernel against queueing theory (fast subset of `sim validate`)."""

import pytest

from sim.validation.queueing import erlang_c, theory, validate_all


def test_theory_formulas_agree_where_models_meet():
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    mm1 = theory("M/M/1", 0.7, 1.0)
    assert theory("M/M/c", 0.7, 1.0, 1) == pytest.approx(mm1)
    assert theory("tandem", 0.7, [1.0]) == pytest.approx(mm1)
    assert theory("M/D/1", 0.7, 1.0)["wait"] == pytest.approx(mm1["wait"] / 2)  # P-K: half of M/M/1


def test_kernel_confidence_intervals_cover_theory():
    """Every model at rho 0.5 and 0.85; 99.9 % intervals so that a correct kernel fails 1 run in 1000."""
    rows = validate_all(quick=True, replications=20, customers=50_000, confidence=0.999, utilisations=(0.5, 0.85))
    assert len(rows) == 16
    bad = [r for r in rows if not r["ok"]]
    assert not bad, bad
    widest = max((r["ci_high"] - r["ci_low"]) / r["theory"] for r in rows)
    assert widest < 0.25  # intervals narrow enough to catch a wrong kernel


def test_a_wrong_kernel_would_be_caught():
    """Sanity of the check itself: the M/M/1 interval excludes the M/D/1 value and vice versa."""
    rows = validate_all(quick=True, replications=10, customers=20_000, utilisations=(0.85,))
    by = {(r["model"], r["metric"]): r for r in rows}
    md1_wait = by[("M/D/1", "wait")]["theory"]
    assert not by[("M/M/1", "wait")]["ci_low"] <= md1_wait <= by[("M/M/1", "wait")]["ci_high"]
