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
their exact cut times. The requests themselves (numbering, grouping, HTTP latency, 429s, retries)
are decided by its door, :class:`~sim.actors.data_cloud.admission.Admission`, which reads no clock
and writes no ledger (so it can run aside, :mod:`sim.actors.data_cloud.traffic_aside`); this actor
writes the door's answers into the ledger, validates and batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.actors.data_cloud.admission import CARRY, COUNTS, Admission, Door
from sim.core.batch import Batch
from sim.domain.events import REJECT_REASONS, PayloadRules, validate
from sim.scenario.data_cloud import Ingestion

if TYPE_CHECKING:
    from sim.actors.data_cloud.visitors import ClickSource


class IngestionAPI(Actor):
    """See the module docstring."""

    name = "ingestion"

    def __init__(self, ctx: RunContext, settings: Ingestion, source: ClickSource,
                 submit: Callable[[Batch, float], None] | None, stream: Callable[[Batch], None] | None = None) -> None:
        super().__init__(ctx)
        self.p = settings
        self.submit = submit  # micro-batches: (batch, cut time)
        self.stream = stream  # or each accepted event at once (the real-time data graph)
        self.rules = PayloadRules(self.p.max_payload_bytes, self.p.max_clock_skew)
        self.observers: list[Callable[[np.ndarray, dict], None]] = []  # see every click as it is sent
        # the requests' door: numbering, HTTP latency, 429s and retries (no clock, no ledger); a
        # stand-in with the same admit_until and held may run it aside (traffic_aside)
        self.door: Door = Admission(settings, source, ctx.rng("ingestion.retry"), ctx.rng("ingestion.http"),
                                   self.observers)
        self._counts = self.door.counts_array()  # the door's running counts, as of its last answer
        self._buffer: list[Batch] = []
        self._buffered = 0
        self.accepted_records = 0
        self.rejected = np.zeros(len(REJECT_REASONS), dtype=np.int64)
        self.micro_batches = 0
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

    def _admit_until(self, until: float) -> None:
        """Write what the door answers for the requests reaching the API before ``until``: the
        clicks sent (created at their send time), those dropped as ``rate_limited``, and the
        accepted records (validated, stamped, into micro-batches)."""
        out = self.door.admit_until(until)
        self._counts = out["counts"]
        sent_t = out["sent_t"]
        if len(sent_t):
            ids = self.ledger.create("click", sent_t)
            first = int(self._counts[COUNTS.index("clicks_numbered")]) - len(sent_t)
            if int(ids[0]) != first:
                raise RuntimeError(f"the ledger numbered clicks from {int(ids[0])}, the ingestion's door from "
                                   f"{first}: only the ingestion API may create clicks")
        if len(out["drop_id"]):
            self.ledger.drop("click", out["drop_id"], "rate_limited", out["drop_t"])
        if len(out["id"]):
            self._accept(Batch({c: out[c] for c in ("id", "t", *CARRY)}))

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
    @property
    def source(self) -> ClickSource:
        """Where the clicks come from (the door's source)."""
        return self.door.source

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"click": [b.ids for b in self._buffer] + self.door.held()}

    def counts(self) -> dict:
        rejected = {REJECT_REASONS[i]: int(c) for i, c in enumerate(self.rejected) if i and c}
        door = dict(zip(COUNTS, (int(c) for c in self._counts), strict=True))
        return {
            "requests": door["requests"],
            "http_429": door["http_429"],
            "accepted_requests": door["accepted_requests"],
            "accepted_records": self.accepted_records,
            "largest_request_records": door["largest_request_records"] if self.p.records_per_request > 1
            else int(door["requests"] > 0),
            "rejected_invalid": int(self.rejected[1:].sum()),
            "rejected_by_rule": rejected,
            "dropped_rate_limited": door["dropped_rate_limited"],
            "retries_pending": door["retries_pending"],
            "micro_batches": self.micro_batches,
        }

