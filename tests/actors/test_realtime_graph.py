"""The real-time data graph actor on its own: tick boundaries, deduplication, the horizon."""

import numpy as np
import simpy

from sim.actors.base import RunContext
from sim.actors.data_cloud.realtime import RealtimeGraph
from sim.core.batch import Batch
from sim.core.ledger import DROPPED, IN_FLIGHT, Ledger
from sim.core.rng import RandomStreams
from sim.scenario.common import latency
from sim.scenario.data_cloud import Realtime

STAGES = ["click", "ingest", "graph", "identity", "insight"]


def rig(horizon=100.0, lat=0.1, tick=0.05):
    ledger = Ledger()
    ledger.register("click", STAGES, None)
    ctx = RunContext(simpy.Environment(), ledger, RandomStreams(1), horizon)
    got = []
    graph = RealtimeGraph(ctx, Realtime(enabled=True, latency=latency(lat, lat), tick=tick),
                          lambda b: got.append((ctx.env.now, b.ids.tolist(), b.t.tolist())))
    return ctx, graph, got


def accept(ctx, graph, times, event_ids=None):
    ids = ctx.ledger.create("click", np.asarray(times, dtype=float))
    ev = ids.copy() if event_ids is None else np.asarray(event_ids, dtype=np.int64)
    graph.submit(Batch({"id": ids, "t": np.asarray(times, dtype=float), "event_id": ev}))
    return ids


def test_each_event_is_handed_on_at_the_end_of_the_tick_it_reaches_the_graph_in():
    """With 100 ms latency and 50 ms ticks: an event reaching the graph at 0.149 goes at 0.15, one
    reaching it exactly at 0.15 belongs to the next tick (0.20); one tick's events go together."""
    ctx, graph, got = rig()
    accept(ctx, graph, [0.049, 0.0499, 0.05, 1.0])
    ctx.env.run(until=10)
    assert [(round(t, 9), ids) for t, ids, _ in got] == [(0.15, [0, 1]), (0.2, [2]), (1.15, [3])]
    assert all(tt == t for t, _, ts in got for tt in ts)  # the batch's time is the hand-over
    graph_t = ctx.ledger.table("click").view("graph")
    np.testing.assert_allclose(graph_t, [0.15, 0.15, 0.2, 1.15])
    assert graph.counts() == {"events": 4, "handovers": 3, "duplicates_dropped": 0}


def test_a_resent_event_is_dropped_once_seen_even_within_one_tick():
    ctx, graph, got = rig()
    accept(ctx, graph, [0.0, 0.01, 2.0], event_ids=[7, 7, 7])
    ctx.env.run(until=10)
    assert [ids for _, ids, _ in got] == [[0]]
    states = ctx.ledger.states_at("click", 10).tolist()
    assert states == [IN_FLIGHT, DROPPED, DROPPED]  # the first goes on (in flight until the insight)
    assert graph.counts()["duplicates_dropped"] == 2


def test_events_reaching_the_graph_after_the_horizon_are_held_in_flight():
    ctx, graph, got = rig(horizon=1.0)
    ids = accept(ctx, graph, [0.5, 0.95])  # reach the graph at 0.6 and 1.05
    ctx.env.run(until=1.0)
    assert [i for _, i, _ in got] == [[int(ids[0])]]
    held = np.concatenate(graph.held(1.0)["click"])
    assert held.tolist() == [int(ids[1])]
