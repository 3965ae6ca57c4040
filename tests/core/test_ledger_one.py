"""The ledger's one-message path (``create_one``, ``stamp_one``, ``deliver_one``, ``drop_one``):
the same rows, digests and refusals as the array path, on a full and on an aggregate table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.folding import FoldingTable
from sim.core.ledger import DELIVERED, DROPPED, IN_FLIGHT, Ledger, LedgerError

STAGES = ["made", "sent", "done"]
H = 1000.0


def ledger(aggregate: bool = False) -> Ledger:
    led = Ledger()
    led.register("click", ["click"])
    if aggregate:
        led.adopt(FoldingTable("event", STAGES, H, capacity=8))
    else:
        led.register("event", STAGES, parent_kind="click", expected=0)
    return led


# one operation: (what, message number among those made, time)
ops_st = st.lists(st.tuples(st.sampled_from(["create", "stamp", "deliver", "drop"]), st.integers(-1, 8),
                            st.floats(0, 2 * H, allow_nan=False)), max_size=120)


def apply(led: Ledger, ops, one: bool, parents: bool) -> list[str]:
    """Run ``ops`` one message at a time or as one-element arrays; returns what each op did."""
    made, did = 0, []
    for what, k, t in ops:
        try:
            if what == "create":
                parent = k if parents else None
                if one:
                    i = led.create_one("event", t, parent=parent)
                else:
                    i = int(led.create("event", t, parent=parent)[0])
                assert i == made
                made += 1
            elif what == "stamp":
                (led.stamp_one("event", "sent", k, t) if one else led.stamp("event", "sent", np.array([k]), t))
            elif what == "deliver":
                (led.deliver_one("event", k, t) if one else led.deliver("event", np.array([k]), t))
            else:
                (led.drop_one("event", k, "lost", t) if one else led.drop("event", np.array([k]), "lost", t))
            did.append("ok")
        except (LedgerError, IndexError) as e:
            did.append(type(e).__name__)
    return did


@settings(max_examples=200, deadline=None)
@given(ops=ops_st)
def test_one_at_a_time_writes_the_rows_of_the_array_path(ops):
    by_array, by_one = ledger(), ledger()
    assert apply(by_array, ops, one=False, parents=True) == apply(by_one, ops, one=True, parents=True)
    a, b = by_array.table("event"), by_one.table("event")
    assert a.n == b.n
    for column in STAGES:
        np.testing.assert_array_equal(a.view(column), b.view(column))
    for name in ("state", "reason", "end_t", "parent"):
        np.testing.assert_array_equal(getattr(a, name)[: a.n], getattr(b, name)[: b.n])
    for horizon in (H / 2, H, 2 * H):
        assert by_array.digest(horizon) == by_one.digest(horizon)


@settings(max_examples=100, deadline=None)
@given(ops=ops_st)
def test_one_at_a_time_on_an_aggregate_table_writes_what_the_array_path_does(ops):
    ops = [(w, k, min(t, H)) for w, k, t in ops]  # an aggregate table takes no write past its horizon
    by_array, by_one = ledger(aggregate=True), ledger(aggregate=True)
    assert apply(by_array, ops, one=False, parents=False) == apply(by_one, ops, one=True, parents=False)
    by_array.finish()
    by_one.finish()
    assert by_array.digest(H) == by_one.digest(H)
    assert by_array.dropped_by_reason("event", H) == by_one.dropped_by_reason("event", H)


def test_a_message_ends_once_and_an_unknown_one_is_refused():
    led = ledger()
    i = led.create_one("event", 1.0, parent=0)
    j = led.create_one("event", 2.0, parent=0)
    assert (i, j) == (0, 1) and isinstance(i, int)
    led.stamp_one("event", "sent", i, 1.5)
    led.deliver_one("event", i, 3.0)
    t = led.table("event")
    assert t.state[i] == DELIVERED and t.end_t[i] == 3.0 and t.stamp["sent"][i] == 1.5
    with pytest.raises(LedgerError, match=r"already have a terminal state"):
        led.drop_one("event", i, "late", 4.0)
    led.drop_one("event", j, "late", 4.0)
    assert t.state[j] == DROPPED and led.reasons[t.reason[j]] == "late"
    for bad in (2, -1):  # the next id is not made yet; a negative one is never an id
        with pytest.raises(LedgerError, match=r"unknown message id"):
            led.deliver_one("event", bad, 5.0)
    with pytest.raises(LedgerError, match=r"no stage 'gone'"):
        led.stamp_one("event", "gone", i, 5.0)
    with pytest.raises(LedgerError, match=r"has no parent kind"):
        led.create_one("click", 1.0, parent=0)
    with pytest.raises(LedgerError, match=r"unknown message kind"):
        led.create_one("nothing", 1.0)
    assert led.table("click").n == 0  # the refused creation wrote nothing


def test_a_table_grows_when_one_message_at_a_time_fills_it():
    led = Ledger()
    table = led.register("event", STAGES)
    cap = len(table.state)
    for k in range(cap + 5):
        assert led.create_one("event", float(k)) == k
    assert table.n == cap + 5 and len(table.state) > cap
    np.testing.assert_array_equal(table.view("made"), np.arange(cap + 5, dtype=float))
    assert (table.state[: table.n] == IN_FLIGHT).all()
