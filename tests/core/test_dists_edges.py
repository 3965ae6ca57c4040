"""lognormal and unit_noise: the constant cases on both sides of 0 (scalar and array), and the
draws themselves against the docstring's formulas applied to the same standard normals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core.dists import lognormal, unit_noise


def _z(seed, size):
    return np.random.default_rng(seed).standard_normal(size)


@pytest.mark.parametrize("median,sigma", [(2.0, 0.0), (2.0, -0.5), (0.0, 1.0), (-3.0, 1.0)])
def test_lognormal_is_the_median_when_sigma_or_median_is_not_positive(median, sigma):
    rng = np.random.default_rng(1)
    assert lognormal(rng, median, sigma) == median
    got = lognormal(rng, median, sigma, size=3)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.tolist() == [median] * 3
    assert rng.standard_normal() == _z(1, None)  # nothing was drawn


def test_lognormal_of_an_integer_median_is_a_float_array():
    got = lognormal(np.random.default_rng(1), 3, 0.0, size=2)
    assert got.dtype == np.float64 and got.tolist() == [3.0, 3.0]


def test_lognormal_draws_are_median_times_exp_sigma_z():
    got = lognormal(np.random.default_rng(5), 10.0, 0.5, size=4)
    want = [10.0 * math.exp(0.5 * z) for z in _z(5, 4)]
    assert got.shape == (4,) and got == pytest.approx(want, rel=1e-12)
    one = lognormal(np.random.default_rng(5), 10.0, 0.5)
    assert np.ndim(one) == 0 and one == pytest.approx(10.0 * math.exp(0.5 * _z(5, None)), rel=1e-12)


def test_a_tiny_positive_sigma_and_median_draw():
    rng = np.random.default_rng(2)
    got = lognormal(rng, 1e-9, 1e-9)
    assert got != 1e-9 and got == pytest.approx(1e-9 * math.exp(1e-9 * _z(2, None)), rel=1e-15)


@pytest.mark.parametrize("cv", [0.0, -1.0])
def test_unit_noise_without_spread_is_one(cv):
    rng = np.random.default_rng(3)
    one = unit_noise(rng, cv)
    assert one == 1.0 and isinstance(one, float)
    arr = unit_noise(rng, cv, size=3)
    assert isinstance(arr, np.ndarray) and arr.tolist() == [1.0, 1.0, 1.0]
    assert rng.standard_normal() == _z(3, None)  # nothing was drawn


def test_unit_noise_draws_follow_the_lognormal_with_mean_one_formula():
    cv = 0.75
    s2 = math.log(1 + cv * cv)
    want = [math.exp(math.sqrt(s2) * z - s2 / 2) for z in _z(9, 5)]
    assert unit_noise(np.random.default_rng(9), cv, size=5) == pytest.approx(want, rel=1e-12)
    assert unit_noise(np.random.default_rng(9), cv) == pytest.approx(want[0], rel=1e-12)


def test_unit_noise_has_mean_one_and_the_asked_cv():
    x = unit_noise(np.random.default_rng(11), 0.5, size=200_000)
    assert x.mean() == pytest.approx(1.0, abs=0.01)
    assert x.std() / x.mean() == pytest.approx(0.5, abs=0.02)
