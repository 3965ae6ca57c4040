"""Edges of the webhook sender and its receiver (sim.actors.data_cloud.webhooks), expected values
worked out by hand from the module docstring with constant endpoint latencies, signatures
recomputed with ``hmac`` and jitters recomputed from the sender's ``webhooks.retry`` stream."""

import base64
import hashlib
import hmac
import json
import math

import pytest

from sim.actors.data_cloud.webhooks import WebhookReceiver, WebhookSender
from sim.core.rng import RandomStreams
from sim.domain.actions import signature_headers
from sim.scenario.data_cloud import Webhooks
from tests.actors.rig import const, context, stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2
KEY = "whsec_twin_default_key"


def sender(latency=0.5, error_rate=0.0, rate=100.0, burst=10, faults=(), start_epoch=0.0, **over):
    ctx = context(faults=faults)
    ctx.start_epoch_s = start_epoch
    settings = {"endpoint": {"latency": const(latency), "error_rate": error_rate, "rate_limit_per_s": rate,
                             "burst": burst}, "timeout": 15.0}
    settings.update(over)
    return ctx, WebhookSender(ctx, Webhooks(**settings))


def post_at(ctx, ws, times, payload=None):
    ids = []
    for t in times:
        mid = int(ctx.ledger.create("webhook", t)[0])
        ids.append(mid)
        ctx.at(t, ws.post, mid, dict(payload or {"ContactId__c": "003"}))
    return ids


def _end_times(ctx):
    table = ctx.ledger.table("webhook")
    return [None if math.isnan(x) else float(x) for x in table.end_t[: table.n]]


# -- the receiver -------------------------------------------------------------------------------
def test_the_receiver_counts_processed_messages_and_duplicates_by_id():
    r = WebhookReceiver(b"k")
    body = b"{}"
    for msg_id, n in [("wh-1", 1), ("wh-2", 3), ("wh-3", 2)]:
        for _ in range(n):
            assert r.receive(signature_headers(msg_id, 100, body, b"k"), body, 100.0)
    assert r.received == {"wh-1": 1, "wh-2": 3, "wh-3": 2}
    assert r.duplicates == 3 and r.signature_rejected == 0


def test_the_receiver_refuses_without_a_key_another_key_or_outside_its_tolerance():
    body = b"{}"
    h = signature_headers("wh-1", 100, body, b"k")
    for r, now in [(WebhookReceiver(None), 100.0), (WebhookReceiver(b"other"), 100.0),
                   (WebhookReceiver(b"k", tolerance=10.0), 111.0), (WebhookReceiver(b"k"), 401.0)]:
        assert r.receive(h, body, now) is False
        assert r.signature_rejected == 1 and r.received == {} and r.duplicates == 0
    r = WebhookReceiver(b"k", tolerance=10.0)
    assert r.receive(h, body, 110.0) and r.receive(h, body, 90.0)
    assert r.tolerance == 10.0 and WebhookReceiver(b"k").tolerance == 300.0


# -- the requests ---------------------------------------------------------------------------------
def test_a_request_is_the_signed_body_of_its_post_time():
    """start at epoch 1,000,000,000.6: a post at 2.7 s has the body created at ...003.300 Z and an
    attempt at 2.7 s is signed with the whole second 1,000,000,003."""
    ctx, ws = sender(start_epoch=1_000_000_000.6)
    post_at(ctx, ws, [2.7], {"ContactId__c": "003A"})
    ctx.env.run(until=2.8)
    req = ws.last_request
    body = req["body"]
    assert json.loads(body) == {"count": 1, "creationDateTime": "2001-09-09T01:46:43.300Z",
                                "events": [{"ContactId__c": "003A"}],
                                "schemas": [{"fields": ["ContactId__c"], "schemaId": "Pricing_Visit"}]}
    key = KEY.encode()
    stamp = 1_000_000_003
    mac = hmac.new(key, f"wh-0.{stamp}.".encode() + body, hashlib.sha256).digest()
    assert req == {"url": ws.p.url, "body": body, "headers": {
        "content-type": "application/json",
        "x-signature": hmac.new(key, body, hashlib.sha256).hexdigest(),
        "idempotency-key": "wh-0",
        "webhook-id": "wh-0",
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1," + base64.b64encode(mac).decode()}}
    assert ws.request(0, 3.39)["headers"]["webhook-timestamp"] == "1000000003"
    assert ws.request(0, 3.4)["headers"]["webhook-timestamp"] == "1000000004"


def test_a_delivered_message_leaves_nothing_behind():
    ctx, ws = sender()
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=0.1)
    assert ws.held(0.0)["webhook"][0].tolist() == [0] and list(ws.bodies) == [0]
    ctx.env.run(until=10.0)
    assert ws.held(0.0)["webhook"][0].tolist() == [] and ws.bodies == {}
    assert _end_times(ctx) == [0.5] and states(ctx, "webhook") == [DELIVERED]
    assert ws.received == {"wh-0": 1}


def test_a_dropped_message_leaves_nothing_behind():
    ctx, ws = sender(error_rate=1.0, retry_schedule=[0])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=10.0)
    assert ws.bodies == {} and ws.held(0.0)["webhook"][0].tolist() == []
    assert _end_times(ctx) == [0.5]


# -- failures -------------------------------------------------------------------------------------
def test_a_5xx_slower_than_the_timeout_fails_at_the_timeout():
    ctx, ws = sender(latency=20.0, error_rate=1.0, retry_schedule=[0, 5])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    assert ws.dead_letters == [{"id": 0, "idempotency_key": "wh-0", "at": 35.0}]
    c = ws.counts()
    assert (c["errors_5xx"], c["timeouts"], c["attempts"]) == (2, 0, 2)


def test_a_slowdown_multiplies_the_latency():
    ctx, ws = sender(latency=2.0, faults=[("webhooks", "slowdown", 0.0, 100.0, None, 3.0)])
    post_at(ctx, ws, [0.0, 200.0])
    ctx.env.run(until=300.0)
    assert stamps(ctx, "webhook", "ack") == [6.0, 202.0]


def test_an_error_rate_fault_raises_the_5xx_share_only_while_it_lasts():
    ctx, ws = sender(faults=[("webhooks", "error_rate", 0.0, 10.0, 1.0)], retry_schedule=[0, 20])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [21.0]
    assert ws.counts()["errors_5xx"] == 1


def test_requests_the_endpoint_cannot_verify_are_failed_attempts():
    """A receiver holding another key answers 401 to every request: each attempt fails, the message
    is dead-lettered and nothing is counted as received."""
    ctx, ws = sender(retry_schedule=[0, 5])
    ws.receiver = WebhookReceiver(b"another key")
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    c = ws.counts()
    assert (c["signature_rejected"], c["attempts"], c["acknowledged"], c["dead_letters"]) == (2, 2, 0, 1)
    assert ws.dead_letters[0]["at"] == 6.0 and ws.received == {}


def test_a_success_resets_the_failing_time():
    """A failure at 1 (5xx until 5), a success at 22 resets: the later failures from 101 start a
    new failing period, so disable_after 30 is not reached by 125."""
    ctx, ws = sender(latency=1.0, disable_after=30.0, retry_schedule=[0, 20],
                     faults=[("webhooks", "error_rate", 0.0, 5.0, 1.0), ("webhooks", "error_rate", 100.0, 1e6, 1.0)])
    post_at(ctx, ws, [0.0, 100.0])
    ctx.env.run(until=200.0)
    assert stamps(ctx, "webhook", "ack") == [22.0, None]
    assert ws.counts()["disabled_at_s"] is None and ws.failing_since == 101.0


def test_the_disabling_time_is_the_first_failure_that_reaches_it():
    """Failures at 1, 2 and 3 from three messages (disable_after 1): disabled at 2, not moved to 3."""
    ctx, ws = sender(error_rate=1.0, latency=1.0, disable_after=1.0, retry_schedule=[0])
    post_at(ctx, ws, [0.0, 1.0, 1.5])
    ctx.env.run(until=100.0)
    assert ws.counts()["disabled_at_s"] == 2.0
    assert ctx.ledger.dropped_by_reason("webhook", 100.0) == {"dead_letter": 3}


def test_a_posted_message_waiting_its_first_delay_is_dropped_if_the_endpoint_is_disabled_meanwhile():
    ctx, ws = sender(error_rate=1.0, latency=1.0, disable_after=0.5, retry_schedule=[10, 0, 0])
    post_at(ctx, ws, [0.0, 5.0])
    ctx.env.run(until=100.0)
    # m0: attempts at 10 (fails at 11), 11 (fails at 12: disabled), then finds it disabled
    assert ws.counts()["disabled_at_s"] == 12.0
    assert _end_times(ctx) == [12.0, 12.0] or _end_times(ctx)[0] == 12.0
    assert ctx.ledger.dropped_by_reason("webhook", 100.0) == {"endpoint_disabled": 2}


# -- the rate limit ------------------------------------------------------------------------------
def test_retry_after_waits_whole_seconds():
    """1 request per 0.4 s (2.5/s), burst 1: the second of two posts at 0 is answered 429; the
    limit frees a slot 0.4 s later, but Retry-After is whole seconds: sent at 1.0."""
    ctx, ws = sender(rate=2.5, burst=1, retry_schedule=[0])
    post_at(ctx, ws, [0.0, 0.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [0.5, 1.5]
    assert ws.counts()["http_429"] == 1 and ws.counts()["attempts"] == 3


def test_an_outage_sends_without_waiting_behind_the_queue():
    """1 request/s, burst 1, outage during [0.2, 1.2): m0 goes at 0 (ack 0.5); m1 (0) is answered
    429 and queued; its turn comes at 1.0, still in the outage: refused, retried at 11. m2 (0.5)
    does not queue behind m1 during the outage: refused at once, retried at 10.5 (ack 11). At 11
    m1 finds half a token: 429 again, its turn at 12 (whole seconds), ack 12.5."""
    ctx, ws = sender(rate=1.0, burst=1, retry_schedule=[0, 10], faults=[("webhooks", "outage", 0.2, 1.0)])
    post_at(ctx, ws, [0.0, 0.0, 0.5])
    ctx.env.run(until=100.0)
    c = ws.counts()
    assert (c["connection_refused"], c["http_429"], c["attempts"], c["acknowledged"]) == (2, 2, 7, 3)
    assert stamps(ctx, "webhook", "post") == [0.0, 0.0, 0.5]
    assert stamps(ctx, "webhook", "ack") == [0.5, 12.5, 11.0]


def test_exponential_jitter_is_drawn_from_the_retry_stream():
    _, ws = sender(retry_policy="exponential",
                   exponential={"attempts": 5, "base": 2.0, "factor": 3.0, "max_delay": 40.0, "jitter": 0.25})
    j = RandomStreams(1)("webhooks.retry").uniform(0.75, 1.0, size=4)
    want = [0.0] + [min(2.0 * 3.0 ** k, 40.0) * float(j[k]) for k in range(4)]
    assert ws.delays() == pytest.approx(want, rel=1e-15)


def test_counts_name_every_figure():
    ctx, ws = sender()
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=10.0)
    assert ws.counts() == {"attempts": 1, "http_429": 0, "errors_5xx": 0, "timeouts": 0, "connection_refused": 0,
                           "acknowledged": 1, "dead_letters": 0, "receiver_duplicates": 0,
                           "signature_rejected": 0, "disabled_at_s": None}


def test_an_attempt_fails_when_the_endpoint_draw_is_below_the_error_rate_not_equal_to_it():
    """Constant latency (nothing drawn for it): each attempt draws one uniform u from the
    ``webhooks.endpoint`` stream and fails when u < error_rate."""
    u = RandomStreams(1)("webhooks.endpoint").random()
    for rate, state in [(u, DELIVERED), (min(u + 1e-9, 1.0), DROPPED)]:
        ctx, ws = sender(error_rate=rate, retry_schedule=[0])
        post_at(ctx, ws, [0.0])
        ctx.env.run(until=10.0)
        assert states(ctx, "webhook") == [state], rate


def test_nothing_is_requested_before_the_first_post():
    _, ws = sender()
    assert ws.last_request is None and ws.dead_letters == [] and ws.failing_since is None


def test_messages_dropped_at_post_carry_the_post_time():
    ctx, ws = sender(signing_key=None)
    post_at(ctx, ws, [3.0])
    ctx.env.run(until=10.0)
    assert _end_times(ctx) == [3.0]
    ctx, ws = sender(error_rate=1.0, latency=1.0, disable_after=0.5, retry_schedule=[0, 0])
    post_at(ctx, ws, [0.0, 7.0])
    ctx.env.run(until=10.0)
    assert ws.counts()["disabled_at_s"] == 2.0
    assert _end_times(ctx) == [2.0, 7.0]
    assert ctx.ledger.dropped_by_reason("webhook", 10.0) == {"dead_letter": 1, "endpoint_disabled": 1}


def test_a_first_delay_below_one_second_is_waited_too():
    ctx, ws = sender(retry_schedule=[0.5])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=10.0)
    assert stamps(ctx, "webhook", "post") == [0.5] and stamps(ctx, "webhook", "ack") == [1.0]


def test_a_refused_connection_does_not_use_the_endpoint_rate_limit():
    """1 request/s, burst 1, outage during [0, 1): the attempt at 0.5 is refused (it never reaches
    the endpoint), the retry at 1.0 finds the endpoint's only slot free: ack at 1.5, no 429. (Until
    2026-11-26 the refused attempt took the slot: the retry was answered 429 and acked at 2.5.)"""
    ctx, ws = sender(rate=1.0, burst=1, retry_schedule=[0, 0.5], faults=[("webhooks", "outage", 0.0, 1.0)])
    post_at(ctx, ws, [0.5])
    ctx.env.run(until=100.0)
    assert ws.counts()["connection_refused"] == 1
    assert stamps(ctx, "webhook", "ack") == [1.5] and ws.counts()["http_429"] == 0
