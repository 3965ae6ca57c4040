"""Request-by-request decisions of a token bucket with client retries, compiled.

:func:`decide` runs the loop an overloaded API needs: new requests (sorted by arrival) and due
retries (a heap ordered by time, then request key) are taken in time order; each takes a token of
the GCRA bucket (:class:`~sim.core.token_bucket.TokenBucket`, same arithmetic) or gets an HTTP 429,
after which the client drops it (``drop`` policy, or ``max_attempts`` reached) or retries after
``min(max_backoff, initial * multiplier ** (attempt - 1)) * (1 - jitter * u)``, at least the
bucket's wait, with ``u`` the next of the given uniforms. The result is the same, bit for bit, as
deciding each request in Python (``tests/core/test_retry_kernel.py``); with numba installed the
loop is compiled (about 50× faster), else it runs as plain Python.

Outcome codes: 0 accepted, 1 dropped, 2 waiting for a retry (new requests only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.core.token_bucket import EPS_S

ACCEPTED, DROPPED, RETRYING = 0, 1, 2


def _less(ta: float, ka: int, tb: float, kb: int) -> bool:
    return ta < tb or (ta == tb and ka < kb)


def _push(ht, hk, ha, n, t, k, a):
    """Push (t, k, a) on the heap of ``n`` entries held in arrays (grown by the caller)."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if _less(t, k, ht[parent], hk[parent]):
            ht[i], hk[i], ha[i] = ht[parent], hk[parent], ha[parent]
            i = parent
        else:
            break
    ht[i], hk[i], ha[i] = t, k, a
    return n + 1


def _pop(ht, hk, ha, n):
    """Remove the smallest entry of the heap of ``n`` entries; returns the new size."""
    n -= 1
    t, k, a = ht[n], hk[n], ha[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _less(ht[c + 1], hk[c + 1], ht[c], hk[c]):
            c += 1
        if _less(ht[c], hk[c], t, k):
            ht[i], hk[i], ha[i] = ht[c], hk[c], ha[c]
            i = c
        else:
            break
    if n > 0:
        ht[i], hk[i], ha[i] = t, k, a
    return n


def _decide(t_new, k_new, ht, hk, ha, hn, until, tat, interval, tau, drop, max_attempts, initial, multiplier,
            max_backoff, jitter, u, u_pos, out_new, out_new_t, r_key, r_out, r_t):
    """The loop; see the module docstring. ``ht, hk, ha`` hold the heap (``hn`` entries) with room
    for every push; ``out_new*`` get each new request's outcome, ``r_*`` each due retry's.
    Returns (heap size, bucket tat, uniforms used up to, retries decided, retries taken, 429s)."""
    n = len(t_new)
    i = 0
    nr = 0
    npop = 0
    n429 = 0
    inf = np.inf
    while True:
        next_t = t_new[i] if i < n else inf
        if hn > 0 and ht[0] <= next_t and ht[0] < until:
            t, key, attempt = ht[0], hk[0], ha[0]
            hn = _pop(ht, hk, ha, hn)
            npop += 1
            is_new = False
        elif i < n:
            t, key, attempt = t_new[i], k_new[i], 1
            is_new = True
        else:
            break
        # the bucket (TokenBucket.admit)
        if t >= tat - tau - EPS_S:
            tat = (tat if tat > t else t) + interval
            outcome = ACCEPTED
        else:
            wait = tat - tau - t
            n429 += 1
            if drop or attempt >= max_attempts:
                outcome = DROPPED
            else:
                backoff = min(max_backoff, initial * multiplier ** float(attempt - 1))
                backoff *= 1.0 - jitter * u[u_pos]
                u_pos += 1
                hn = _push(ht, hk, ha, hn, t + max(backoff, wait), key, attempt + 1)
                outcome = RETRYING
        if is_new:
            out_new[i] = outcome
            out_new_t[i] = t
            i += 1
        else:
            if outcome != RETRYING:
                r_key[nr] = key
                r_out[nr] = outcome
                r_t[nr] = t
                nr += 1
    return hn, tat, u_pos, nr, npop, n429


def _compiled() -> Callable[..., Any]:
    try:
        import numba
    except ImportError:  # plain Python: the same loop, slower
        return _decide
    jit = numba.njit(cache=True, nogil=True)
    global _less, _push, _pop  # _decide reads them from the module when it is compiled
    _less, _push, _pop = jit(_less), jit(_push), jit(_pop)
    return jit(_decide)


@functools.cache
def kernel() -> Callable[..., Any]:
    """The decision loop, compiled on first use when numba is available."""
    return _compiled()


class RetryHeap:
    """Requests waiting to retry, as a binary heap over three arrays (time, request key, attempt)."""

    def __init__(self) -> None:
        self.t = np.empty(16)
        self.key = np.empty(16, dtype=np.int64)
        self.attempt = np.empty(16, dtype=np.int64)
        self.n = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > len(self.t):
            size = max(need, int(len(self.t) * 1.5))
            for name in ("t", "key", "attempt"):
                old = getattr(self, name)
                new = np.empty(size, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)

    def keys(self) -> np.ndarray:
        return self.key[: self.n].copy()

    def __len__(self) -> int:
        return self.n
