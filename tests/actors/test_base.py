"""What actors share (sim.actors.base): the timed hold's horizon edge, scheduling, id sets."""

import numpy as np
import pytest
import simpy

from sim.actors.base import IdSet, RunContext, TimedHold
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams


def test_a_message_released_exactly_at_the_horizon_is_not_held():
    """A timed hold holds the messages released strictly after the horizon; pruning at ``now``
    forgets the groups released by then (exactly then included)."""
    hold = TimedHold()
    hold.add(np.array([1, 2]), np.array([5.0, 10.0]))
    hold.add(np.array([3, 4]), np.array([10.0, 10.5]))
    hold.add(np.array([], dtype=np.int64), np.array([]))
    assert [a.tolist() for a in hold.held(10.0)] == [[4]]
    assert [a.tolist() for a in hold.held(9.99)] == [[2], [3, 4]]
    hold.prune(9.99)
    assert [a.tolist() for a in hold.held(0.0)] == [[1, 2], [3, 4]]
    hold.prune(10.0)
    assert [a.tolist() for a in hold.held(0.0)] == [[3, 4]]
    hold.prune(10.5)
    assert hold.held(0.0) == []


def test_at_calls_back_at_the_given_time_and_refuses_the_past():
    """``ctx.at`` runs a callback at an absolute time; a time in the past is an error."""
    ctx = RunContext(simpy.Environment(), Ledger(), RandomStreams(1), 100.0)
    seen = []
    ctx.at(5.0, lambda x: seen.append((ctx.env.now, x)), "a")
    ctx.env.run(until=6.0)
    assert seen == [(5.0, "a")]
    ctx.at(6.0, seen.append, "now")
    ctx.env.run(until=7.0)
    assert seen[-1] == "now"
    with pytest.raises(RuntimeError, match="cannot schedule in the past"):
        ctx.at(6.5, seen.append, "x")
    ctx.sample("s", 1.0, 2.0)
    ctx.sample("s", 2.0, 3.0)
    assert ctx.series == {"s": [(1.0, 2.0), (2.0, 3.0)]}


def test_id_set_lists_sorted_ids():
    s = IdSet()
    for i in (5, 1, 3):
        s.add(i)
    s.remove(3)
    assert len(s) == 2 and s.array().tolist() == [1, 5] and s.array().dtype == np.int64
