"""Edges of the event bus (sim.actors.data_cloud.event_bus), expected values worked out by hand
from the module docstring with constant latencies (publish 1 s, delivery 2 s), and replay ids and
EventUuids recomputed from the bus's named random stream (``event_bus.ids``: a start in
[1,000,000, 9,000,000), then a geometric(0.25) gap and 16 random bytes per stored event)."""

import numpy as np
import pytest

from sim.actors.data_cloud.apex import ApexTrigger
from sim.actors.data_cloud.event_bus import HOUR_S, EventBus
from sim.actors.data_cloud.pubsub import PubSubClient
from sim.core.rng import RandomStreams
from sim.scenario.data_cloud import ApexTrigger as ApexSpec
from sim.scenario.data_cloud import EventBus as BusSettings
from sim.scenario.data_cloud import PubSubClient as PubSubSpec
from tests.actors.rig import const, context, publish_at, stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2


def bus(ctx, **over):
    settings = {"publish_latency": const(1.0), "delivery_latency": const(2.0)}
    settings.update(over)
    return EventBus(ctx, BusSettings(**settings))


def call_at(ctx, b, t, sizes):
    """One publish call at ``t`` with one event per size; returns the events' ledger ids."""
    ids = [int(ctx.ledger.create("platform_event", t)[0]) for _ in sizes]
    ctx.at(t, b.publish_call, [(mid, {"n": k}, s) for k, (mid, s) in enumerate(zip(ids, sizes))])
    return ids


def test_replay_ids_and_uuids_come_from_the_ids_stream():
    ctx = context()
    b = bus(ctx)
    q = b.subscribe("flow", "crm")
    publish_at(ctx, b, [0.0, 5.0, 5.0])
    ctx.env.run(until=100.0)
    g = RandomStreams(1)("event_bus.ids")
    replay = int(g.integers(1_000_000, 9_000_000))
    want = []
    for _ in range(3):
        replay += int(g.geometric(0.25))
        h = g.bytes(16).hex()
        want.append((replay, f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:32]}"))
    assert [(e.replay_id, e.uuid) for _, e in q.items] == want
    assert b.counts()["last_replay_id"] == want[-1][0]
    e = q.items[1][1]
    assert (e.id, e.channel, e.published_at, e.available_at, e.payload) == (1, "Pricing_Visit__e", 6.0, 8.0, {})


def test_an_event_of_exactly_max_bytes_is_published_and_one_byte_more_fails_alone():
    """A call of three events (100, 101 and 0 bytes; limit 100): the second fails alone
    (``event_too_large``), the other two are stored together at 1 s, in call order."""
    ctx = context()
    b = bus(ctx, max_event_bytes=100)
    q = b.subscribe("flow", "crm")
    call_at(ctx, b, 0.0, [100, 101, 0])
    ctx.env.run(until=100.0)
    assert states(ctx, "platform_event") == [DELIVERED, DROPPED, DELIVERED]
    assert stamps(ctx, "platform_event", "publish") == [1.0, None, 1.0]
    assert ctx.ledger.dropped_by_reason("platform_event", 100.0) == {"event_too_large": 1}
    assert [e.payload for _, e in q.items] == [{"n": 0}, {"n": 2}]
    r = [e.replay_id for _, e in q.items]
    assert r[0] < r[1]
    c = b.counts()
    assert (c["event_too_large"], c["publish_calls"], c["largest_publish_call"], c["published"]) == (1, 1, 3, 2)


def test_a_call_of_only_too_large_events_draws_no_transaction():
    ctx = context()
    b = bus(ctx, max_event_bytes=10, transaction_failure_rate=0.5)
    call_at(ctx, b, 0.0, [11, 12])
    ctx.env.run(until=10.0)
    assert b.rng_tx.random() == RandomStreams(1)("event_bus.transactions").random()  # not drawn yet
    assert (b.counts()["event_too_large"], b.counts()["largest_publish_call"]) == (2, 2)


@pytest.mark.parametrize("behavior", ["after_commit", "immediately"])
def test_a_rolled_back_call_counts_every_event_of_it(behavior):
    ctx = context()
    b = bus(ctx, transaction_failure_rate=1.0, publish_behavior=behavior, max_event_bytes=10)
    call_at(ctx, b, 0.0, [1, 2, 50])
    ctx.env.run(until=10.0)
    c = b.counts()
    if behavior == "after_commit":
        assert states(ctx, "platform_event") == [DROPPED] * 3
        assert ctx.ledger.dropped_by_reason("platform_event", 10.0) == {"rolled_back": 2, "event_too_large": 1}
        assert (c["rolled_back"], c["published_after_rollback"], c["published"]) == (2, 0, 0)
    else:
        assert states(ctx, "platform_event") == [DELIVERED, DELIVERED, DROPPED]
        assert (c["rolled_back"], c["published_after_rollback"], c["published"]) == (0, 2, 2)


def test_a_transaction_failure_rate_below_one_sometimes_rolls_back():
    """The rollback draw is ``random() < rate``: with the stream's first draws known, a rate just
    above a draw rolls that call back and one equal to it does not."""
    u = RandomStreams(1)("event_bus.transactions").random()
    for rate, state in [(u, DELIVERED), (min(u + 1e-9, 1.0), DROPPED)]:
        ctx = context()
        b = bus(ctx, transaction_failure_rate=rate, publish_behavior="after_commit")
        publish_at(ctx, b, [0.0])
        ctx.env.run(until=10.0)
        assert states(ctx, "platform_event") == [state], rate


def test_the_allocation_samples_at_zero_and_at_each_change_up_to_the_horizon():
    faults = [("event_bus", "allocation_cut", 0.0, 100.0, None, None, 3),
              ("event_bus", "allocation_cut", 200.0, 50.0, None, None, 4)]
    for horizon, want in [(250.0, [(0.0, 3), (100.0, 10), (200.0, 4), (250.0, 10)]),
                          (249.0, [(0.0, 3), (100.0, 10), (200.0, 4)])]:
        ctx = context(horizon=horizon, faults=faults)
        bus(ctx, publish_allocation_per_hour=10)
        assert ctx.series["publish_allocation"] == want


def test_the_used_allocation_is_sampled_at_each_publish_with_the_other_publishes():
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=10, other_publishes_per_hour=4)
    publish_at(ctx, b, [0.0, 1.0, HOUR_S, HOUR_S + 1])
    ctx.env.run(until=2 * HOUR_S)
    assert ctx.series["publish_allocation_used"] == [(0.0, 5), (1.0, 6), (HOUR_S, 6), (HOUR_S + 1, 6)]
    assert b.counts()["allocation_peak_per_hour"] == 6 and b.counts()["first_limit_exceeded_s"] is None


def test_a_retry_with_nothing_in_the_window_and_no_fault_change_tries_again_an_hour_later():
    """Other publishes use the whole allocation: the retried event is refused at 0, 1 h, 2 h ...
    and held by the bus all along; the first refusal's time is kept."""
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=2, other_publishes_per_hour=2, on_limit_exceeded="retry")
    publish_at(ctx, b, [10.0])
    ctx.env.run(until=2 * HOUR_S + 11)
    c = b.counts()
    assert (c["limit_exceeded"], c["retried_publishes"], c["published"], c["first_limit_exceeded_s"]) == \
        (3, 3, 0, 10.0)
    assert b.held(0.0)["platform_event"][0].tolist() == [0]
    assert states(ctx, "platform_event") == [IN_FLIGHT]


def test_a_retry_waits_for_the_sooner_of_the_window_and_the_end_of_a_cut():
    """Allocation 1, a cut to 0 during [100, 200): e0 at 0 fills the hour; e1 at 150 is refused
    (cut), retried at 200 (the cut's end, sooner than 3,600): refused (the hour is full), retried at
    3,600 when e0 leaves the window: published, stored at 3,601."""
    ctx = context(faults=[("event_bus", "allocation_cut", 100.0, 100.0, None, None, 0)])
    b = bus(ctx, publish_allocation_per_hour=1, on_limit_exceeded="retry")
    publish_at(ctx, b, [0.0, 150.0])
    ctx.env.run(until=2 * HOUR_S)
    assert stamps(ctx, "platform_event", "publish") == [1.0, HOUR_S + 1]
    c = b.counts()
    assert (c["limit_exceeded"], c["retried_publishes"], c["first_limit_exceeded_s"]) == (2, 2, 150.0)
    assert b.held(0.0)["platform_event"][0].tolist() == []


def test_an_event_being_published_is_held_then_not():
    ctx = context()
    b = bus(ctx)
    publish_at(ctx, b, [0.0])
    ctx.env.run(until=0.5)
    held = b.held(0.0)["platform_event"][0]
    assert held.tolist() == [0] and held.dtype == np.int64
    ctx.env.run(until=5.0)
    after = b.held(0.0)
    assert list(after) == ["platform_event"] and after["platform_event"][0].tolist() == []


def test_subscribers_of_one_kind_are_held_together_and_the_backlog_is_per_kind():
    ctx = context()
    b = bus(ctx)
    b.subscribe("flow", "crm")
    b.subscribe("flow", "crm2")
    publish_at(ctx, b, [0.0])
    ctx.env.run(until=10.0)
    held = b.held(0.0)
    assert [a.tolist() for a in held["flow"]] == [[0], [1]]
    assert b.backlog() == {"flow": 1}
    assert b.counts()["subscribers"] == ["flow", "flow"]


def test_the_delivery_allocation_with_nothing_asked_or_nothing_left():
    ctx = context()
    b = bus(ctx, delivery_allocation_per_day=2)
    assert b.take_deliveries(0, 0.0) == 0
    assert b.counts()["delivery_allocation_limited"] == 0 and "delivery_allocation_used" not in ctx.series
    assert b.take_deliveries(2, 1.0) == 2 and b.counts()["delivery_allocation_limited"] == 0
    assert b.take_deliveries(1, 2.0) == 0 and b.counts()["delivery_allocation_limited"] == 1
    assert ctx.series["delivery_allocation_used"] == [(1.0, 2)]
    assert b.deliveries_free_at(2.0) == 1.0 + 86400.0
    ctx = context()
    b = bus(ctx, delivery_allocation_per_day=0)
    assert b.take_deliveries(5, 0.0) == 0 and b.deliveries_free_at(3.0) == 3.0


def test_counts_name_every_figure():
    ctx = context()
    b = bus(ctx, publish_allocation_per_hour=1)
    b.subscribe("flow", "crm")
    publish_at(ctx, b, [0.0, 1.0])
    ctx.env.run(until=10.0)
    c = b.counts()
    assert c == {"channel": "Pricing_Visit__e", "published": 1, "limit_exceeded": 1, "retried_publishes": 0,
                 "rolled_back": 0, "published_after_rollback": 0, "event_too_large": 0, "publish_calls": 2,
                 "largest_publish_call": 1, "allocation_peak_per_hour": 1, "first_limit_exceeded_s": 1.0,
                 "delivery_allocation_limited": 0, "last_replay_id": b.replay_id, "subscribers": ["flow"]}


def test_named_subscribers_are_prefix_colon_name_and_only_pubsub_is_external():
    ctx = context(extra_kinds=[("apex:a", ("available", "run_start", "processed")),
                               ("pubsub:p", ("available", "fetched", "processed"))])
    b = bus(ctx)
    apex = ApexTrigger(ctx, b, ApexSpec(name="a"))
    client = PubSubClient(ctx, b, PubSubSpec(name="p"))
    assert (apex.kind, apex.target, apex.name) == ("apex:a", "apex:a", "apex:a")
    assert (client.kind, client.target, client.name) == ("pubsub:p", "pubsub:p", "pubsub:p")
    assert b.external == {"pubsub:p"}
    assert [q.kind for q in b.subscribers] == ["apex:a", "pubsub:p"]
    assert apex.queue is b.subscribers[0] and client.queue is b.subscribers[1]


def test_subscribing_to_the_bus_channel_by_name_is_accepted():
    ctx = context()
    b = bus(ctx, channel="Other__e")
    assert b.subscribe("flow", channel="Other__e").kind == "flow"
    with pytest.raises(ValueError) as err:
        b.subscribe("apex:y", channel="Pricing_Visit__e")
    assert str(err.value) == "apex:y subscribes to 'Pricing_Visit__e', but the bus carries 'Other__e'"


def _end_times(ctx, kind):
    table = ctx.ledger.table(kind)
    return [None if np.isnan(x) else float(x) for x in table.end_t[: table.n]]


def test_nothing_published_counts_zero_everywhere():
    ctx = context()
    b = bus(ctx)
    c = b.counts()
    assert (c["publish_calls"], c["largest_publish_call"], c["allocation_peak_per_hour"], c["published"]) == \
        (0, 0, 0, 0)
    held = b.held(0.0)["platform_event"][0]
    assert held.tolist() == [] and held.dtype == np.int64


def test_a_fault_change_within_the_first_second_is_sampled():
    ctx = context(faults=[("event_bus", "allocation_cut", 0.5, 0.25, None, None, 3)])
    bus(ctx, publish_allocation_per_hour=10)
    assert ctx.series["publish_allocation"] == [(0.0, 10), (0.5, 3), (0.75, 10)]


def test_the_first_event_can_be_available_within_the_first_second():
    ctx = context()
    b = bus(ctx, publish_latency=const(0.1), delivery_latency=const(0.2))
    q = b.subscribe("flow", "crm")
    publish_at(ctx, b, [0.0])
    ctx.env.run(until=10.0)
    assert [e.available_at for _, e in q.items] == [pytest.approx(0.3)]


def test_drops_and_deliveries_of_platform_events_carry_their_time():
    """Too large at 1, rolled back at 2, over the allocation at 3 (allocation 1, used at 0 by an
    event stored at 1 s and delivered then)."""
    ctx = context()
    b = bus(ctx, max_event_bytes=10, publish_allocation_per_hour=1)
    call_at(ctx, b, 0.0, [1])
    call_at(ctx, b, 1.0, [11])
    ctx.env.run(until=1.5)
    b.p = b.p.model_copy(update={"transaction_failure_rate": 1.0, "publish_behavior": "after_commit"})
    call_at(ctx, b, 2.0, [1])
    ctx.env.run(until=2.5)
    b.p = b.p.model_copy(update={"transaction_failure_rate": 0.0})
    call_at(ctx, b, 3.0, [1])
    ctx.env.run(until=10.0)
    assert _end_times(ctx, "platform_event") == [1.0, 1.0, 2.0, 3.0]
    assert ctx.ledger.dropped_by_reason("platform_event", 10.0) == \
        {"event_too_large": 1, "rolled_back": 1, "allocation": 1}


def test_rolled_back_events_add_up_over_calls():
    ctx = context()
    b = bus(ctx, transaction_failure_rate=1.0, publish_behavior="after_commit")
    call_at(ctx, b, 0.0, [1, 1])
    call_at(ctx, b, 1.0, [1])
    ctx.env.run(until=10.0)
    assert b.counts()["rolled_back"] == 3


def test_latencies_are_drawn_from_the_latency_stream_once_per_call_and_per_stored_event():
    """Log-normal latencies: one publish latency for a whole call (its events are stored together),
    then one delivery latency per stored event, in that order, from ``event_bus.latency``."""
    from sim.scenario.common import latency

    ctx = context()
    b = bus(ctx, publish_latency=latency(1.0, 3.0), delivery_latency=latency(2.0, 5.0))
    q = b.subscribe("flow", "crm")
    call_at(ctx, b, 0.0, [1, 1, 1])
    ctx.env.run(until=1000.0)
    g = RandomStreams(1)("event_bus.latency")
    pl, dl = b.p.publish_latency, b.p.delivery_latency
    stored = pl.median * np.exp(pl.sigma * g.standard_normal())
    available, last = [], 0.0
    for _ in range(3):
        last = max(stored + dl.median * np.exp(dl.sigma * g.standard_normal()), last)
        available.append(last)
    assert [e.published_at for _, e in q.items] == [pytest.approx(stored, rel=1e-12)] * 3
    assert [e.available_at for _, e in q.items] == pytest.approx(available, rel=1e-12)
    assert stamps(ctx, "flow", "available") == [round(float(a), 6) for a in available]
    assert _end_times(ctx, "platform_event") == [pytest.approx(stored, rel=1e-12)] * 3
