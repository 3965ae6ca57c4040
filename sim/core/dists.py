"""Random draws used by the actors, always from a named ``numpy.random.Generator``."""

from __future__ import annotations

import math

import numpy as np


def lognormal(rng: np.random.Generator, median: float, sigma: float, size: int | None = None):
    """Log-normal draws with the given median (seconds) and shape; constant when sigma is 0."""
    if sigma <= 0 or median <= 0:
        return median if size is None else np.full(size, float(median))
    return median * np.exp(sigma * rng.standard_normal(size))


def unit_noise(rng: np.random.Generator, cv: float, size: int | None = None):
    """Multiplicative noise with mean 1 and coefficient of variation ``cv`` (log-normal)."""
    if cv <= 0:
        return 1.0 if size is None else np.ones(size)
    s2 = math.log1p(cv * cv)
    return np.exp(math.sqrt(s2) * rng.standard_normal(size) - s2 / 2)
