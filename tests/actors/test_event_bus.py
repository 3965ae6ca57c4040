"""The event bus's decisions (sim.actors.data_cloud.event_bus): the rolling-hour publish allocation
(250,000 per hour by default) shared with the org's other publishes, LIMIT_EXCEEDED drop or retry,
allocation cuts, the rolling-24 h delivery allocation, publish behaviour on a rolled-back
transaction, replay ids and the channel's order. Each allocation is checked one second before and
exactly when the rolling window frees a slot."""

import pytest

from sim.actors.data_cloud.event_bus import DAY_S, HOUR_S, EventBus
from sim.scenario.data_cloud import EventBus as BusSettings
from tests.actors.rig import const, context, publish_at, stamps, states

DROPPED, DELIVERED = 2, 1


def bus(ctx, **over):
    settings = {"publish_latency": const(1.0), "delivery_latency": const(2.0)}
    settings.update(over)
    return EventBus(ctx, BusSettings(**settings))


def test_the_hourly_allocation_frees_a_slot_exactly_an_hour_after_a_publish():
    """With 2 publishes per rolling hour, a third at 3,599 s is refused (LIMIT_EXCEEDED, dropped
    as ``allocation``) and one at 3,600 s, an hour after the first, is accepted."""
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=2)
    publish_at(ctx, b, [0.0, 10.0, HOUR_S - 1, HOUR_S, HOUR_S + 5])
    ctx.env.run(until=3 * HOUR_S)
    assert states(ctx, "platform_event") == [DELIVERED, DELIVERED, DROPPED, DELIVERED, DROPPED]
    assert stamps(ctx, "platform_event", "publish") == [1.0, 11.0, None, HOUR_S + 1, None]
    c = b.counts()
    assert (c["published"], c["limit_exceeded"], c["allocation_peak_per_hour"], c["first_limit_exceeded_s"]) == \
        (3, 2, 2, HOUR_S - 1)
    assert ctx.ledger.dropped_by_reason("platform_event", ctx.horizon) == {"allocation": 2}


def test_other_integrations_share_the_allocation():
    """``other_publishes_per_hour`` uses the allocation too: 3 per hour with 2 others leaves 1."""
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=3, other_publishes_per_hour=2)
    publish_at(ctx, b, [0.0, 1.0])
    ctx.env.run(until=HOUR_S)
    assert states(ctx, "platform_event") == [DELIVERED, DROPPED]
    assert b.counts()["allocation_peak_per_hour"] == 3
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=2, other_publishes_per_hour=2)
    publish_at(ctx, b, [0.0])
    ctx.env.run(until=HOUR_S)
    assert states(ctx, "platform_event") == [DROPPED]


def test_retry_publishes_when_the_rolling_hour_frees_a_slot():
    """``on_limit_exceeded: retry`` publishes a refused event exactly when the oldest publish leaves
    the rolling hour; while it waits it is held by the bus."""
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=1, on_limit_exceeded="retry")
    publish_at(ctx, b, [100.0, 200.0])
    ctx.env.run(until=HOUR_S)
    assert b.held(HOUR_S)["platform_event"][0].tolist() == [1]
    ctx.env.run(until=3 * HOUR_S)
    assert stamps(ctx, "platform_event", "publish") == [101.0, 100.0 + HOUR_S + 1]
    c = b.counts()
    assert (c["retried_publishes"], c["limit_exceeded"], c["published"]) == (1, 1, 2)


def test_an_allocation_cut_refuses_only_during_the_cut_and_a_retry_waits_for_its_end():
    """An ``allocation_cut`` fault lowers the allocation during ``[start, end)``; a retry is
    attempted when the cut ends if that is sooner than the rolling hour."""
    ctx = context(faults=[("event_bus", "allocation_cut", 50.0, 100.0, None, None, 0)])
    b = bus(ctx, publish_allocation_per_hour=10)
    publish_at(ctx, b, [49.0, 50.0, 149.0, 150.0])
    ctx.env.run(until=HOUR_S)
    assert states(ctx, "platform_event") == [DELIVERED, DROPPED, DROPPED, DELIVERED]
    assert ctx.series["publish_allocation"] == [(0.0, 10), (50.0, 0), (150.0, 10)]
    ctx = context(faults=[("event_bus", "allocation_cut", 50.0, 100.0, None, None, 0)])
    b = bus(ctx, publish_allocation_per_hour=10, on_limit_exceeded="retry")
    publish_at(ctx, b, [60.0])
    ctx.env.run(until=HOUR_S)
    assert stamps(ctx, "platform_event", "publish") == [151.0]


def test_the_delivery_allocation_is_a_rolling_24_hours():
    """``take_deliveries`` grants what fits in the rolling-24 h allocation; the deliveries of ``t``
    free their share exactly at ``t + 24 h``, not a second before."""
    ctx = context()
    b = bus(ctx, delivery_allocation_per_day=5)
    assert b.deliveries_free_at(7.0) == 7.0
    assert b.take_deliveries(3, 0.0) == 3
    assert b.take_deliveries(4, 10.0) == 2
    assert b.take_deliveries(1, 20.0) == 0
    assert b.deliveries_free_at(20.0) == DAY_S
    assert b.take_deliveries(3, DAY_S - 1) == 0
    assert b.take_deliveries(4, DAY_S) == 3
    assert b.take_deliveries(1, DAY_S + 10) == 1  # the 2 of t=10 left exactly now
    assert b.counts()["delivery_allocation_limited"] == 4
    assert ctx.series["delivery_allocation_used"] == [(0.0, 3), (10.0, 5), (DAY_S, 5), (DAY_S + 10, 4)]


@pytest.mark.parametrize("behavior, state, counts", [
    ("after_commit", DROPPED, {"rolled_back": 1, "published_after_rollback": 0, "published": 0}),
    ("immediately", DELIVERED, {"rolled_back": 0, "published_after_rollback": 1, "published": 1}),
])
def test_a_rolled_back_transaction_publishes_only_immediately(behavior, state, counts):
    """A failed publishing transaction publishes nothing with ``after_commit`` (``rolled_back``)
    and publishes anyway with ``immediately`` (the platform's default)."""
    ctx = context()
    b = bus(ctx, transaction_failure_rate=1.0, publish_behavior=behavior)
    publish_at(ctx, b, [5.0])
    ctx.env.run(until=100.0)
    assert states(ctx, "platform_event") == [state]
    assert {k: b.counts()[k] for k in counts} == counts
    ctx = context()
    b = bus(ctx, transaction_failure_rate=0.0, publish_behavior="after_commit")
    publish_at(ctx, b, [5.0])
    ctx.env.run(until=100.0)
    assert states(ctx, "platform_event") == [DELIVERED]


def test_every_subscriber_gets_every_event_in_order_with_increasing_replay_ids():
    """Each stored event is delivered to every subscriber's queue, available ``delivery_latency``
    later but never before the event published ahead of it; replay ids increase with gaps."""
    ctx = context(extra_kinds=[("pubsub:x", ("available", "fetched", "processed"))])
    b = bus(ctx, delivery_latency=const(2.0))
    q1 = b.subscribe("flow", "crm")
    q2 = b.subscribe("pubsub:x", external=True)
    assert b.external == {"pubsub:x"}
    publish_at(ctx, b, [0.0, 0.5, 10.0])
    ctx.env.run(until=100.0)
    assert [e.available_at for _, e in q1.items] == [3.0, 3.5, 13.0]
    assert [e.published_at for _, e in q2.items] == [1.0, 1.5, 11.0]
    replay = [e.replay_id for _, e in q1.items]
    assert replay == sorted(replay) and len(set(replay)) == 3 and replay[-1] == b.counts()["last_replay_id"]
    assert [e.replay_id for _, e in q2.items] == replay
    assert b.backlog() == {"flow": 3, "pubsub:x": 3}
    assert ctx.ledger.table("flow").parent[:3].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="subscribes to 'Other__e'"):
        b.subscribe("apex:y", channel="Other__e")


def test_the_channel_never_makes_an_event_available_before_the_one_ahead():
    """A later event whose own delivery latency would make it available earlier waits for the one
    published ahead of it."""
    ctx = context()
    b = bus(ctx, delivery_latency=const(50.0))
    q = b.subscribe("flow", "crm")
    publish_at(ctx, b, [0.0])
    ctx.env.run(until=10.0)
    b.p = b.p.model_copy(update={"delivery_latency": const(1.0)})
    publish_at(ctx, b, [10.0, 100.0])
    ctx.env.run(until=200.0)
    assert [e.available_at for _, e in q.items] == [51.0, 51.0, 102.0]
