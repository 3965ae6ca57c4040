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

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.batch import Batch
from sim.core.dists import lognormal
from sim.core.retry_kernel import ACCEPTED, DROPPED, RETRYING, RetryHeap, kernel
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
        self._heap = RetryHeap()  # requests waiting to retry: (time, request key, attempt)
        self._park: dict[str, np.ndarray] = {  # their records: id, request key, carried columns
            "id": np.empty(0, dtype=np.int64), "req": np.empty(0, dtype=np.int64),
            **{c: np.empty(0, dtype=d) for c, d in CLICK_FIELDS.items()}}
        self._u = np.empty(0)  # retry jitter uniforms drawn ahead, used from _u_pos
        self._u_pos = 0
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
        m = 0 if len(self._heap) else self.bucket.admit_prefix(t[starts])  # requests
        self.accepted += m
        late: Batch | None = None  # accepted by the slow path (new requests and retries), by time
        if m < len(starts) or len(self._heap):
            late = self._slow_path(ids, cols, req, starts, m, until)
        m = int(starts[m]) if m < len(starts) else n  # records of the conforming requests
        # the conforming prefix, then the slow path's acceptances, in acceptance order
        batch = Batch({"id": ids[:m], "t": t[:m], **{c: cols[c][:m] for c in _CARRY}})
        if late is not None and len(late):
            batch = Batch.concat([batch, late])
        if len(batch):
            self._accept(batch)

    def _slow_path(self, ids, cols, req, starts, m, until) -> Batch:
        """Request by request from request ``m`` (records from ``starts[m]``), interleaving due
        retries in time order (:func:`sim.core.retry_kernel.kernel`). Drops the refused records,
        parks those waiting to retry, and returns the accepted ones sorted by (time, id)."""
        n, heap, r = len(ids), self._heap, self.p.retry
        first = int(starts[m]) if m < len(starts) else n
        new_t = cols["t"][starts[m:]]
        new_key = ids[starts[m:]]
        heap.reserve(len(new_t))
        drop = self.p.on_429 == "drop"
        most = (heap.n + len(new_t)) * max(r.max_attempts, 1) + 1  # decisions at most in this round
        u = self._uniforms(0 if drop else most)
        out_new = np.empty(len(new_t), dtype=np.int8)
        out_new_t = np.empty(len(new_t))
        r_key = np.empty(most, dtype=np.int64)
        r_out = np.empty(most, dtype=np.int8)
        r_t = np.empty(most)
        b = self.bucket
        hn, b.tat, self._u_pos, nr, npop, n429 = kernel()(
            new_t, new_key, heap.t, heap.key, heap.attempt, heap.n, until, b.tat, b.interval, b.tau, drop,
            r.max_attempts, r.initial_backoff, r.multiplier, r.max_backoff, r.jitter, u, self._u_pos,
            out_new, out_new_t, r_key, r_out, r_t)
        heap.n = hn
        self.requests += npop
        self.http_429 += n429
        self.accepted += int((out_new == ACCEPTED).sum()) + int((r_out[:nr] == ACCEPTED).sum())
        # the new requests' records: accepted, dropped, or parked to retry
        counts = np.diff(np.append(starts[m:], n))
        outcome = np.repeat(out_new, counts)
        decided = np.repeat(out_new_t, counts)
        rec = {"id": ids[first:], "req": req[first:], **{c: cols[c][first:] for c in _CARRY}}
        parts = [{**{c: v[outcome == ACCEPTED] for c, v in rec.items()}, "t": decided[outcome == ACCEPTED]}]
        dropped = [(rec["id"][outcome == DROPPED], decided[outcome == DROPPED])]
        parked = outcome == RETRYING
        if parked.any():  # (first: a request parked in this round may also be decided in it)
            self._park = {c: np.concatenate([self._park[c], rec[c][parked]]) for c in self._park}
        # the retries decided: their parked records leave the park
        if nr:
            park = self._park
            order = np.argsort(r_key[:nr])
            keys, outs, when = r_key[:nr][order], r_out[:nr][order], r_t[:nr][order]
            pos = np.searchsorted(keys, park["req"])
            pos = np.minimum(pos, len(keys) - 1)
            hit = keys[pos] == park["req"]
            out_rec, t_rec = outs[pos], when[pos]
            ok, gone = hit & (out_rec == ACCEPTED), hit & (out_rec == DROPPED)
            parts.append({**{c: v[ok] for c, v in park.items()}, "t": t_rec[ok]})
            dropped.append((park["id"][gone], t_rec[gone]))
            self._park = {c: v[~hit] for c, v in park.items()}
        gone_ids = np.concatenate([d[0] for d in dropped])
        if len(gone_ids):
            self.dropped_rate_limited += len(gone_ids)
            self.ledger.drop("click", gone_ids, "rate_limited", np.concatenate([d[1] for d in dropped]))
        late = {c: np.concatenate([p[c] for p in parts]) for c in ("t", "id", *_CARRY)}
        order = np.lexsort((late["id"], late["t"]))
        return Batch({c: v[order] for c, v in late.items()})

    def _uniforms(self, k: int) -> np.ndarray:
        """At least ``k`` uniforms from the retry stream past the ones used, drawn ahead and kept, so
        that the i-th retry of the run always gets the stream's i-th draw."""
        left = len(self._u) - self._u_pos
        if left < k:
            self._u = np.concatenate([self._u[self._u_pos:], self.rng.random(max(k - left, 4096))])
            self._u_pos = 0
        return self._u

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
        parts.append(self._park["id"])
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
            "retries_pending": len(self._heap),
            "micro_batches": self.micro_batches,
        }


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal consecutive values of ``key``."""
    if not len(key):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    return starts, np.diff(np.append(starts, len(key)))
