import numpy as np
import pytest

from sim.core.ledger import Ledger, LedgerError, check_conservation


def make():
    ledger = Ledger()
    ledger.register("msg", ["made", "mid", "end"])
    ids = ledger.create("msg", np.array([0.0, 1.0, 2.0, 3.0]))
    return ledger, ids


def test_a_message_ends_once():
    ledger, ids = make()
    ledger.deliver("msg", ids[:1], 5.0)
    with pytest.raises(LedgerError, match="already"):
        ledger.drop("msg", ids[:1], "allocation", 6.0)


def test_conservation_balances_when_actors_hold_the_rest():
    ledger, ids = make()
    ledger.deliver("msg", ids[:1], 5.0)
    ledger.drop("msg", ids[1:2], "allocation", 5.0)
    report = check_conservation(ledger, {"msg": [ids[2:]]}, horizon=10.0)
    assert report.ok and report.created == 4 and report.delivered == 1
    assert report.dropped == {"allocation": 1} and report.in_flight == 2


def test_conservation_names_lost_and_phantom_messages():
    ledger, ids = make()
    ledger.deliver("msg", ids[:1], 5.0)
    lost = check_conservation(ledger, {"msg": [ids[2:]]}, horizon=10.0)  # id 1 held by nobody
    assert not lost.ok and lost.lost == {"msg": [1]}
    phantom = check_conservation(ledger, {"msg": [ids[:]]}, horizon=10.0)  # id 0 already delivered
    assert not phantom.ok and phantom.phantom == {"msg": [0]}
    double = check_conservation(ledger, {"msg": [ids[1:], ids[1:2]]}, horizon=10.0)  # held twice
    assert not double.ok


def test_states_are_read_as_of_the_horizon():
    ledger, ids = make()
    ledger.stamp("msg", "mid", ids, np.array([1.0, 2.0, 20.0, 30.0]))
    ledger.deliver("msg", ids, np.array([2.0, 15.0, 25.0, 35.0]))
    report = check_conservation(ledger, {"msg": [ids[1:]]}, horizon=10.0)
    assert report.ok and report.delivered == 1 and report.in_flight == 3
    assert np.isnan(ledger.stage_times("msg", "mid", 10.0)[2])
