"""Webhook Data Action target: signed HTTP POSTs to an external endpoint, with retries.

Each webhook message is one call: its body is the Data Cloud webhook JSON, signed with
HMAC-SHA256 under the signing key (header ``x-signature``) and carrying an idempotency key. With no
signing key nothing is sent (``no_signing_key``). Attempt ``k`` starts ``retry_schedule[k]``
seconds after the previous failure (the first at once). The endpoint answers after a log-normal
latency; it rate-limits with a token bucket (HTTP 429 with ``Retry-After``: the client waits that
long and tries again without using up an attempt), fails ``error_rate`` of attempts with a 5xx, and
an answer slower than ``timeout`` is a failure for the client although the endpoint did process the
request (so a later success is a duplicate, which the receiver detects by the idempotency key).
When the schedule is used up the message goes to the dead-letter list (``dead_letter``).
"""

from __future__ import annotations

import math

import numpy as np

from sim.actors.base import Actor, IdSet, RunContext
from sim.core.dists import lognormal
from sim.core.token_bucket import TokenBucket
from sim.domain.actions import iso_time, sign, webhook_body


class WebhookSender(Actor):
    name = "webhooks"

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self.p = ctx.scenario.webhooks
        self.key = self.p.signing_key.encode() if self.p.signing_key else None
        self.limiter = TokenBucket(self.p.endpoint.rate_limit_per_s, self.p.endpoint.burst)
        self.rng = ctx.rng("webhooks.endpoint")
        self.start_epoch = ctx.scenario.start_epoch_s
        self.pending = IdSet()
        self.received: dict[str, int] = {}  # idempotency key -> times processed by the endpoint
        self.dead_letters: list[dict] = []
        self.attempts = self.http_429 = self.errors = self.timeouts = self.acks = 0
        self.last_request: dict | None = None

    def post(self, mid: int, payload: dict) -> None:
        now = self.env.now
        if self.key is None:
            self.ledger.drop("webhook", np.array([mid]), "no_signing_key", now)
            return
        body = webhook_body([payload], iso_time(now, self.start_epoch))
        headers = {"content-type": "application/json", "x-signature": sign(body, self.key),
                   "idempotency-key": f"wh-{mid}"}
        self.last_request = {"url": self.p.url, "headers": headers, "body": body}
        self.pending.add(mid)
        self.env.process(self._deliver(mid, headers["idempotency-key"]))

    def _deliver(self, mid: int, idem: str):
        env, p = self.env, self.p
        ep = p.endpoint
        attempt = 0
        first = True
        if p.retry_schedule[0] > 0:
            yield env.timeout(p.retry_schedule[0])
        while attempt < len(p.retry_schedule):
            wait = self.limiter.admit(env.now)
            if first:
                self.ledger.stamp("webhook", "post", np.array([mid]), env.now)
                first = False
            self.attempts += 1
            if wait > 0:
                self.http_429 += 1
                yield env.timeout(math.ceil(wait))  # Retry-After is whole seconds
                continue
            latency = float(lognormal(self.rng, ep.latency.median, ep.latency.sigma))
            failed = self.rng.random() < ep.error_rate
            if failed:
                self.errors += 1
                yield env.timeout(min(latency, p.timeout))
            elif latency > p.timeout:
                self.timeouts += 1
                self.received[idem] = self.received.get(idem, 0) + 1
                yield env.timeout(p.timeout)
                failed = True
            else:
                self.received[idem] = self.received.get(idem, 0) + 1
                yield env.timeout(latency)
            if not failed:
                self.acks += 1
                self.ledger.stamp("webhook", "ack", np.array([mid]), env.now)
                self.ledger.deliver("webhook", np.array([mid]), env.now)
                self.pending.remove(mid)
                return
            attempt += 1
            if attempt < len(p.retry_schedule):
                yield env.timeout(p.retry_schedule[attempt])
        self.dead_letters.append({"id": mid, "idempotency_key": idem, "at": env.now})
        self.ledger.drop("webhook", np.array([mid]), "dead_letter", env.now)
        self.pending.remove(mid)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"webhook": [self.pending.array()]}

    def counts(self) -> dict:
        duplicates = sum(c - 1 for c in self.received.values() if c > 1)
        return {"attempts": self.attempts, "http_429": self.http_429, "errors_5xx": self.errors,
                "timeouts": self.timeouts, "acknowledged": self.acks, "dead_letters": len(self.dead_letters),
                "receiver_duplicates": duplicates}
