"""Webhook Data Action target: signed HTTP POSTs to an external endpoint, with retries.

Each webhook message is one call: its body is the Data Cloud webhook JSON. Every attempt is signed
under the signing key as Svix / Standard Webhooks do (:mod:`sim.domain.actions`): ``webhook-id``
(the message id, also sent as ``idempotency-key``), ``webhook-timestamp`` (the attempt's time) and
``webhook-signature`` (HMAC-SHA256 of ``id.timestamp.body``), plus Data Cloud's ``x-signature``
(HMAC of the body alone). The endpoint (:class:`WebhookReceiver`) verifies every request it
processes, with a 300 s tolerance on the timestamp, and answers 401 to one that does not verify
(counted in ``signature_rejected``; for the client a failed attempt, retried like a 5xx); it
counts duplicates by the signed message id. With no signing key nothing is sent
(``no_signing_key``). Attempt ``k`` starts ``retry_schedule[k]``
seconds after the previous failure (the first at once). The endpoint answers after a log-normal
latency; it rate-limits with a token bucket. A request answered 429 with ``Retry-After`` does not
use up an attempt: the message joins the sender's queue for the endpoint, which is served in order,
each message as soon as the limit frees a slot for it (after whole-second ``Retry-After`` waits);
while the queue holds messages, new ones wait behind it without sending. So a backlog costs one
wake-up per message, not one request per second per waiting message, and ``http_429`` counts the
requests the endpoint really refused. The endpoint fails ``error_rate`` of attempts with a 5xx, and
an answer slower than ``timeout`` is a failure for the client although the endpoint did process the
request (so a later success is a duplicate, which the receiver detects by the idempotency key).
When the schedule is used up the message goes to the dead-letter list (``dead_letter``).

``retry_policy: exponential`` replaces the schedule with ``base × factor^k`` (capped at
``max_delay``) times a jitter drawn uniformly in ``[1 − jitter, 1]``. An endpoint that has failed
every attempt for ``disable_after`` (Svix: 5 days) is disabled: its pending and later messages are
dropped (``endpoint_disabled``). Faults (target ``webhooks``): an ``outage`` refuses connections
(the attempt fails at once), ``error_rate`` raises the 5xx share, ``slowdown`` multiplies latency.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from sim.actors.base import Actor, IdSet, RunContext
from sim.core.dists import lognormal
from sim.core.token_bucket import TokenBucket
from sim.domain.actions import (
    ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TOLERANCE_S,
    iso_time,
    sign,
    signature_headers,
    verify_request,
    webhook_body,
)
from sim.scenario.data_cloud import Webhooks


class WebhookReceiver:
    """The endpoint's side: verifies each request's signature and timestamp, and counts the
    messages it processed by their (signed) message id."""

    def __init__(self, key: bytes | None, tolerance: float = TOLERANCE_S) -> None:
        self.key = key
        self.tolerance = tolerance
        self.received: dict[str, int] = {}  # message id -> times processed
        self.signature_rejected = 0

    def receive(self, headers: Mapping, body: bytes, now_epoch: float) -> bool:
        """Process one request at ``now_epoch`` (epoch seconds): True (2xx) if it verifies,
        else False (401, counted in ``signature_rejected``)."""
        if self.key is None or not verify_request(headers, body, self.key, now_epoch, self.tolerance):
            self.signature_rejected += 1
            return False
        msg_id = str(headers[ID_HEADER])
        self.received[msg_id] = self.received.get(msg_id, 0) + 1
        return True

    @property
    def duplicates(self) -> int:
        return sum(c - 1 for c in self.received.values() if c > 1)


class WebhookSender(Actor):
    name = "webhooks"

    def __init__(self, ctx: RunContext, settings: Webhooks) -> None:
        super().__init__(ctx)
        self.p = settings
        self.key = self.p.signing_key.encode() if self.p.signing_key else None
        self.limiter = TokenBucket(self.p.endpoint.rate_limit_per_s, self.p.endpoint.burst)
        self.rng = ctx.rng("webhooks.endpoint")
        self.start_epoch = ctx.start_epoch_s
        self.pending = IdSet()
        self.receiver = WebhookReceiver(self.key)
        self.bodies: dict[int, bytes] = {}  # message -> body, while it is being delivered
        self.dead_letters: list[dict] = []
        self.attempts = self.http_429 = self.errors = self.timeouts = self.acks = self.refused = 0
        self._last: tuple[int, float, bytes] | None = None  # the last message posted: id, time, body
        self.faults = ctx.faults
        self.failing_since: float | None = None
        self.disabled_at: float | None = None
        self.rng_retry = ctx.rng("webhooks.retry")
        self._queue: deque = deque()  # messages waiting for a slot of the endpoint's rate limit
        self._queue_signal = ctx.env.event()
        ctx.env.process(self._pace())

    def delays(self) -> list[float]:
        """Delay before each attempt of one message (seconds)."""
        p = self.p
        if p.retry_policy == "schedule":
            return list(p.retry_schedule)
        e = p.exponential
        jitter = self.rng_retry.uniform(1.0 - e.jitter, 1.0, size=max(e.attempts - 1, 0))
        return [0.0] + [min(e.base * e.factor ** k, e.max_delay) * float(j) for k, j in enumerate(jitter)]

    def post(self, mid: int, payload: dict) -> None:
        now = self.env.now
        if self.key is None:
            self.ledger.drop_one("webhook", mid, "no_signing_key", now)
            return
        if self.disabled_at is not None:
            self.ledger.drop_one("webhook", mid, "endpoint_disabled", now)
            return
        body = webhook_body([payload], iso_time(now, self.start_epoch))
        self.bodies[mid] = body
        self._last = (mid, now, body)
        self.pending.add(mid)
        self.env.process(self._deliver(mid, f"wh-{mid}"))

    @property
    def received(self) -> dict[str, int]:
        """Message id -> times the endpoint processed it (verified requests only)."""
        return self.receiver.received

    @property
    def last_request(self) -> dict | None:
        """The request of the last message posted, as first sent (signed with its posting time);
        built when asked, so a run does not sign every message twice for it."""
        return None if self._last is None else self._request(*self._last)

    def request(self, mid: int, now: float) -> dict:
        """The request of one attempt at simulation time ``now``: signed with that time."""
        return self._request(mid, now, self.bodies[mid])

    def _request(self, mid: int, now: float, body: bytes) -> dict:
        msg_id = f"wh-{mid}"
        assert self.key is not None  # post() drops the message when there is no key
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(body, self.key),
                   IDEMPOTENCY_HEADER: msg_id,
                   **signature_headers(msg_id, math.floor(self.start_epoch + now), body, self.key)}
        return {"url": self.p.url, "headers": headers, "body": body}

    def _deliver(self, mid: int, idem: str):
        env, p = self.env, self.p
        ep = p.endpoint
        schedule = self.delays()
        attempt = 0
        first = True
        if schedule[0] > 0:
            yield env.timeout(schedule[0])
        token = False  # a slot of the endpoint's rate limit was taken for this message by the queue
        while attempt < len(schedule):
            if self.disabled_at is not None:
                self._drop(mid, "endpoint_disabled")
                return
            down = self.faults.down("webhooks", env.now)
            if not token and not down and self._queue:  # others wait for the endpoint: behind them
                yield self._turn(mid)
                token = True
                continue
            # a refused connection never reaches the endpoint: it takes no slot of its rate limit
            wait = 0.0 if token or down else self.limiter.admit(env.now)
            token = False
            if first:
                self.ledger.stamp_one("webhook", "post", mid, env.now)
                first = False
            self.attempts += 1
            if down:  # connection refused
                self.refused += 1
                failed = True
            elif wait > 0:  # 429 with Retry-After: wait in the sender's queue for a free slot
                self.http_429 += 1
                yield self._turn(mid)
                token = True
                continue
            else:
                latency = float(lognormal(self.rng, ep.latency.median, ep.latency.sigma))
                latency *= self.faults.slowdown("webhooks", env.now)
                failed = self.rng.random() < self.faults.error_rate("webhooks", env.now, ep.error_rate)
                if failed:
                    self.errors += 1
                    yield env.timeout(min(latency, p.timeout))
                else:
                    request = self.request(mid, env.now)
                    accepted = self.receiver.receive(request["headers"], request["body"],
                                                     self.start_epoch + env.now)
                    if latency > p.timeout:
                        self.timeouts += 1
                        yield env.timeout(p.timeout)
                        failed = True
                    else:
                        yield env.timeout(latency)
                        failed = not accepted
            if not failed:
                self.failing_since = None
                self.acks += 1
                self.ledger.stamp_one("webhook", "ack", mid, env.now)
                self.ledger.deliver_one("webhook", mid, env.now)
                self.pending.remove(mid)
                self.bodies.pop(mid, None)
                return
            if self.failing_since is None:
                self.failing_since = env.now
            elif env.now - self.failing_since >= p.disable_after and self.disabled_at is None:
                self.disabled_at = env.now
            attempt += 1
            if attempt < len(schedule):
                yield env.timeout(schedule[attempt])
        self.dead_letters.append({"id": mid, "idempotency_key": idem, "at": env.now})
        self._drop(mid, "dead_letter")

    def _turn(self, mid: int):
        """An event that fires when it is ``mid``'s turn at the endpoint: the queue is served in
        order, each message when the rate limit frees a slot for it (after whole-second
        Retry-After waits), so a backlog costs one wake-up per message, not one per second."""
        turn = self.env.event()
        self._queue.append((mid, turn))
        if not self._queue_signal.triggered:
            self._queue_signal.succeed()
        return turn

    def _pace(self):
        env = self.env
        while True:
            if not self._queue:
                self._queue_signal = env.event()
                yield self._queue_signal
                continue
            wait = self.limiter.admit(env.now)
            if wait > 0:
                yield env.timeout(math.ceil(wait))  # Retry-After is whole seconds
                continue
            _, turn = self._queue.popleft()
            turn.succeed()

    def _drop(self, mid: int, reason: str) -> None:
        self.ledger.drop_one("webhook", mid, reason, self.env.now)
        self.pending.remove(mid)
        self.bodies.pop(mid, None)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"webhook": [self.pending.array()]}

    def counts(self) -> dict:
        duplicates = self.receiver.duplicates
        return {"attempts": self.attempts, "http_429": self.http_429, "errors_5xx": self.errors,
                "timeouts": self.timeouts, "connection_refused": self.refused, "acknowledged": self.acks,
                "dead_letters": len(self.dead_letters), "receiver_duplicates": duplicates,
                "signature_rejected": self.receiver.signature_rejected, "disabled_at_s": self.disabled_at}
