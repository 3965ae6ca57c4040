"""The delivery queue every bus subscriber reads (sim.actors.queue.DeliveryQueue): batch size,
availability, retention (72 h on the bus), outages, gates and allocations, each at its edge."""

from dataclasses import dataclass

import numpy as np
import simpy

from sim.actors.queue import DeliveryQueue
from sim.core.ledger import Ledger
from sim.domain.faults import Fault, FaultSchedule

RETENTION = 72 * 3600.0


@dataclass
class Item:
    available_at: float
    published_at: float = 0.0


def setup(n, retention=RETENTION, faults=None, available=0.0, published=0.0):
    env, ledger = simpy.Environment(), Ledger()
    ledger.register("flow", ["available", "done"])
    q = DeliveryQueue(env, ledger, "flow", faults, "crm", retention)
    for did in ledger.create("flow", np.zeros(n)):
        q.put(int(did), Item(available, published))
    return env, ledger, q


def taker(env, q, max_n, out, **kw):
    while True:
        batch = yield from q.take(max_n, **kw)
        out.append((env.now, [d for d, _ in batch]))


def test_regression_a_batch_holds_at_most_max_n_events():
    """Regression (issue 13): a subscriber takes at most ``batch_size`` events per batch (the Flow's
    2,000): 5 queued with a batch size of 2 make batches of 2, 2 and 1; it took ``batch_size + 1``."""
    env, _, q = setup(5)
    out = []
    env.process(taker(env, q, 2, out))
    env.run(until=10)
    assert out == [(0.0, [0, 1]), (0.0, [2, 3]), (0.0, [4])]
    env, _, q = setup(3)
    out = []
    env.process(taker(env, q, 3, out))
    env.run(until=10)
    assert out == [(0.0, [0, 1, 2])] and len(q) == 0


def test_only_available_items_are_taken_in_order_and_the_head_is_waited_for():
    """The batch stops at the first item not yet available; the subscriber waits until the head is
    available (exactly then, not earlier) and is woken by a put."""
    env, ledger = simpy.Environment(), Ledger()
    ledger.register("flow", ["available", "done"])
    q = DeliveryQueue(env, ledger, "flow")
    q.put(0, Item(5.0))
    q.put(1, Item(5.0))
    q.put(2, Item(7.0))
    out = []
    env.process(taker(env, q, 10, out))

    def late_put():
        yield env.timeout(20.0)
        q.put(3, Item(20.0))
    env.process(late_put())
    env.run(until=30)
    assert out == [(5.0, [0, 1]), (7.0, [2]), (20.0, [3])]
    assert q.ids().tolist() == [] and q.outage_waits == 0


def test_retention_drops_exactly_the_items_older_than_72_hours():
    """An item ``retention`` old when the subscriber gets to it is still delivered; one a moment
    older is dropped (``retention``) and never taken."""
    faults = FaultSchedule([Fault("crm", "outage", 0.0, RETENTION + 10.0)])
    env, ledger, q = setup(0, faults=faults)
    for did, pub in zip(ledger.create("flow", np.zeros(3)), (9.0, 10.0, 11.0)):
        q.put(int(did), Item(pub, pub))
    out = []
    env.process(taker(env, q, 10, out))
    env.run(until=RETENTION + 100)
    assert out == [(RETENTION + 10.0, [1, 2])]
    assert ledger.dropped_by_reason("flow", RETENTION + 100) == {"retention": 1}
    assert ledger.states_at("flow", RETENTION + 100).tolist() == [2, 0, 0]
    assert q.outage_waits == 1
    assert ledger.table("flow").end_t[0] == RETENTION + 10.0


def test_an_item_expired_when_it_becomes_available_is_dropped_not_taken():
    """An item first available after it outlived the retention is dropped when the subscriber gets
    to it, even exactly at its availability."""
    env, ledger, q = setup(0)
    for did, (avail, pub) in zip(ledger.create("flow", np.zeros(2)), ((RETENTION + 10, 0.0), (RETENTION + 10, 20.0))):
        q.put(int(did), Item(avail, pub))
    assert q.ids().tolist() == [0, 1] and q.ids().dtype == np.int64
    out = []
    env.process(taker(env, q, 10, out))
    env.run(until=RETENTION + 100)
    assert out == [(RETENTION + 10, [1])] and ledger.states_at("flow", RETENTION + 100).tolist() == [2, 0]


def test_each_outage_met_is_counted():
    """Every outage the subscriber runs into counts once in ``outage_waits``."""
    faults = FaultSchedule([Fault("crm", "outage", 0.0, 10.0), Fault("crm", "outage", 20.0, 10.0)])
    env, ledger, q = setup(1, faults=faults)
    out = []
    env.process(taker(env, q, 10, out))

    def later():
        yield env.timeout(25.0)
        q.put(int(ledger.create("flow", 25.0)[0]), Item(25.0))
    env.process(later())
    env.run(until=100)
    assert out == [(10.0, [0]), (30.0, [1])] and q.outage_waits == 2


def test_an_outage_holds_the_subscriber_until_it_ends():
    """During an outage of the target nothing is taken; the subscriber resumes exactly at its end."""
    faults = FaultSchedule([Fault("crm", "outage", 0.0, 50.0), Fault("crm", "outage", 50.0, 25.0)])
    env, _, q = setup(2, faults=faults)
    out = []
    env.process(taker(env, q, 10, out))
    env.run(until=200)
    assert out == [(75.0, [0, 1])] and q.outage_waits >= 1


def test_admit_limits_the_batch_and_blocks_until_the_allocation_frees():
    """An allocation that admits fewer than available takes that many; one that admits none blocks
    until ``blocked_until`` (at least a microsecond), then tries again."""
    env, _, q = setup(5)
    budget = {"left": 3}
    calls = []

    def admit(n, now):
        if now == 100.0 and budget["left"] == 0:
            budget["left"] = -1  # still used up at 100 exactly: retried a microsecond later
        elif now > 100.0:
            budget["left"] = 10
        k = min(n, max(budget["left"], 0))
        budget["left"] -= k
        calls.append((now, n, k))
        return k
    out = []
    env.process(taker(env, q, 4, out, admit=admit, blocked_until=lambda now: max(now, 100.0)))
    env.run(until=300)
    assert out == [(0.0, [0, 1, 2]), (100.000001, [3, 4])]
    assert calls == [(0.0, 4, 3), (0.0, 2, 0), (100.0, 2, 0), (100.000001, 2, 2)]


def test_admit_without_blocked_until_retries_a_second_later():
    """Without ``blocked_until`` a refused batch is retried one second later."""
    env, _, q = setup(1)
    seen = []

    def admit(n, now):
        seen.append(now)
        return 0 if now < 2.0 else n
    out = []
    env.process(taker(env, q, 4, out, admit=admit))
    env.run(until=10)
    assert seen == [0.0, 1.0, 2.0] and out == [(2.0, [0])]


def test_a_closed_gate_holds_the_subscriber_until_it_opens():
    """A gate returning an event holds the subscriber until that event fires."""
    env, _, q = setup(2)
    opened = env.event()
    state = {"closed": True}

    def gate():
        return opened if state["closed"] else None

    def opener():
        yield env.timeout(40.0)
        state["closed"] = False
        opened.succeed()
    out = []
    env.process(taker(env, q, 10, out, gate=gate))
    env.process(opener())
    env.run(until=100)
    assert out == [(40.0, [0, 1])]


def test_drain_returns_everything_and_appendleft_puts_back_at_the_head():
    """``drain`` waits for something and returns all queued; ``appendleft`` puts an item first."""
    env, _, q = setup(0)
    got = []

    def drainer():
        while True:
            batch = yield from q.drain()
            got.append((env.now, [d for d, _ in batch]))

    def feeder():
        yield env.timeout(3.0)
        q.put(1, Item(0.0))
        q.put(2, Item(0.0))
        q.appendleft(0, Item(0.0))
        yield env.timeout(4.0)
        q.put(3, Item(0.0))
    env.process(drainer())
    env.process(feeder())
    env.run(until=20)
    assert got == [(3.0, [0, 1, 2]), (7.0, [3])]
    assert len(q) == 0
