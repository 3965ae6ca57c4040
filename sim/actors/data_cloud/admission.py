"""The Ingestion API's door, without the clock or the ledger: clicks → requests → HTTP 429 or in.

:class:`Admission` takes the clicks its source hands over and numbers them as the ledger will (ids
from 0 in send order: the ingestion API creates every click). With ``records_per_request`` above 1
it groups them into requests as the client does (count, bytes, linger); it delays each request by
``http_latency`` and decides every request and every due retry up to a time with the token bucket
and the retry kernel (:func:`sim.core.retry_kernel.kernel`), as the module docstring of
:mod:`sim.actors.data_cloud.ingestion` describes. Its answer to a hand-over (:meth:`Admission.admit_until`)
is plain columns: the send times of the clicks sent (for the ledger), the records of the requests
accepted (in acceptance order), the clicks dropped as ``rate_limited`` and its running counts.

Nothing here reads the simulation clock or writes the ledger; the traffic does not react to the
system, so every decision depends only on the clicks and on this object's random streams. That is
what lets :mod:`sim.actors.data_cloud.traffic_aside` run it, with the visitors, in a forked process
while the run simulates; :class:`~sim.actors.data_cloud.ingestion.IngestionAPI` writes the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sim.core.dists import lognormal
from sim.core.retry_kernel import ACCEPTED, DROPPED, RETRYING, RetryHeap, kernel
from sim.core.token_bucket import TokenBucket
from sim.domain.events import CLICK_FIELDS
from sim.scenario.data_cloud import Ingestion

if TYPE_CHECKING:
    from sim.actors.data_cloud.visitors import ClickSource

CARRY = tuple(CLICK_FIELDS)
# the running counts in an answer's "counts" column, in this order
COUNTS = ("requests", "http_429", "accepted_requests", "largest_request_records", "dropped_rate_limited",
          "retries_pending", "clicks_numbered")
ANSWER = ("sent_t", "id", "t", *CARRY, "drop_id", "drop_t", "counts")  # the columns of an answer


class Door(Protocol):
    """What the ingestion API asks of its door: an :class:`Admission`, or a stand-in that runs one
    elsewhere (:class:`~sim.actors.data_cloud.traffic_aside.TrafficAside`)."""

    source: Any
    observers: list

    def admit_until(self, until: float) -> dict[str, np.ndarray]: ...

    def counts_array(self) -> np.ndarray: ...

    def held(self) -> list[np.ndarray]: ...


class Admission:
    """See the module docstring. ``source``: the clicks (``take_until``); ``rng_retry``: the
    retries' jitter; ``rng_http``: the requests' HTTP latency; ``observers``: called with
    ``(ids, columns)`` of the clicks as they are sent, in id order (the ground-truth tap)."""

    def __init__(self, settings: Ingestion, source: ClickSource, rng_retry: np.random.Generator,
                 rng_http: np.random.Generator,
                 observers: list[Callable[[np.ndarray, dict], None]] | None = None) -> None:
        self.p = settings
        self.source = source
        self.observers = [] if observers is None else observers
        self.bucket = TokenBucket(self.p.rate_limit_per_s, self.p.burst)
        self.rng = rng_retry
        self.rng_http = rng_http
        self.numbered = 0  # clicks sent so far: the next one's id
        self._transit: dict[str, np.ndarray] = {"id": np.empty(0, dtype=np.int64)}  # sent, not arrived yet
        self._open: dict[str, np.ndarray] = {"id": np.empty(0, dtype=np.int64)}  # in a request not sent yet
        self._heap = RetryHeap()  # requests waiting to retry: (time, request key, attempt)
        self._park: dict[str, np.ndarray] = {  # their records: id, request key, carried columns
            "id": np.empty(0, dtype=np.int64), "req": np.empty(0, dtype=np.int64),
            **{c: np.empty(0, dtype=d) for c, d in CLICK_FIELDS.items()}}
        self._u = np.empty(0)  # retry jitter uniforms drawn ahead, used from _u_pos
        self._u_pos = 0
        self._drops: list[tuple[np.ndarray, np.ndarray]] = []  # (ids, times) of this hand-over
        self.requests = 0
        self.http_429 = 0
        self.accepted = 0  # requests
        self.largest_request = 0  # records
        self.dropped_rate_limited = 0

    # -- a hand-over -----------------------------------------------------------------------
    def admit_until(self, until: float) -> dict[str, np.ndarray]:
        """Send the clicks sent before ``until``, decide every request reaching the API before
        it; the answer's columns (:data:`ANSWER`): ``sent_t`` the send times of the clicks sent
        (ids ``clicks_numbered - len(sent_t)`` on), ``id``, ``t`` and the carried click fields of
        the records accepted (``t``: their acceptance time; in acceptance order), ``drop_id`` and
        ``drop_t`` the clicks dropped as ``rate_limited`` and when, ``counts`` the running
        counts (:data:`COUNTS`)."""
        sent_t, ids, cols = self._arrivals(until)
        req = cols.pop("req")
        n = len(ids)
        starts = _runs(req)[0] if self.p.records_per_request > 1 else np.arange(n)
        self.requests += len(starts)
        t = cols["t"]
        m = 0 if len(self._heap) else self.bucket.admit_prefix(t[starts])  # requests
        self.accepted += m
        late: dict[str, np.ndarray] | None = None  # accepted by the slow path (new requests and retries), by time
        if m < len(starts) or len(self._heap):
            late = self._slow_path(ids, cols, req, starts, m, until)
        m = int(starts[m]) if m < len(starts) else n  # records of the conforming requests
        # the conforming prefix, then the slow path's acceptances, in acceptance order
        out = {"sent_t": sent_t, "id": ids[:m], "t": t[:m], **{c: cols[c][:m] for c in CARRY}}
        if late is not None and len(late["id"]):
            out.update({c: np.concatenate([out[c], late[c]]) for c in ("id", "t", *CARRY)})
        if self._drops:
            out["drop_id"] = np.concatenate([d[0] for d in self._drops])
            out["drop_t"] = np.concatenate([d[1] for d in self._drops])
            self._drops = []
        else:
            out["drop_id"], out["drop_t"] = np.empty(0, dtype=np.int64), np.empty(0)
        out["counts"] = self.counts_array()
        return out

    def counts_array(self) -> np.ndarray:
        """The running counts, in :data:`COUNTS` order."""
        return np.array([self.requests, self.http_429, self.accepted, self.largest_request,
                         self.dropped_rate_limited, len(self._heap), self.numbered], dtype=np.int64)

    def held(self) -> list[np.ndarray]:
        """Ids of the clicks sent and not decided yet: on the way, in an open request, waiting to retry."""
        return [self._transit["id"], self._open["id"], self._park["id"]]

    # -- the steps -------------------------------------------------------------------------
    def _arrivals(self, until: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The send times of the clicks sent now (numbered in send order), and the clicks whose
        requests reach the API before ``until``: those sent now plus those still in transit, each
        arriving ``http_latency`` after its send; in arrival order. Later arrivals stay in
        transit for the next round."""
        cols = self.source.take_until(until)
        n = len(cols["t"])
        ids = np.arange(self.numbered, self.numbered + n, dtype=np.int64)
        self.numbered += n
        sent_t = cols["t"]
        for observe in self.observers:
            observe(ids, cols)
        cols = {c: (cols[c] if c in cols else ids.copy()) for c in ("t", *CARRY)}  # event_id: own id by default
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
        return sent_t, cols.pop("id"), cols

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

    def _slow_path(self, ids, cols, req, starts, m, until) -> dict[str, np.ndarray]:
        """Request by request from request ``m`` (records from ``starts[m]``), interleaving due
        retries in time order (:func:`sim.core.retry_kernel.kernel`). Notes the refused records
        (``_drops``), parks those waiting to retry, and returns the accepted ones sorted by
        (time, id)."""
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
        rec = {"id": ids[first:], "req": req[first:], **{c: cols[c][first:] for c in CARRY}}
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
            self._drops.append((gone_ids, np.concatenate([d[1] for d in dropped])))
        late = {c: np.concatenate([p[c] for p in parts]) for c in ("t", "id", *CARRY)}
        order = np.lexsort((late["id"], late["t"]))
        return {c: v[order] for c, v in late.items()}

    def shed_draws_ahead(self) -> None:
        """Give back the retry uniforms drawn ahead and not used: the retry stream is rewound by
        their count (a PCG64 uniform is one 64-bit draw), so the next draws are the same and the
        state is small (a round reserves a uniform for every retry it could decide: with
        ``max_attempts`` 100 that is hundreds of MB, nearly all unused)."""
        left = len(self._u) - self._u_pos
        bits = self.rng.bit_generator
        if left and isinstance(bits, np.random.PCG64):
            bits.advance((1 << 128) - left)  # modulo the period: ``left`` draws back
            self._u, self._u_pos = np.empty(0), 0

    def _uniforms(self, k: int) -> np.ndarray:
        """At least ``k`` uniforms from the retry stream past the ones used, drawn ahead and kept, so
        that the i-th retry of the run always gets the stream's i-th draw."""
        left = len(self._u) - self._u_pos
        if left < k:
            self._u = np.concatenate([self._u[self._u_pos:], self.rng.random(max(k - left, 4096))])
            self._u_pos = 0
        return self._u


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal consecutive values of ``key``."""
    if not len(key):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    return starts, np.diff(np.append(starts, len(key)))
