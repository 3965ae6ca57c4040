"""The compiled decision loop of sim.core.retry_kernel against the request-by-request Python
reference it replaced (heapq + TokenBucket.admit), outcome for outcome and bit for bit."""

import heapq

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.core import retry_kernel
from sim.core.retry_kernel import ACCEPTED, DROPPED, RETRYING, RetryHeap, kernel
from sim.core.token_bucket import TokenBucket


def reference(rounds, rate, burst, drop, max_attempts, initial, mult, max_backoff, jitter, u):
    """The Python loop of the Ingestion API before the kernel: one decision per request."""
    bucket = TokenBucket(rate, burst)
    heap: list = []
    pos = 0
    log = []
    for t_new, k_new, until in rounds:
        i = 0
        while True:
            nxt = t_new[i] if i < len(t_new) else np.inf
            if heap and heap[0][0] <= nxt and heap[0][0] < until:
                t, key, attempt = heapq.heappop(heap)
            elif i < len(t_new):
                t, key, attempt = float(t_new[i]), int(k_new[i]), 1
                i += 1
            else:
                break
            wait = bucket.admit(t)
            if wait == 0.0:
                log.append((key, ACCEPTED, t))
                continue
            if drop or attempt >= max_attempts:
                log.append((key, DROPPED, t))
                continue
            backoff = min(max_backoff, initial * mult ** (attempt - 1))
            backoff *= 1.0 - jitter * u[pos]
            pos += 1
            heapq.heappush(heap, (t + max(backoff, wait), key, attempt + 1))
            log.append((key, RETRYING, t))
    return log, bucket.tat, len(heap)


def run_kernel(fn, rounds, rate, burst, drop, max_attempts, initial, mult, max_backoff, jitter, u):
    bucket = TokenBucket(rate, burst)
    heap = RetryHeap()
    pos = 0
    log = []
    for t_new, k_new, until in rounds:
        heap.reserve(len(t_new))
        most = (heap.n + len(t_new)) * max_attempts + 1
        out_new, out_t = np.empty(len(t_new), np.int8), np.empty(len(t_new))
        r_key, r_out, r_t = np.empty(most, np.int64), np.empty(most, np.int8), np.empty(most)
        heap.n, bucket.tat, pos, nr, _, _ = fn(
            t_new, k_new, heap.t, heap.key, heap.attempt, heap.n, until, bucket.tat, bucket.interval, bucket.tau,
            drop, max_attempts, initial, mult, max_backoff, jitter, u, pos, out_new, out_t, r_key, r_out, r_t)
        log += [(int(k), int(o), float(t)) for k, o, t in zip(k_new, out_new, out_t)]
        log += [(int(k), int(o), float(t)) for k, o, t in zip(r_key[:nr], r_out[:nr], r_t[:nr])]
    return log, bucket.tat, heap.n


def final_outcomes(log):
    """Each request's final outcome and its time, or RETRYING (without a time: the kernel reports
    only a request's first refusal and its final decision) for one still waiting."""
    out = {}
    for key, o, t in log:
        if o != RETRYING:
            out[key] = (o, t)
        else:
            out.setdefault(key, (RETRYING, None))
    return out


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), rate=st.sampled_from([1.0, 3.0, 7.5, 50.0]),
       burst=st.integers(1, 20), drop=st.booleans(), max_attempts=st.integers(1, 6),
       mult=st.sampled_from([1.0, 1.5, 2.0, 3.0]), jitter=st.sampled_from([0.0, 0.5, 1.0]),
       rounds=st.integers(1, 5))
@example(seed=0, n=56, rate=1.0, burst=1, drop=False, max_attempts=6, mult=2.0, jitter=0.0, rounds=1)  # still waiting
def test_the_kernel_decides_as_the_python_loop(seed, n, rate, burst, drop, max_attempts, mult, jitter, rounds):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 30, n)
    t[rng.random(n) < 0.2] = 7.0  # some requests at the same instant
    t = np.sort(t)
    keys = np.arange(n, dtype=np.int64) * 3 + 1
    edges = [*np.sort(rng.uniform(0, 40, rounds - 1)).tolist(), 45.0]
    split, lo = [], 0.0
    for e in edges:
        sel = (t >= lo) & (t < e)
        split.append((t[sel], keys[sel], e))
        lo = e
    u = rng.random(n * max_attempts + 10)
    args = (rate, burst, drop, max_attempts, 0.5, mult, 8.0, jitter, u)
    ref_log, ref_tat, ref_heap = reference(split, *args)
    for fn in (kernel(), retry_kernel._decide):
        log, tat, heap_n = run_kernel(fn, split, *args)
        assert final_outcomes(log) == final_outcomes(ref_log)
        final = sorted(e for e in log if e[1] != RETRYING)
        assert final == sorted(e for e in ref_log if e[1] != RETRYING)
        assert len(final) + heap_n == len({e[0] for e in ref_log})  # each request decided once, or waiting
        assert (tat, heap_n) == (ref_tat, ref_heap)


def test_the_heap_pops_by_time_then_key():
    heap = RetryHeap()
    heap.reserve(50)
    rng = np.random.default_rng(0)
    entries = [(float(rng.integers(0, 5)), int(k), int(k) % 3) for k in rng.permutation(50)]
    for t, k, a in entries:
        heap.n = retry_kernel._push(heap.t, heap.key, heap.attempt, heap.n, t, k, a)
    popped = []
    while heap.n:
        popped.append((float(heap.t[0]), int(heap.key[0]), int(heap.attempt[0])))
        heap.n = retry_kernel._pop(heap.t, heap.key, heap.attempt, heap.n)
    assert popped == sorted(entries)


def test_reserve_keeps_the_entries():
    heap = RetryHeap()
    heap.reserve(3)
    for k in range(3):
        heap.n = retry_kernel._push(heap.t, heap.key, heap.attempt, heap.n, 10.0 - k, k, 1)
    heap.reserve(100)
    assert len(heap.t) >= 103 and sorted(heap.keys().tolist()) == [0, 1, 2] and heap.t[0] == 8.0
