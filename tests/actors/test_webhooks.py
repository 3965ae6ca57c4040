"""The webhook sender's decisions (sim.actors.data_cloud.webhooks): the retry schedule (attempt k
after ``retry_schedule[k]``, then the dead-letter list), the exponential policy and its cap, the
timeout edge, the endpoint's rate-limit bursts and its queue, disabling after ``disable_after``
and sending nothing without a signing key."""

import numpy as np

from sim.actors.data_cloud.webhooks import WebhookSender
from sim.scenario.data_cloud import Webhooks
from tests.actors.rig import const, context, stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2


def sender(latency=0.5, error_rate=0.0, rate=100.0, burst=10, faults=(), **over):
    ctx = context(faults=faults)
    settings = {"endpoint": {"latency": const(latency), "error_rate": error_rate, "rate_limit_per_s": rate,
                             "burst": burst}, "timeout": 15.0}
    settings.update(over)
    return ctx, WebhookSender(ctx, Webhooks(**settings))


def post_at(ctx, ws, times):
    ids = []
    for t in times:
        mid = int(ctx.ledger.create("webhook", t)[0])
        ids.append(mid)
        ctx.at(t, ws.post, mid, {"ContactId__c": "003", "Action__c": "Pricing visit"})
    return ids


def test_each_attempt_waits_its_schedule_delay_then_the_message_is_dead_lettered():
    """With every attempt failing, attempt k starts ``retry_schedule[k]`` after the previous failure;
    after the last one the message goes to the dead-letter list."""
    ctx, ws = sender(error_rate=1.0, retry_schedule=[0, 5, 300])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=1000.0)
    assert ws.dead_letters == [{"id": 0, "idempotency_key": "wh-0", "at": 306.5}]
    assert ctx.ledger.dropped_by_reason("webhook", 1000.0) == {"dead_letter": 1}
    c = ws.counts()
    assert (c["attempts"], c["errors_5xx"], c["acknowledged"], c["dead_letters"]) == (3, 3, 0, 1)
    assert stamps(ctx, "webhook", "post") == [0.0]
    assert ws.held(100.0)["webhook"][0].tolist() == []


def test_the_first_attempt_waits_a_nonzero_first_delay_and_one_attempt_schedules_stop_at_once():
    """A first delay above zero delays the first attempt; a one-entry schedule makes one attempt."""
    ctx, ws = sender(retry_schedule=[10.0, 5.0])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "post") == [10.0] and stamps(ctx, "webhook", "ack") == [10.5]
    ctx, ws = sender(error_rate=1.0, retry_schedule=[0.0])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    assert ws.counts()["attempts"] == 1 and ws.dead_letters[0]["at"] == 0.5


def test_an_answer_exactly_at_the_timeout_succeeds_and_a_slower_one_fails_but_was_processed():
    """An answer taking exactly ``timeout`` is a success; a slower one is a failure for the client
    (after ``timeout``) although the endpoint processed it: the retry is a duplicate."""
    ctx, ws = sender(latency=15.0)
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [15.0] and ws.counts()["timeouts"] == 0
    ctx, ws = sender(latency=15.5, retry_schedule=[0, 5])
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=100.0)
    c = ws.counts()
    assert (c["timeouts"], c["attempts"], c["receiver_duplicates"], c["dead_letters"]) == (2, 2, 1, 1)
    assert ws.received == {"wh-0": 2} and ws.dead_letters[0]["at"] == 35.0


def test_a_burst_goes_at_once_and_the_next_request_waits_for_a_slot():
    """With 1 request/s and bursts of 2, two messages posted together go at once; the third is
    answered 429 and sent when the limit frees a slot (one second later), without using an attempt."""
    ctx, ws = sender(rate=1.0, burst=2, retry_schedule=[0])
    post_at(ctx, ws, [0.0, 0.0, 0.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [0.5, 0.5, 1.5]
    c = ws.counts()
    assert (c["http_429"], c["attempts"], c["acknowledged"], c["dead_letters"]) == (1, 4, 3, 0)
    ctx, ws = sender(rate=1.0, burst=1, retry_schedule=[0])
    post_at(ctx, ws, [0.0, 0.0, 0.0, 1.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [0.5, 1.5, 2.5, 3.5]  # the late one waits behind the queue
    assert ws.counts()["http_429"] == 1  # the third and fourth wait behind the queue without asking


def test_an_outage_refuses_connections_and_the_retry_after_it_succeeds():
    """During an outage an attempt fails at once (connection refused) and is retried on schedule."""
    ctx, ws = sender(faults=[("webhooks", "outage", 0.0, 4.0)], retry_schedule=[0, 5])
    post_at(ctx, ws, [1.0])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "webhook", "ack") == [6.5]
    c = ws.counts()
    assert (c["connection_refused"], c["attempts"], c["acknowledged"]) == (1, 2, 1)


def test_an_endpoint_failing_for_disable_after_is_disabled():
    """An endpoint that failed every attempt for ``disable_after`` is disabled at the failure that
    reaches it (exactly then included); its later messages are dropped (``endpoint_disabled``)."""
    ctx, ws = sender(error_rate=1.0, latency=1.0, retry_schedule=[0, 9, 10, 10], disable_after=21.0)
    post_at(ctx, ws, [0.0, 50.0])
    ctx.env.run(until=200.0)
    # failures at 1, 11 and 22 (22 - 1 = 21: disabled); the fourth attempt finds it disabled
    assert ws.counts()["disabled_at_s"] == 22.0 and ws.counts()["attempts"] == 3
    assert ctx.ledger.dropped_by_reason("webhook", 200.0) == {"endpoint_disabled": 2}
    ctx, ws = sender(error_rate=1.0, latency=1.0, retry_schedule=[0, 9, 10], disable_after=21.5)
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=200.0)
    assert ws.counts()["disabled_at_s"] is None and ws.dead_letters[0]["at"] == 22.0


def test_without_a_signing_key_nothing_is_sent():
    """No signing key: the message is dropped (``no_signing_key``) and no request is made."""
    ctx, ws = sender(signing_key=None)
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=10.0)
    assert states(ctx, "webhook") == [DROPPED] and ws.counts()["attempts"] == 0
    assert ctx.ledger.dropped_by_reason("webhook", 10.0) == {"no_signing_key": 1}


def test_exponential_delays_double_up_to_the_cap():
    """``exponential``: no delay before the first attempt, then ``base x factor^k`` capped at
    ``max_delay``, times a jitter in ``[1 - jitter, 1]`` (none here)."""
    _, ws = sender(retry_policy="exponential",
                   exponential={"attempts": 6, "base": 5.0, "factor": 2.0, "max_delay": 30.0, "jitter": 0.0})
    assert ws.delays() == [0.0, 5.0, 10.0, 20.0, 30.0, 30.0]
    _, ws = sender(retry_policy="exponential", exponential={"attempts": 1})
    assert ws.delays() == [0.0]
    _, ws = sender(retry_policy="exponential",
                   exponential={"attempts": 200 // 2, "base": 4.0, "factor": 1.0, "jitter": 0.5})
    d = np.array(ws.delays()[1:])
    assert d.min() >= 2.0 and d.max() <= 4.0 and d.max() - d.min() > 1.0
    _, ws = sender(retry_schedule=[0, 7])
    assert ws.delays() == [0, 7]


def test_each_attempt_is_signed_with_its_own_time():
    """The request of an attempt carries the message id as idempotency key and a signature over the
    attempt's whole-second epoch time."""
    ctx, ws = sender()
    post_at(ctx, ws, [0.0])
    ctx.env.run(until=0.1)
    first = ws.request(0, 0.0)
    later = ws.request(0, 12.7)
    assert first["headers"]["idempotency-key"] == "wh-0" and first["url"] == ws.p.url
    assert first["headers"]["webhook-timestamp"] != later["headers"]["webhook-timestamp"]
    assert int(later["headers"]["webhook-timestamp"]) - int(first["headers"]["webhook-timestamp"]) == 12
    assert first["headers"]["x-signature"] == later["headers"]["x-signature"]  # the body's HMAC
