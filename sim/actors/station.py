"""Generic queueing actors: a Poisson source and a FIFO station, for networks of stations.

These are the kernel the pipeline's stages are made of, wired here on their own so that
``sim validate`` can compare them with queueing theory. The source draws arrivals in chunks and
hands each chunk over at the time of its first arrival; a :class:`StationActor` serves every job the
moment it learns of it (:class:`~sim.core.station.FifoStation` computes exact start and end times)
and passes jobs on in order of departure. With several servers, departures leave out of order, so
a job is passed on only once no later arrival can depart before it: any job still to come is ready
no earlier than the latest ready time seen (``safe``), so every job done by then is final.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.batch import Batch
from sim.core.station import FifoStation

Sampler = Callable[[np.random.Generator, int], np.ndarray]


def exponential(rate: float) -> Sampler:
    return lambda rng, n: rng.exponential(1.0 / rate, size=n)


def deterministic(rate: float) -> Sampler:
    return lambda rng, n: np.full(n, 1.0 / rate)


class PoissonSource(Actor):
    """``customers`` arrivals of a Poisson process (rate ``lam`` per second), as ``kind`` messages."""

    name = "source"

    def __init__(self, ctx: RunContext, kind: str, lam: float, customers: int,
                 forward: Callable[[Batch], None], chunk: int = 4096) -> None:
        super().__init__(ctx)
        self.kind, self.lam, self.remaining, self.forward, self.chunk = kind, lam, customers, forward, chunk
        self.rng = ctx.rng(f"{kind}.arrivals")
        self.t = 0.0
        self.on_exhausted: list[Callable[[], None]] = []
        ctx.env.process(self._run())

    def _run(self):
        while self.remaining > 0:
            n = min(self.chunk, self.remaining)
            t = self.t + np.cumsum(self.rng.exponential(1.0 / self.lam, size=n))
            self.t = float(t[-1])
            self.remaining -= n
            yield self.env.timeout(t[0] - self.env.now)
            ids = self.ledger.create(self.kind, t)
            self.forward(Batch({"id": ids, "t": t}))
        for callback in self.on_exhausted:
            callback()


class StationActor(Actor):
    """A FIFO station of ``servers`` servers with service times drawn by ``service``."""

    def __init__(self, ctx: RunContext, name: str, kind: str, servers: int, service: Sampler,
                 forward: Callable[[Batch], None] | None) -> None:
        super().__init__(ctx)
        self.name, self.kind, self.forward = name, kind, forward
        self.station = FifoStation(servers)
        self.service = service
        self.rng = ctx.rng(f"{name}.service")
        self._out: list[tuple[float, int]] = []  # (done, id) not yet passed on

    def receive(self, batch: Batch) -> None:
        s = self.service(self.rng, len(batch))
        start, done = self.station.serve(batch.t, s)
        self.ledger.stamp(self.kind, f"{self.name}.start", batch.ids, start)
        self.ledger.stamp(self.kind, f"{self.name}.done", batch.ids, done)
        if self.forward is None:
            self.ledger.deliver(self.kind, batch.ids, done)
            return
        if self.station.servers == 1:
            self.forward(Batch({"id": batch.ids, "t": done}))
            return
        for d, i in zip(done.tolist(), batch.ids.tolist()):
            heapq.heappush(self._out, (d, i))
        self._release(self.station.last_ready)

    def _release(self, safe: float) -> None:
        out = []
        while self._out and self._out[0][0] <= safe:
            out.append(heapq.heappop(self._out))
        if out:
            assert self.forward is not None  # a station without one delivers in receive()
            self.forward(Batch({"id": np.array([i for _, i in out], dtype=np.int64),
                                "t": np.array([d for d, _ in out])}))

    def end_of_stream(self) -> None:
        """No more arrivals: everything still here departs in order."""
        self._release(np.inf)
