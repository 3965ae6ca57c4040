"""The streaming Ingestion API: rate limit, payload validation, micro-batching.

By default each click is one HTTP request, sent at its click time. With ``records_per_request``
above 1 the client (a server integration collecting every visitor's clicks) puts several records in
one request: a request is sent when it holds ``records_per_request`` records, when the next record
would take it over ``max_payload_bytes`` (sent as that record comes), or ``request_linger`` after
its first record. A request reaches the API ``http_latency`` after it is sent (requests therefore
arrive out of send order; one still on the way at a flush waits for the next micro-batch). The
API's token bucket (:class:`~sim.core.token_bucket.TokenBucket`) answers HTTP 429 when over
``rate_limit_per_s``; the client then retries with exponential back-off and jitter (``on_429:
retry``, up to ``retry.max_attempts`` attempts, then the request's clicks are dropped as
``rate_limited``) or drops at once (``on_429: drop``): a request is admitted, retried or dropped
with all its records. Each record of an accepted request is checked against the schema
(:func:`sim.domain.events.validate`); a malformed event is rejected alone (``invalid_payload``,
counted per broken rule; assumed). Valid events wait in the current micro-batch, which is cut every
``flush_interval`` (epoch-aligned) or as soon as it holds ``flush_max_events`` events, and handed
to the lakehouse. With the real-time data graph (``realtime.enabled``), valid events go to it at
their acceptance time instead (``stream``), and no micro-batch is cut.

The actor wakes once per flush interval. Traffic is exogenous, so at each wake-up it decides every
request up to the next flush exactly, by its own time, and hands over count-cut micro-batches with
their exact cut times.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.batch import Batch
from sim.core.dists import lognormal
from sim.core.token_bucket import TokenBucket
from sim.domain.events import CLICK_FIELDS, REJECT_REASONS, PayloadRules, validate
from sim.scenario.data_cloud import Ingestion

if TYPE_CHECKING:
    from sim.actors.data_cloud.visitors import ClickSource

_CARRY = tuple(CLICK_FIELDS)


class IngestionAPI(Actor):
    """See the module docstring."""

    name = "ingestion"

    def __init__(self, ctx: RunContext, settings: Ingestion, source: ClickSource,
                 submit: Callable[[Batch, float], None] | None, stream: Callable[[Batch], None] | None = None) -> None:
        super().__init__(ctx)
        self.p = settings
        self.source = source
        self.submit = submit  # micro-batches: (batch, cut time)
        self.stream = stream  # or each accepted event at once (the real-time data graph)
        self.bucket = TokenBucket(self.p.rate_limit_per_s, self.p.burst)
        self.rules = PayloadRules(self.p.max_payload_bytes, self.p.max_clock_skew)
        self.rng = ctx.rng("ingestion.retry")
        self.rng_http = ctx.rng("ingestion.http")
        self._transit: dict[str, np.ndarray] = {"id": np.empty(0, dtype=np.int64)}  # sent, not arrived yet
        self._open: dict[str, np.ndarray] = {"id": np.empty(0, dtype=np.int64)}  # in a request not sent yet
        self._retries: list[tuple[float, int, int]] = []  # (time, request key, attempt) heap
        self._parked: dict[int, list[tuple[int, tuple]]] = {}  # key -> (id, carried columns) of its records
        self._drops: tuple[list[int], list[float]] = ([], [])  # rate-limited, written once per wake-up
        self._buffer: list[Batch] = []
        self._buffered = 0
        self.requests = 0
        self.http_429 = 0
        self.accepted = 0  # requests
        self.accepted_records = 0
        self.largest_request = 0  # records
        self.rejected = np.zeros(len(REJECT_REASONS), dtype=np.int64)
        self.dropped_rate_limited = 0
        self.micro_batches = 0
        self.observers: list[Callable[[np.ndarray, dict], None]] = []  # see every click as it is sent
        self.proc = ctx.env.process(self._run())

    # -- the actor's loop ------------------------------------------------------------------
    def _run(self):
        env, horizon, T = self.env, self.ctx.horizon, self.p.flush_interval
        k = 1
        while True:
            flush_at = k * T
            until = min(flush_at, horizon)
            self._admit_until(until)
            yield env.timeout(until - env.now)
            if flush_at > horizon:
                return
            self._flush(flush_at)
            k += 1

    def _arrivals(self, until: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The clicks whose requests reach the API before ``until``: the ones sent now (created in
        the ledger at their send time) plus those still in transit, each arriving ``http_latency``
        after its send; in arrival order. Later arrivals stay in transit for the next round."""
        cols = self.source.take_until(until)
        n = len(cols["t"])
        ids = self.ledger.create("click", cols["t"]) if n else np.empty(0, dtype=np.int64)
        for observe in self.observers:
            observe(ids, cols)
        cols = {c: (cols[c] if c in cols else ids.copy()) for c in ("t", *_CARRY)}  # event_id: own id by default
        cols["id"] = ids
        if self.p.records_per_request > 1:
            cols = self._into_requests(cols, until)  # t: the request's send time; req: its key
        else:
            cols["req"] = ids
        n = len(cols["id"])
        lat = self.p.http_latency
        if lat.median > 0 and n:
            if self.p.records_per_request > 1:
                starts, counts = _runs(cols["req"])
                delay = lognormal(self.rng_http, lat.median, lat.sigma, size=len(starts))
                cols["t"] = cols["t"] + np.repeat(delay, counts)
            else:
                cols["t"] = cols["t"] + lognormal(self.rng_http, lat.median, lat.sigma, size=n)
        if len(self._transit["id"]):
            cols = {c: np.concatenate([self._transit[c], cols[c]]) for c in cols}
        if lat.median > 0:
            order = np.argsort(cols["t"], kind="stable")
            cols = {c: v[order] for c, v in cols.items()}
        k = int(np.searchsorted(cols["t"], until, side="left"))
        self._transit = {c: v[k:] for c, v in cols.items()}
        cols = {c: v[:k] for c, v in cols.items()}
        return cols.pop("id"), cols

    def _into_requests(self, cols: dict[str, np.ndarray], until: float) -> dict[str, np.ndarray]:
        """Group the clicks sent before ``until`` (and those of the request left open last time)
        into requests; returns the records of the requests sent before ``until``, with ``t`` their
        request's send time and ``req`` its key (the first record's id). A request whose linger
        ends at or after ``until`` with room left stays open."""
        if len(self._open["id"]):
            cols = {c: np.concatenate([self._open[c], v]) for c, v in cols.items()}
        t, n = cols["t"], len(cols["t"])
        k, linger, limit = self.p.records_per_request, self.p.request_linger, self.p.max_payload_bytes
        bytes_before = np.concatenate([[0], np.cumsum(cols["size_bytes"])])  # bytes of records [0, i)
        send = np.empty(n)
        req = np.empty(n, dtype=np.int64)
        i = 0
        while i < n:
            t0 = float(t[i])
            j = min(i + k, int(np.searchsorted(t, t0 + linger, side="right")))  # by count and linger
            fit = int(np.searchsorted(bytes_before, bytes_before[i] + limit, side="right")) - 1  # by bytes
            if fit < j:  # record ``fit`` would take the request over the limit: sent as it comes
                j = max(fit, i + 1)
                at = float(t[j]) if fit > i else t0  # a record alone over the limit goes at once
            elif j - i == k:
                at = float(t[j - 1])
            elif t0 + linger < until:
                at = t0 + linger
            else:
                break  # open: later clicks may still join it
            send[i:j] = at
            req[i:j] = cols["id"][i]
            self.largest_request = max(self.largest_request, j - i)
            i = j
        self._open = {c: v[i:] for c, v in cols.items()}
        out = {c: v[:i] for c, v in cols.items()}
        out["t"], out["req"] = send[:i], req[:i]
        return out

    def _admit_until(self, until: float) -> None:
        ids, cols = self._arrivals(until)
        req = cols.pop("req")
        n = len(ids)
        starts = _runs(req)[0] if self.p.records_per_request > 1 else np.arange(n)
        self.requests += len(starts)
        t = cols["t"]
        m = 0 if self._retries else self.bucket.admit_prefix(t[starts])  # requests
        self.accepted += m
        late_rows: list[tuple] = []  # accepted retries and slow-path clicks: (t, id, columns)
        if m < len(starts) or self._retries:
            self._slow_path(ids, cols, starts, m, until, late_rows)
            dropped, when = self._drops
            if dropped:
                self.ledger.drop("click", np.array(dropped, dtype=np.int64), "rate_limited", np.array(when))
                self._drops = ([], [])
        m = int(starts[m]) if m < len(starts) else n  # records of the conforming requests
        # the conforming prefix, then the slow path's acceptances, in acceptance order
        batch = Batch({"id": ids[:m], "t": t[:m], **{c: cols[c][:m] for c in _CARRY}})
        if late_rows:
            late_rows.sort(key=lambda r: (r[0], r[1]))
            extra = Batch({
                "id": np.array([r[1] for r in late_rows], dtype=np.int64),
                "t": np.array([r[0] for r in late_rows], dtype=float),
                **{c: np.array([r[2][j] for r in late_rows], dtype=CLICK_FIELDS[c]) for j, c in enumerate(_CARRY)},
            })
            batch = Batch.concat([batch, extra])
        if len(batch):
            self._accept(batch)

    def _slow_path(self, ids, cols, starts, m, until, accepted_rows) -> None:
        """Request by request from request ``m`` (records from ``starts[m]``), interleaving due
        retries in time order."""
        heap, parked = self._retries, self._parked
        t = cols["t"]
        carry = [cols[c] for c in _CARRY]
        nreq, n = len(starts), len(t)
        i = m
        while True:
            next_request = t[starts[i]] if i < nreq else np.inf
            if heap and heap[0][0] <= next_request and heap[0][0] < until:
                tr, key, attempt = heapq.heappop(heap)
                self.requests += 1
                self._decide(tr, key, attempt, parked.pop(key), accepted_rows)
                continue
            if i >= nreq:
                break
            a = int(starts[i])
            b = int(starts[i + 1]) if i + 1 < nreq else n
            rows = [(int(ids[x]), tuple(col[x] for col in carry)) for x in range(a, b)]
            self._decide(float(t[a]), rows[0][0], 1, rows, accepted_rows)
            i += 1

    def _decide(self, t: float, key: int, attempt: int, rows: list[tuple[int, tuple]], accepted_rows: list) -> None:
        """Admit, retry or drop the request ``key`` at time ``t`` with its records ``rows``."""
        wait = self.bucket.admit(t)
        if wait == 0.0:
            self.accepted += 1
            accepted_rows.extend((t, mid, row) for mid, row in rows)
            return
        self.http_429 += 1
        r = self.p.retry
        if self.p.on_429 == "drop" or attempt >= r.max_attempts:
            for mid, _ in rows:
                self._drops[0].append(mid)
                self._drops[1].append(t)
            self.dropped_rate_limited += len(rows)
            return
        backoff = min(r.max_backoff, r.initial_backoff * r.multiplier ** (attempt - 1))
        backoff *= 1.0 - r.jitter * self.rng.random()
        heapq.heappush(self._retries, (t + max(backoff, wait), key, attempt + 1))
        self._parked[key] = rows

    def _accept(self, batch: Batch) -> None:
        """Validate accepted requests, stamp the valid ones, cut count-full micro-batches."""
        code = validate(batch.cols, batch.t, self.rules)
        bad = code != 0
        self.accepted_records += len(batch)
        if bad.any():
            self.rejected += np.bincount(code, minlength=len(REJECT_REASONS))
            self.ledger.drop("click", batch.ids[bad], "invalid_payload", batch.t[bad])
            batch = batch.take(~bad)
        if not len(batch):
            return
        self.ledger.stamp("click", "ingest", batch.ids, batch.t)
        if self.stream is not None:
            self.stream(batch)
            return
        self._buffer.append(batch)
        self._buffered += len(batch)
        N = self.p.flush_max_events
        while self._buffered >= N:
            whole = Batch.concat(self._buffer)
            cut = whole.take(slice(0, N))
            rest = whole.take(slice(N, None))
            self._buffer = [rest] if len(rest) else []
            self._buffered = len(rest)
            self._hand_over(cut, float(cut.t[-1]))

    def _flush(self, t: float) -> None:
        if self._buffered:
            whole = Batch.concat(self._buffer)
            self._buffer, self._buffered = [], 0
            self._hand_over(whole, t)

    def _hand_over(self, batch: Batch, ready: float) -> None:
        self.micro_batches += 1
        assert self.submit is not None  # micro-batches are cut only without a stream
        self.submit(batch, ready)

    # -- accounting ------------------------------------------------------------------------
    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        parts = [b.ids for b in self._buffer] + [self._transit["id"], self._open["id"]]
        parts.append(np.array([mid for rows in self._parked.values() for mid, _ in rows], dtype=np.int64))
        return {"click": parts}

    def counts(self) -> dict:
        rejected = {REJECT_REASONS[i]: int(c) for i, c in enumerate(self.rejected) if i and c}
        return {
            "requests": self.requests,
            "http_429": self.http_429,
            "accepted_requests": self.accepted,
            "accepted_records": self.accepted_records,
            "largest_request_records": self.largest_request if self.p.records_per_request > 1
            else int(self.requests > 0),
            "rejected_invalid": int(self.rejected[1:].sum()),
            "rejected_by_rule": rejected,
            "dropped_rate_limited": self.dropped_rate_limited,
            "retries_pending": len(self._retries),
            "micro_batches": self.micro_batches,
        }


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal consecutive values of ``key``."""
    if not len(key):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    return starts, np.diff(np.append(starts, len(key)))
