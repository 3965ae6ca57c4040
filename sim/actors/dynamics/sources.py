"""Who changes Dataverse records: the exogenous sources of a Dynamics scenario, and customers'
responses to messages.

**Record sources.** Each source creates records of its table as a Poisson process (``per_hour``,
optionally shaped by 24 hourly multipliers), with drawn ``values`` and, in its ``customer``
column, a random existing contact. Each record then takes its ``steps`` in order: a step is taken
with its probability (a record that skips one takes none of the later ones) and changes the
columns in ``set``, ``after`` a delay since the previous change, or, for a step with ``agents``, at
the end of an agent's work: the record waits, first come first served, for one of that many agents
(:class:`~sim.core.station.FifoStation`), who works for ``after``.

Traffic does not react to the system, so it is drawn ahead in chunks (``CHUNK_S`` seconds of
creations); pending steps wait in one heap and are resolved in time order, so agents and
throttled users serve their requests in the order they come. The changes are pushed to the org
with their times.

**Service protection** (``via: sdk``, and every bulk job): each request goes through one of the
source's application users (round robin). Per user, at most ``requests_per_window`` requests in
any sliding ``window`` and ``max_concurrent`` at once (doc: 6,000 per 5 minutes, 52); a request
over a limit gets HTTP 429 with Retry-After and is sent again when the window (or a slot) frees,
which the twin computes directly. A request takes ``request_time``; the change happens when it
completes. Agents in apps and Power Apps inserts are not throttled.

**Backlog and bulk jobs.** ``backlog`` records exist at t = 0 (created silently, no trigger); a
``bulk`` job updates all of them from ``at``, each user sending ``requests_per_s``.

**Responses.** When a message of a response's tile reaches an inbox, the customer creates a record
(e.g. an order) with probability ``prob``, ``after`` a delay: that is how journey goals are reached.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.dynamics.org import CREATE, UPDATE, DataverseOrg
from sim.actors.dynamics.values import compile_batch, compile_values
from sim.core.dists import lognormal
from sim.core.station import FifoStation
from sim.domain.dynamics import Ref, Send
from sim.scenario.dynamics import Response, ServiceProtection, Source

CHUNK_S = 600.0


class Throttle:
    """Dataverse service protection for one user: the sliding-window count and the concurrency limit
    (see the module docstring). Requests must come in time order."""

    def __init__(self, limits: ServiceProtection, rng: np.random.Generator) -> None:
        self.p = limits
        self.rng = rng
        self.window: deque[float] = deque(maxlen=limits.requests_per_window)
        self.slots = FifoStation(limits.max_concurrent)
        self.requests = self.throttled_window = self.throttled_concurrency = 0
        self.wait_s = 0.0

    def request_many(self, times: np.ndarray) -> np.ndarray:
        """:meth:`request` for each of the sorted ``times``."""
        p = self.p
        service = np.atleast_1d(lognormal(self.rng, p.request_time.median, p.request_time.sigma, size=len(times)))
        window, limit, span, serve = self.window, p.requests_per_window, p.window, self.slots.serve_one
        done = np.empty(len(times))
        for i, (t, d) in enumerate(zip(times.tolist(), service.tolist())):
            s = t
            if len(window) == limit and window[0] + span > t:
                s = window[0] + span
                self.throttled_window += 1
            window.append(s)
            start, done[i] = serve(s, d)
            if start > s:
                self.throttled_concurrency += 1
            self.wait_s += start - t
        self.requests += len(times)
        return done

    def request(self, t: float) -> float:
        """The time the request sent at ``t`` completes (after any 429s and retries)."""
        p = self.p
        self.requests += 1
        s = t
        if len(self.window) == p.requests_per_window and self.window[0] + p.window > t:
            s = self.window[0] + p.window  # Retry-After: when the oldest request leaves the window
            self.throttled_window += 1
        self.window.append(s)
        service = float(lognormal(self.rng, p.request_time.median, p.request_time.sigma))
        start, done = self.slots.serve_one(s, service)
        if start > s:
            self.throttled_concurrency += 1
        self.wait_s += start - t
        return done


class _SourceState:
    def __init__(self, spec: Source, index: int, org: DataverseOrg, ctx: RunContext,
                 limits: ServiceProtection) -> None:
        table = org.store.table(spec.table)
        self.spec = spec
        self.table = table
        self.values = compile_values(table, spec.values)
        self.steps = [compile_values(table, step.set) for step in spec.steps]
        self.stations = [FifoStation(step.agents) if step.agents else None for step in spec.steps]
        self.rng = ctx.rng(f"sources.{spec.name}")
        self.rng_steps = ctx.rng(f"sources.{spec.name}.steps")
        rng_sdk = ctx.rng(f"sources.{spec.name}.sdk")
        self.users = [Throttle(limits, rng_sdk) for _ in range(spec.users)] if spec.via == "sdk" else []
        self.bulk_users = [Throttle(limits, rng_sdk) for _ in range(spec.bulk.users)] if spec.bulk else []
        self.next_user = 0
        self.created = 0
        self.step_counts = [0] * len(spec.steps)
        self.agent_wait_s = [0.0] * len(spec.steps)
        self.backlog_ids: list[str] = []

    def user(self) -> Throttle | None:
        if not self.users:
            return None
        u = self.users[self.next_user % len(self.users)]
        self.next_user += 1
        return u


class RecordSources(Actor):
    """All the record sources of a scenario; see the module docstring."""

    name = "sources"

    def __init__(self, ctx: RunContext, sources: list[Source], limits: ServiceProtection, org: DataverseOrg,
                 contacts: list[str]) -> None:
        super().__init__(ctx)
        self.org = org
        self.contacts = contacts
        self.start_epoch = ctx.start_epoch_s
        self.sources = [_SourceState(s, i, org, ctx, limits) for i, s in enumerate(sources)]
        self._jobs: list[tuple[float, int, int, str, int]] = []  # (ready, seq, source, record id, step)
        self._seq = 0
        for src in self.sources:
            self._create_backlog(src)
        for src in self.sources:
            if src.spec.bulk is not None:
                self._bulk(src)
        self.generated_until = 0.0
        if any(s.spec.per_hour > 0 for s in self.sources):
            self.env.process(self._run())

    # -- records ---------------------------------------------------------------------------------
    def _customer(self, src: _SourceState, rng: np.random.Generator) -> dict:
        column = src.spec.customer
        if column is None:
            return {}
        return {column: Ref("contact", self.contacts[int(rng.integers(len(self.contacts)))])}

    def _create_backlog(self, src: _SourceState) -> None:
        n = src.spec.backlog
        if not n:
            return
        rows = compile_batch(src.table, src.spec.values)(src.rng, n)
        column = src.spec.customer
        if column is not None:
            for row, who in zip(rows, src.rng.integers(len(self.contacts), size=n).tolist()):
                row[column] = Ref("contact", self.contacts[who])
        src.backlog_ids = [f"{src.spec.name}-b{k:07d}" for k in range(n)]
        self.org.create_silently(src.spec.table, list(zip(src.backlog_ids, rows)))

    def _bulk(self, src: _SourceState) -> None:
        bulk = src.spec.bulk
        assert bulk is not None  # scheduled only for a source with a bulk job
        values = compile_batch(src.table, bulk.set)(src.rng_steps, len(src.backlog_ids))
        user = f"sdk:{src.spec.name}"
        n_users = len(src.bulk_users)
        ids = np.array(src.backlog_ids, dtype=object)
        for u, throttle in enumerate(src.bulk_users):
            mine = np.arange(u, len(ids), n_users)
            done = throttle.request_many(bulk.at + np.arange(len(mine)) / bulk.requests_per_s)
            for k, t in zip(mine.tolist(), done.tolist()):
                self.org.push(t, (UPDATE, src.spec.table, ids[k], values[k], user, src.spec.name))

    # -- arrivals --------------------------------------------------------------------------------
    def _rate(self, spec: Source, t: float) -> float:
        per_s = spec.per_hour / 3600.0
        if spec.daily_profile is None:
            return per_s
        hour = int(((self.start_epoch + t) // 3600) % 24)
        return per_s * spec.daily_profile[hour]

    def _arrivals(self, src: _SourceState, a: float, b: float) -> np.ndarray:
        out = []
        t = a
        while t < b:
            wall = self.start_epoch + t
            seg_end = min(b, (math.floor(wall / 3600) + 1) * 3600 - self.start_epoch)
            rate = self._rate(src.spec, t)
            n = src.rng.poisson(rate * (seg_end - t)) if rate > 0 else 0
            if n:
                out.append(np.sort(src.rng.uniform(t, seg_end, size=n)))
            t = seg_end
        return np.concatenate(out) if out else np.empty(0)

    def _run(self):
        env = self.env
        while env.now < self.ctx.horizon:
            a, b = env.now, env.now + CHUNK_S
            for i, src in enumerate(self.sources):
                if src.spec.per_hour <= 0:
                    continue
                for t in self._arrivals(src, a, b).tolist():
                    src.created += 1
                    rid = f"{src.spec.name}-{src.created:07d}"
                    self._seq += 1
                    heapq.heappush(self._jobs, (t, self._seq, i, rid, -1))
            self._resolve(b)
            self.generated_until = b
            yield env.timeout(b - env.now)

    def _resolve(self, until: float) -> None:
        """Resolve every job ready before ``until``, in time order."""
        jobs = self._jobs
        while jobs and jobs[0][0] < until:
            ready, _, i, rid, k = heapq.heappop(jobs)
            src = self.sources[i]
            spec = src.spec
            user = f"{spec.via}:{spec.name}"
            if k < 0:
                values = {**src.values(src.rng), **self._customer(src, src.rng)}
                throttle = src.user()
                done = throttle.request(ready) if throttle is not None else ready
                self.org.push(done, (CREATE, spec.table, values, rid, user, spec.name))
            else:
                station = src.stations[k]
                step = spec.steps[k]
                if station is not None:
                    work = float(lognormal(src.rng_steps, step.after.median, step.after.sigma))
                    start, done = station.serve_one(ready, work)
                    src.agent_wait_s[k] += start - ready
                    user = f"agent:{spec.name}"
                else:
                    throttle = src.user()
                    done = throttle.request(ready) if throttle is not None else ready
                src.step_counts[k] += 1
                self.org.push(done, (UPDATE, spec.table, rid, src.steps[k](src.rng_steps), user, spec.name))
            self._next_step(i, rid, k + 1, done)

    def _next_step(self, i: int, rid: str, k: int, prev: float) -> None:
        src = self.sources[i]
        if k >= len(src.spec.steps):
            return
        step = src.spec.steps[k]
        if step.prob < 1.0 and src.rng_steps.random() >= step.prob:
            return
        ready = prev
        if step.agents is None:
            ready = prev + float(lognormal(src.rng_steps, step.after.median, step.after.sigma))
        self._seq += 1
        heapq.heappush(self._jobs, (ready, self._seq, i, rid, k))

    def counts(self) -> dict:
        out = {}
        for src in self.sources:
            c = {"created": src.created, "backlog": len(src.backlog_ids), "steps": list(src.step_counts)}
            if any(st is not None for st in src.stations):
                c["agent_mean_wait_s"] = [w / n if n else 0.0 for w, n in zip(src.agent_wait_s, src.step_counts)]
            users = src.users + src.bulk_users
            if users:
                c["sdk_requests"] = sum(u.requests for u in users)
                c["http_429_window"] = sum(u.throttled_window for u in users)
                c["http_429_concurrency"] = sum(u.throttled_concurrency for u in users)
                c["throttle_wait_s"] = sum(u.wait_s for u in users)
            out[src.spec.name] = c
        return out


class Responses(Actor):
    """Customers answering messages by creating records (see the module docstring)."""

    name = "responses"

    def __init__(self, ctx: RunContext, responses: list[Response], org: DataverseOrg) -> None:
        super().__init__(ctx)
        self.org = org
        self.rng = ctx.rng("responses")
        self.by_tile: dict[str, list[tuple[Response, Callable[[np.random.Generator], dict[str, Any]]]]] = {}
        for r in responses:
            self.by_tile.setdefault(r.tile, []).append((r, compile_values(org.store.table(r.table), r.values)))
        self.created: dict[str, int] = {}

    def on_inbox(self, mid: int, msg: Send, inbox_t: float) -> None:
        for r, sample in self.by_tile.get(msg.tile, ()):
            if r.journey is not None and r.journey != msg.journey:
                continue
            if self.rng.random() >= r.prob:
                continue
            at = inbox_t + float(lognormal(self.rng, r.after.median, r.after.sigma))
            values = {**sample(self.rng), r.customer: Ref(msg.customer.type, msg.customer.id)}
            key = f"{msg.journey}/{msg.tile}"
            self.created[key] = self.created.get(key, 0) + 1
            self.org.push(at, (CREATE, r.table, values, None, f"customer:{msg.customer.id}", f"response:{key}"))

    def counts(self) -> dict:
        return {"records_scheduled": dict(sorted(self.created.items()))}
