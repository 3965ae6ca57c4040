"""A first-come-first-served service station, computed in batches.

A station has ``servers`` identical servers and one FIFO queue. Jobs arrive with a *ready* time (when
they join the queue, seconds) and a *service* time (seconds). Because the discipline is FIFO and
jobs are handed over in order of their ready times, the start and end of every job follow from the
recursion

    start_i = max(ready_i, earliest time a server is free after jobs 0..i-1 started)
    done_i  = start_i + service_i

which is what a process-per-customer SimPy model computes one event at a time. For one server it is
Lindley's recursion, evaluated here without a Python loop: with ``C_i = sum_{j<=i} s_j``,
``done_i = C_i + max(free_0, max_{k<=i}(ready_k - C_{k-1}))``. For several servers a heap of server
free times is walked in a tight loop. The station keeps its state between calls, so a stream of
batches is served exactly as one long sequence would be.

The station knows nothing of SimPy: actors call it and keep the clock.
"""

from __future__ import annotations

import heapq

import numpy as np


class FifoStation:
    """``servers`` identical FIFO servers; see the module docstring."""

    def __init__(self, servers: int = 1, start_time: float = 0.0) -> None:
        if servers < 1:
            raise ValueError("a station needs at least one server")
        self.servers = int(servers)
        self._free = [float(start_time)] * self.servers  # a heap of server free times
        self.last_ready = -np.inf
        self.busy_s = 0.0  # total service time given (seconds)

    def serve(self, ready: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Serve jobs in order; return their ``(start, done)`` times (seconds).

        ``ready`` must be non-decreasing and not earlier than any job served before (FIFO order).
        """
        ready = np.asarray(ready, dtype=float)
        service = np.asarray(service, dtype=float)
        n = len(ready)
        if n == 0:
            return np.empty(0), np.empty(0)
        if len(service) != n:
            raise ValueError("ready and service must have the same length")
        if ready[0] < self.last_ready or (n > 1 and np.any(np.diff(ready) < 0)):
            raise ValueError("jobs must reach a FIFO station in order of their ready times")
        self.last_ready = float(ready[-1])
        self.busy_s += float(service.sum())
        if self.servers == 1:
            cum = np.cumsum(service)
            offset = np.maximum.accumulate(ready - (cum - service))
            np.maximum(offset, self._free[0], out=offset)
            done = cum + offset
            start = done - service
            self._free[0] = float(done[-1])
            return start, done
        start = np.empty(n)
        free = self._free
        replace = heapq.heapreplace
        ready_l = ready.tolist()
        service_l = service.tolist()
        for i in range(n):
            r = ready_l[i]
            f = free[0]
            s = r if r > f else f
            start[i] = s
            replace(free, s + service_l[i])
        return start, start + service

    def serve_one(self, ready: float, service: float) -> tuple[float, float]:
        """Serve a single job; return ``(start, done)``."""
        if ready < self.last_ready:
            raise ValueError("jobs must reach a FIFO station in order of their ready times")
        self.last_ready = ready
        self.busy_s += service
        f = self._free[0]
        s = ready if ready > f else f
        heapq.heapreplace(self._free, s + service)
        return s, s + service
