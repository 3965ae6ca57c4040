"""Edges of the Apex trigger and the Pub/Sub API client (sim.actors.data_cloud.apex / pubsub),
expected values worked out by hand from the module docstrings with the rig's constant latencies
(publish 1 s, delivery 1 s; a run takes overhead 1 s + 0.5 s per event, no noise): an event
published exactly when the error state starts is not sent, one published just before waits; a
resumed checkpoint keeps replay order; a slowdown stretches a run; what the actors hold at each
moment; the client's fetch timing, its allocation waits and its reconnects after an outage."""

import numpy as np

from sim.actors.data_cloud.apex import ApexTrigger
from sim.actors.data_cloud.event_bus import DAY_S, EventBus
from sim.scenario.data_cloud import ApexTrigger as ApexSpec
from sim.scenario.data_cloud import EventBus as BusSettings
from tests.actors.rig import APEX, apex_rig, const, context, publish_at, pubsub_rig, stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2
ALWAYS_FAILING = ("apex:t", "error_rate", 0.0, 1e6, 1.0)


def _held(trigger):
    return sorted(np.concatenate(trigger.held(0.0)["apex:t"]).tolist())


def test_an_event_stored_exactly_when_the_error_state_starts_is_not_sent_one_before_waits():
    """e0 runs from 2 to 3.5 and fails (max_runs 1): error state at 3.5. e1 (published 2.5) is
    stored at 3.5, the error's start: dropped. e2 (published 2.4) is stored at 3.4: it waits in its
    partition while the trigger is stopped."""
    ctx, trig = apex_rig([0.0, 2.5, 2.4], faults=[ALWAYS_FAILING], max_runs=1)
    ctx.env.run(until=100.0)
    assert trig.error_since == 3.5 and trig.resumes_at is None
    # apex ledger ids in store order: e0 (1.0), e2 (3.4), e1 (3.5)
    assert states(ctx, "apex:t") == [DROPPED, IN_FLIGHT, DROPPED]
    assert ctx.ledger.dropped_by_reason("apex:t", 100.0) == {"trigger_error_state": 2}
    assert _held(trig) == [1]
    assert trig.counts() == {"batches": 1, "runs": 1, "retries": 0, "processed": 0, "error_states": 1,
                             "in_error_state": True, "order_violations": 0}


def test_a_resumed_checkpoint_goes_first_in_replay_order():
    """Batch size 2, three events available at 2: [e0, e1] runs 2 -> 4 and fails (max_runs 1, the
    fault ends at 3); the batch is kept; resume at 4 + 10 = 14: [e0, e1] again (in replay order, no
    order violation) 14 -> 16, then [e2] 16 -> 17.5."""
    ctx, trig = apex_rig([0.0, 0.0, 0.0], faults=[("apex:t", "error_rate", 0.0, 3.0, 1.0)], max_runs=1,
                         batch_size=2, resume_after=10.0, resume_checkpoint=True)
    ctx.env.run(until=10.0)
    assert trig.error_since == 4.0 and trig.resumes_at == 14.0
    assert _held(trig) == [0, 1, 2]  # the kept batch and the waiting event
    assert [d for d, _ in trig.kept] == [0, 1]
    ctx.env.run(until=100.0)
    assert stamps(ctx, "apex:t", "processed") == [16.0, 16.0, 17.5]
    assert states(ctx, "apex:t") == [DELIVERED] * 3
    assert trig.kept == [] and _held(trig) == []
    assert trig.counts() == {"batches": 3, "runs": 3, "retries": 0, "processed": 3, "error_states": 1,
                             "in_error_state": False, "order_violations": 0}


def test_a_second_error_state_keeps_only_its_own_batch():
    """Every run fails (max_runs 1, resume 10 s later, checkpoint): the batch is kept at 3.5,
    resumed at 13.5, fails again at 15: kept once, not twice."""
    ctx, trig = apex_rig([0.0], faults=[ALWAYS_FAILING], max_runs=1, resume_after=10.0,
                         resume_checkpoint=True)
    ctx.env.run(until=15.1)
    assert trig.counts()["error_states"] == 2 and trig.error_since == 15.0 and trig.resumes_at == 25.0
    assert [d for d, _ in trig.kept] == [0] and _held(trig) == [0]


def test_a_slowdown_stretches_the_run_and_a_batch_is_held_while_it_runs():
    ctx, trig = apex_rig([0.0, 0.0], faults=[("apex:t", "slowdown", 0.0, 1e6, None, 3.0)])
    ctx.env.run(until=3.0)
    assert sorted(trig.running) == [0] and _held(trig) == [0, 1]
    ctx.env.run(until=100.0)
    # one batch of 2 from 2: (1 + 2 x 0.5) x 3 = 6 s
    assert stamps(ctx, "apex:t", "run_start") == [2.0, 2.0]
    assert stamps(ctx, "apex:t", "processed") == [8.0, 8.0]
    assert trig.running == {} and _held(trig) == []


def test_retries_double_from_the_retry_delay_and_stop_at_the_cap():
    """Failing until 20: runs of 1.5 s from 2 with delays 3, 6, 7 (cap) between them:
    2 -> 3.5, 6.5 -> 8, 14 -> 15.5, 22.5 -> 24 (succeeds)."""
    ctx, trig = apex_rig([0.0], faults=[("apex:t", "error_rate", 0.0, 20.0, 1.0)], retry_delay=3.0,
                         retry_delay_max=7.0)
    ctx.env.run(until=100.0)
    assert stamps(ctx, "apex:t", "processed") == [24.0]
    assert (trig.counts()["runs"], trig.counts()["retries"]) == (4, 3)


def test_a_fetch_is_held_until_processed_then_the_next_one_starts():
    """Three events available at 2, fetch size 2: [e0, e1] fetched at 2.5, processed at 2.75 and
    3.0; [e2] fetched at 3.5, processed at 3.75."""
    ctx, client, bus = pubsub_rig([0.0, 0.0, 0.0], fetch_size=2)
    ctx.env.run(until=2.6)
    assert client.held(0.0)["pubsub:c"][0].tolist() == [0, 1]
    assert client.counts() == {"fetches": 1, "processed": 0, "reconnects": 0, "allocation_waits": 0,
                               "stored_replay_id": None}
    ctx.env.run(until=100.0)
    assert stamps(ctx, "pubsub:c", "fetched") == [2.5, 2.5, 3.5]
    assert stamps(ctx, "pubsub:c", "processed") == [2.75, 3.0, 3.75]
    held = client.held(0.0)["pubsub:c"][0]
    assert held.tolist() == [] and held.dtype == np.int64
    c = client.counts()
    assert (c["fetches"], c["processed"], c["allocation_waits"]) == (2, 3, 0)
    assert c["stored_replay_id"] == bus.replay_id
    assert states(ctx, "pubsub:c") == [DELIVERED] * 3


def test_an_allocation_of_exactly_the_events_needs_no_wait_and_one_less_waits_a_day():
    ctx, client, bus = pubsub_rig([0.0, 0.0], allocation=2)
    ctx.env.run(until=2 * DAY_S)
    assert client.counts()["allocation_waits"] == 0 and bus.counts()["delivery_allocation_limited"] == 0
    ctx, client, bus = pubsub_rig([0.0, 0.0], allocation=1)
    ctx.env.run(until=2 * DAY_S)
    assert stamps(ctx, "pubsub:c", "fetched") == [2.5, 2.0 + DAY_S + 0.5]
    assert client.counts()["allocation_waits"] == 1


def test_an_outage_disconnects_the_client_and_it_resumes_after_it():
    """Outage of the client from 1 to 10: the event available at 2 is fetched at 10.5."""
    ctx, client, _bus = pubsub_rig([0.0], faults=[("pubsub:c", "outage", 1.0, 9.0)])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "pubsub:c", "fetched") == [10.5]
    assert client.counts()["reconnects"] == 1


def _end_times(ctx, kind):
    table = ctx.ledger.table(kind)
    return [None if np.isnan(x) else float(x) for x in table.end_t[: table.n]]


def test_drops_and_deliveries_carry_their_time():
    ctx, _trig = apex_rig([0.0, 2.5, 2.4], faults=[ALWAYS_FAILING], max_runs=1)
    ctx.env.run(until=100.0)
    assert _end_times(ctx, "apex:t") == [3.5, None, 3.5]  # e0 at the error, e1 when stored (dispatch drains at once)
    ctx, _trig = apex_rig([0.0], max_runs=1)
    ctx.env.run(until=100.0)
    assert _end_times(ctx, "apex:t") == [3.5]


def test_every_event_of_a_drained_lot_is_dropped_in_the_error_state():
    """Three events stored together at 11 while the trigger is in error (since 3.5): all dropped."""
    ctx, trig = apex_rig([0.0, 10.0, 10.0, 10.0], faults=[ALWAYS_FAILING], max_runs=1)
    ctx.env.run(until=100.0)
    assert states(ctx, "apex:t") == [DROPPED] * 4
    assert ctx.ledger.dropped_by_reason("apex:t", 100.0) == {"trigger_error_state": 4}
    assert _held(trig) == []


def test_a_missing_partition_key_hashes_as_the_empty_text():
    _ctx, trig = apex_rig([], partitions=2)
    assert trig.partition_of({}) == 0 == trig.partition_of({"ContactId__c": ""})  # crc32(b"") = 0
    assert trig.partition_of({"ContactId__c": "None"}) == 1  # crc32(b"None") is odd
    assert trig.partition_of({"ContactId__c": 7}) == __import__("zlib").crc32(b"7") % 2


def test_the_run_time_is_multiplied_by_the_noise_drawn_from_the_trigger_stream():
    """service_cv 0.5: one standard normal z of the ``apex.t`` stream per run; a run of one event
    takes (1 + 0.5) x exp(sqrt(s2) z - s2 / 2) with s2 = ln(1 + 0.25)."""
    import math

    from sim.core.rng import RandomStreams

    ctx, _trig = apex_rig([0.0], service_cv=0.5)
    ctx.env.run(until=100.0)
    z = RandomStreams(1)("apex.t").standard_normal()
    s2 = math.log(1.25)
    assert stamps(ctx, "apex:t", "processed") == [round(2.0 + 1.5 * math.exp(math.sqrt(s2) * z - s2 / 2), 6)]


def test_a_run_fails_when_the_draw_is_below_the_rate_not_equal_to_it():
    """No noise: each run draws one uniform u from ``apex.t``; it fails when u < retryable_rate."""
    from sim.core.rng import RandomStreams

    u = RandomStreams(1)("apex.t").random()
    ctx, _trig = apex_rig([0.0], retryable_rate=u, max_runs=1)
    ctx.env.run(until=100.0)
    assert states(ctx, "apex:t") == [DELIVERED]
    ctx, _trig = apex_rig([0.0], retryable_rate=min(u + 1e-9, 1.0), max_runs=1)
    ctx.env.run(until=100.0)
    assert states(ctx, "apex:t") == [DROPPED]


def test_order_violations_count_each_event_behind_a_higher_replay_id():
    """Put out of order into a partition by hand (replay ids 5, 3, 2, 2, 9): 3 after 5 and 2 after 3
    are violations; 2 after 2 and 9 after 2 are not."""
    from sim.actors.data_cloud.event_bus import BusEvent

    ctx, trig = apex_rig([])
    for replay in [5, 3, 2, 2, 9]:
        pe = ctx.ledger.create("platform_event", 0.0)
        did = int(ctx.ledger.create("apex:t", 0.0, parent=pe)[0])
        trig.parts[0].put(did, BusEvent(int(pe[0]), "c", replay, "u", 0.0, 0.0, {}))
    ctx.env.run(until=100.0)
    assert trig.counts()["order_violations"] == 2 and trig.counts()["processed"] == 5


def test_an_outage_of_the_trigger_holds_its_partitions():
    """Outage of ``apex:t`` during [0, 10): the event available at 2 is run at 10."""
    ctx, _trig = apex_rig([0.0], faults=[("apex:t", "outage", 0.0, 10.0)])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "apex:t", "run_start") == [10.0] and stamps(ctx, "apex:t", "processed") == [11.5]


def test_events_waiting_in_a_partition_past_the_retention_are_gone_on_resume():
    """Retention 10 s; e0 fails (max_runs 1) at 3.5, resume at 23.5: e1 (published at 1, waiting in
    its partition) is 22.5 s old: dropped (``retention``), not run."""
    ctx = context(faults=[("apex:t", "error_rate", 0.0, 3.0, 1.0)], extra_kinds=[("apex:t", APEX)])
    bus = EventBus(ctx, BusSettings(publish_latency=const(1.0), delivery_latency=const(1.0), retention=10.0))
    trig = ApexTrigger(ctx, bus, ApexSpec(name="t", batch_overhead=1.0, per_event=0.5, service_cv=0.0,
                                          batch_size=1, max_runs=1, resume_after=20.0))
    publish_at(ctx, bus, [0.0, 0.0])
    ctx.env.run(until=100.0)
    assert ctx.ledger.dropped_by_reason("apex:t", 100.0) == {"trigger_error_state": 1, "retention": 1}
    assert _end_times(ctx, "apex:t") == [3.5, 23.5]
    assert trig.resumes_at is None and trig.error_since is None


def test_held_ids_are_int64_arrays_and_nothing_is_resumed_at_first():
    ctx, trig = apex_rig([0.0], faults=[ALWAYS_FAILING], max_runs=1, resume_after=50.0, resume_checkpoint=True)
    assert trig.resumes_at is None and trig.error_since is None
    for arrays in (trig.held(0.0)["apex:t"],):
        assert all(a.dtype == np.int64 for a in arrays)
    ctx.env.run(until=10.0)
    arrays = trig.held(0.0)["apex:t"]
    assert all(a.dtype == np.int64 for a in arrays) and _held(trig) == [0]


def test_the_client_holds_an_empty_int64_array_before_its_first_fetch():
    ctx, client, _bus = pubsub_rig([0.0])
    held = client.held(0.0)["pubsub:c"]
    assert len(held) == 1 and held[0].dtype == np.int64 and held[0].tolist() == []
    ctx.env.run(until=1.0)
    assert client.held(0.0)["pubsub:c"][0].tolist() == []


def test_each_event_is_delivered_at_its_own_processing_time():
    ctx, _client, _bus = pubsub_rig([0.0, 0.0, 0.0])
    ctx.env.run(until=100.0)
    assert _end_times(ctx, "pubsub:c") == [2.75, 3.0, 3.25]


def test_every_refusal_of_the_allocation_counts_as_a_wait():
    """One delivery per rolling day, three events available at 2: fetched at 2.5, then 1 day and
    2 days later, after two refusals."""
    ctx, client, _bus = pubsub_rig([0.0, 0.0, 0.0], allocation=1)
    ctx.env.run(until=3 * DAY_S)
    assert stamps(ctx, "pubsub:c", "fetched") == [2.5, DAY_S + 2.5, 2 * DAY_S + 2.5]
    assert client.counts()["allocation_waits"] == 2
