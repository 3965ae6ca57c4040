"""A token-bucket rate limiter, as the generic cell rate algorithm (GCRA).

A bucket of ``burst`` tokens refills at ``rate_per_s``; a request takes one token or is refused
(HTTP 429). GCRA keeps one number, the theoretical arrival time ``tat``: a request at time ``t``
conforms when ``t >= tat - tau`` with ``tau = (burst - 1) / rate``; then ``tat = max(tat, t) +
1 / rate``. A refused request is told when a token will be there (``Retry-After``).

:meth:`TokenBucket.admit_prefix` decides a whole sorted batch at once: if every request conforms,
``tat_i = (i + 1) / rate + max(tat_0, max_{k<=i}(t_k - k / rate))``, so the conforming prefix is
found with one cumulative maximum; the caller falls back to :meth:`admit` from the first refusal.
"""

from __future__ import annotations

import numpy as np

EPS_S = 1e-9  # requests within a nanosecond of conforming conform (both paths round alike)


class TokenBucket:
    """Rate ``rate_per_s`` requests/s with bursts of up to ``burst`` requests."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.interval = 1.0 / rate_per_s
        self.tau = (burst - 1) * self.interval
        self.tat = -np.inf

    def admit(self, t: float) -> float:
        """Take a token at time ``t``: return 0.0 if admitted, else the seconds until one is free."""
        tat = self.tat
        if t >= tat - self.tau - EPS_S:
            self.tat = (tat if tat > t else t) + self.interval
            return 0.0
        return tat - self.tau - t

    def admit_prefix(self, t: np.ndarray) -> int:
        """Admit the longest conforming prefix of the sorted times ``t``; return its length."""
        n = len(t)
        if n == 0:
            return 0
        k = np.arange(n, dtype=float) * self.interval
        base = np.maximum.accumulate(t - k)
        tat0 = self.tat if np.isfinite(self.tat) else -np.inf
        np.maximum(base, tat0, out=base)
        tat_after = base + k + self.interval  # tat after request i, if all before conformed
        tat_before = np.empty(n)
        tat_before[0] = self.tat
        tat_before[1:] = tat_after[:-1]
        bad = np.flatnonzero(t < tat_before - self.tau - EPS_S)
        m = int(bad[0]) if len(bad) else n
        if m:
            self.tat = float(tat_after[m - 1])
        return m
