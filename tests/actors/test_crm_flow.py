"""The CRM Flow subscriber (sim.actors.data_cloud.crm): batches of at most ``batch_size`` events
(doc: up to 2,000), concurrency, the batch time formula, faults (outage, error rate, slowdown),
faulted interviews, and what it holds at the horizon."""

import numpy as np

from sim.actors.data_cloud.crm import CrmFlow
from sim.actors.data_cloud.event_bus import EventBus
from sim.domain.population import build_population
from sim.scenario.data_cloud import Crm
from sim.scenario.data_cloud import EventBus as BusSettings
from tests.actors.rig import const, context, publish_at, stamps, states

IN_FLIGHT, DELIVERED, DROPPED = 0, 1, 2


def rig(n_events, batch_size=2, concurrency=1, faults=(), unknown=(), horizon=1e6, notify=1.0):
    ctx = context(horizon=horizon, faults=faults)
    bus = EventBus(ctx, BusSettings(publish_latency=const(1.0), delivery_latency=const(1.0)))
    pop = build_population(np.random.default_rng(0), prospects=3, anonymous=0, accounts=1, sales_reps=1,
                           hot_share=0.0, mean_devices=1.0)
    crm = Crm(flow={"batch_size": batch_size, "concurrency": concurrency, "batch_overhead": 0.5,
                    "owner_lookup": 0.1, "task_insert": 0.2, "notification": 0.1, "service_cv": 0.0},
              notification_latency=const(notify))
    flow = CrmFlow(ctx, crm, bus, pop)
    for i in range(n_events):
        contact = "003-unknown" if i in unknown else pop.contact_ids[i % 3]
        publish_at(ctx, bus, [0.0], {"ContactId__c": contact, "Action__c": "Pricing visit", "FiredAt__c": 0})
    return ctx, flow, pop


def held(flow, horizon):
    return sorted(int(i) for part in flow.held(horizon)["flow"] for i in part)


def test_regression_the_flow_takes_at_most_batch_size_events_per_batch():
    """Regression (issue 13): 5 events with a batch size of 2 run as 3 batches of 2, 2 and 1, one
    after another; the Flow took ``batch_size + 1`` events per batch."""
    ctx, flow, _ = rig(5, batch_size=2)
    ctx.env.run(until=100.0)
    # available at 2 s; a batch of n with n tasks takes 0.5 + 0.1 n + 0.3 n seconds
    assert stamps(ctx, "flow", "flow_start") == [2.0, 2.0, 3.3, 3.3, 4.6]
    assert stamps(ctx, "flow", "notification") == [4.3, 4.3, 5.6, 5.6, 6.5]
    assert flow.counts() == {"flow_batches": 3, "events_processed": 5, "tasks_created": 5,
                             "notifications_sent": 5, "flow_faults": 0, "failed_batches": 0, "largest_batch": 2,
                             "busy_s": 3.5}


def test_a_batch_of_exactly_batch_size_and_concurrent_batches():
    """Exactly ``batch_size`` events make one batch; with concurrency 2 two batches run at once."""
    ctx, flow, pop = rig(4, batch_size=4)
    ctx.env.run(until=100.0)
    assert flow.counts()["flow_batches"] == 1 and stamps(ctx, "flow", "flow_start") == [2.0] * 4
    ctx, flow, pop = rig(4, batch_size=2, concurrency=2)
    ctx.env.run(until=100.0)
    assert stamps(ctx, "flow", "flow_start") == [2.0] * 4
    assert stamps(ctx, "flow", "notification") == [4.3] * 4
    tasks = pop.org.tasks
    assert len(tasks) == 4 and all(t.priority == "High" and t.created_at == 3.3 for t in tasks)
    assert [n.target_id for n in pop.org.notifications] == [t.id for t in tasks]


def test_an_unknown_contact_is_a_faulted_interview_delivered_without_notification():
    """An event whose contact is unknown creates nothing: it ends at the commit, with no bell."""
    ctx, flow, _ = rig(2, batch_size=2, unknown={1})
    ctx.env.run(until=100.0)
    assert stamps(ctx, "flow", "notification") == [4.0, None]  # the batch: 0.5 + 2 x 0.1 + 1 x 0.3 s
    assert ctx.ledger.table("flow").end_t[:2].tolist() == [4.0, 3.0]
    assert states(ctx, "flow") == [DELIVERED, DELIVERED]
    c = flow.counts()
    assert (c["tasks_created"], c["flow_faults"], c["busy_s"]) == (1, 1, 1.0)


def test_an_error_rate_fault_rolls_back_the_batch_and_an_outage_only_delays():
    """Under ``error_rate`` 1 the batch's transaction fails: its events are dropped (``flow_error``)
    and nothing is created; an outage holds the Flow until it ends; a slowdown multiplies batch time."""
    ctx, flow, pop = rig(2, faults=[("crm", "error_rate", 0.0, 10.0, 1.0)])
    ctx.env.run(until=100.0)
    assert states(ctx, "flow") == [DROPPED, DROPPED] and pop.org.tasks == []
    assert flow.counts()["failed_batches"] == 1
    assert ctx.ledger.dropped_by_reason("flow", 100.0) == {"flow_error": 2}
    assert ctx.ledger.table("flow").end_t[:2].tolist() == [3.3, 3.3]  # dropped at the rollback
    ctx, flow, pop = rig(2, batch_size=1, faults=[("crm", "error_rate", 0.0, 2.5, 1.0)], unknown={1})
    ctx.env.run(until=100.0)
    assert states(ctx, "flow") == [DROPPED, DELIVERED]  # the Flow goes on after a failed batch
    assert flow.counts()["flow_faults"] == 1
    ctx, flow, _ = rig(3, batch_size=1, unknown={0, 2})
    ctx.env.run(until=100.0)
    assert flow.counts()["flow_faults"] == 2
    ctx, flow, _ = rig(2, faults=[("crm", "outage", 0.0, 50.0)])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "flow", "flow_start") == [50.0, 50.0]
    ctx, flow, _ = rig(1, faults=[("crm", "slowdown", 0.0, 10.0, None, 3.0)])
    ctx.env.run(until=100.0)
    assert stamps(ctx, "flow", "notification") == [2.0 + 3 * 0.9 + 1.0]


def test_regression_a_bell_shown_exactly_at_the_horizon_is_delivered_not_in_flight():
    """Regression (issue 13): a bell shown exactly at the horizon is delivered, neither held by the
    Flow nor in flight in the ledger; one shown later is held, and so is a batch still running."""
    ctx, flow, _ = rig(2, batch_size=1, notify=1.0)
    ctx.env.run(until=4.0)  # first batch 2.0-2.9, bell at 3.9; second 2.9-3.8, bell at 4.8
    assert held(flow, 4.0) == [1]
    ctx.env.run(until=4.8)
    assert held(flow, 4.8) == []
    assert states(ctx, "flow", 4.8) == [DELIVERED, DELIVERED]
    assert states(ctx, "flow", 4.79) == [DELIVERED, IN_FLIGHT]
    ctx, flow, _ = rig(1, batch_size=1)
    ctx.env.run(until=2.5)
    assert held(flow, 2.5) == [0]
