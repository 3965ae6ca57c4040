"""The bus's named subscribers: the Apex trigger (sim.actors.data_cloud.apex: batch size 1-2,000,
retries of the whole batch after a doubling, capped delay, at most 10 runs then the error state,
checkpoint and resume, partitions) and the Pub/Sub API client (sim.actors.data_cloud.pubsub: at
most 100 events per fetch, the rolling-24 h delivery allocation)."""

import numpy as np

from sim.actors.data_cloud.event_bus import DAY_S
from tests.actors import rig
from tests.actors.rig import stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2


def apex_rig(n, faults=(), times=None, **spec):
    """``n`` events published at 0 (or at ``times``) to the rig's Apex trigger."""
    return rig.apex_rig(times if times is not None else [0.0] * n, faults, **spec)


def test_apex_batches_hold_at_most_batch_size_events():
    """5 events with a batch size of 2 run as batches of 2, 2 and 1, each taking overhead + n x
    per-event seconds."""
    ctx, trig = apex_rig(5, batch_size=2)
    ctx.env.run(until=100.0)
    assert stamps(ctx, "apex:t", "run_start") == [2.0, 2.0, 4.0, 4.0, 6.0]
    assert stamps(ctx, "apex:t", "processed") == [4.0, 4.0, 6.0, 6.0, 7.5]
    c = trig.counts()
    assert (c["batches"], c["runs"], c["retries"], c["processed"], c["order_violations"]) == (3, 3, 0, 5, 0)


def test_the_tenth_failed_run_puts_the_trigger_in_error_state_after_doubling_capped_delays():
    """Every run failing: the batch is retried after 1, 2, 4, ... s (capped at ``retry_delay_max``);
    the 10th failed run (``max_runs``) puts the trigger in error state and the batch is lost."""
    ctx, trig = apex_rig(1, faults=[("apex:t", "error_rate", 0.0, 1e6, 1.0)], retry_delay_max=16.0)
    ctx.env.run(until=1000.0)
    # 10 runs of 1.5 s and 9 delays 1, 2, 4, 8, 16, 16, 16, 16, 16 from t = 2
    assert trig.error_since == 2.0 + 10 * 1.5 + 1 + 2 + 4 + 8 + 5 * 16
    c = trig.counts()
    assert (c["runs"], c["retries"], c["error_states"], c["in_error_state"]) == (10, 9, 1, True)
    assert ctx.ledger.dropped_by_reason("apex:t", 1000.0) == {"trigger_error_state": 1}


def test_max_runs_one_means_no_retry_and_a_success_on_the_last_run_is_processed():
    """With ``max_runs`` 1 the first failure is the error state; a batch that succeeds on its last
    allowed run is processed."""
    ctx, trig = apex_rig(1, faults=[("apex:t", "error_rate", 0.0, 1e6, 1.0)], max_runs=1)
    ctx.env.run(until=100.0)
    assert (trig.counts()["runs"], trig.counts()["retries"], trig.error_since) == (1, 0, 3.5)
    # failing until t = 7: runs at 2 (fails, ends 3.5), 4.5 (fails, ends 6), 8 (succeeds, ends 9.5)
    ctx, trig = apex_rig(1, faults=[("apex:t", "error_rate", 0.0, 7.0, 1.0)], max_runs=3)
    ctx.env.run(until=100.0)
    assert stamps(ctx, "apex:t", "processed") == [9.5] and trig.counts()["error_states"] == 0


def test_events_published_during_the_error_state_are_not_sent_and_a_resume_takes_the_checkpoint_first():
    """In error state the events published from then on are dropped (``trigger_error_state``); with
    ``resume_checkpoint`` the failed batch is kept and delivered first when an admin resumes."""
    ctx, trig = apex_rig(0, faults=[("apex:t", "error_rate", 0.0, 10.0, 1.0)], max_runs=1, resume_after=100.0,
                         resume_checkpoint=True, times=[0.0, 50.0])
    ctx.env.run(until=500.0)
    assert trig.error_since is None and trig.counts()["error_states"] == 1
    assert states(ctx, "apex:t") == [DELIVERED, DROPPED]
    assert stamps(ctx, "apex:t", "processed") == [103.5 + 1.5, None]  # resumed at 103.5


def test_partitions_route_by_a_stable_hash_of_the_key():
    """With partitions each event goes to ``crc32(key) % partitions``; order holds within each."""
    _ctx, trig = apex_rig(0, partitions=3, partition_key="ContactId__c")
    assert [trig.partition_of({"ContactId__c": k}) for k in ("a", "b", "c", "")] == \
        [__import__("zlib").crc32(k.encode()) % 3 for k in ("a", "b", "c", "")]
    assert trig.partition_of({}) == trig.partition_of({"ContactId__c": ""})


def pubsub_rig(n, allocation=50_000, fetch_size=100, faults=(), times=None):
    """``n`` events published at 0 (or at ``times``) to the rig's Pub/Sub client (0.01 s an event)."""
    return rig.pubsub_rig(times if times is not None else [0.0] * n, allocation, fetch_size, faults, per_event=0.01)


def test_a_fetch_returns_at_most_fetch_size_events():
    """Pub/Sub API flow control: 250 events with ``fetch_size`` 100 take fetches of 100, 100 and 50."""
    ctx, client, bus = pubsub_rig(250)
    ctx.env.run(until=100.0)
    fetched = np.array(stamps(ctx, "pubsub:c", "fetched"))
    assert [int((fetched == t).sum()) for t in np.unique(fetched)] == [100, 100, 50]
    assert stamps(ctx, "pubsub:c", "processed")[:2] == [2.51, 2.52]
    c = client.counts()
    assert (c["fetches"], c["processed"], c["allocation_waits"]) == (3, 250, 0)
    assert c["stored_replay_id"] == bus.replay_id  # the last event's


def test_the_client_waits_for_the_delivery_allocation_to_free():
    """With 3 deliveries per rolling 24 h, 5 events: 3 now, the other 2 exactly 24 h later."""
    ctx, client, bus = pubsub_rig(5, allocation=3)
    ctx.env.run(until=2 * DAY_S)
    fetched = stamps(ctx, "pubsub:c", "fetched")
    assert fetched == [2.5] * 3 + [2.0 + DAY_S + 0.5] * 2
    assert client.counts()["allocation_waits"] == 1
    assert bus.counts()["delivery_allocation_limited"] == 2
