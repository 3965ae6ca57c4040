"""Edges of the ledger (sim.core.ledger): a message that ends or reaches a stage exactly at the
horizon has ended or reached it; a moment after, it is in flight; the conservation report and the
account of a loss name each message."""

import numpy as np
import pytest

from sim.core.ledger import DELIVERED, DROPPED, IN_FLIGHT, Ledger, LedgerError, check_conservation, describe_loss


def make():
    ledger = Ledger()
    ledger.register("msg", ["made", "mid", "end"])
    ledger.register("child", ["made"], parent_kind="msg")
    ids = ledger.create("msg", np.array([0.0, 1.0, 2.0, 3.0]))
    return ledger, ids


def test_an_end_exactly_at_the_horizon_counts_and_a_moment_later_is_in_flight():
    """``states_at`` and ``stage_times`` read as of the horizon, the horizon itself included."""
    ledger, ids = make()
    ledger.stamp("msg", "mid", ids, np.array([10.0, 10.0, 10.001, 5.0]))
    ledger.deliver("msg", ids[:2], np.array([10.0, 10.001]))
    ledger.drop("msg", ids[2:3], "retention", 10.0)
    assert ledger.states_at("msg", 10.0).tolist() == [DELIVERED, IN_FLIGHT, DROPPED, IN_FLIGHT]
    assert ledger.stage_times("msg", "mid", 10.0).tolist()[:2] == [10.0, 10.0]
    assert np.isnan(ledger.stage_times("msg", "mid", 10.0)[2])
    assert ledger.dropped_by_reason("msg", 10.0) == {"retention": 1}
    assert ledger.dropped_by_reason("msg", 9.999) == {}
    assert [ledger.last_stage("msg", i, 10.0) for i in range(4)] == ["mid", "mid", "made", "mid"]
    report = check_conservation(ledger, {"msg": [ids[1:2], ids[3:]]}, 10.0)
    assert report.ok and report.to_dict()["in_flight"] == 2
    assert ledger.digest(10.0) != ledger.digest(10.001)
    assert ledger.digest(10.0) == ledger.digest(10.0)


def test_a_loss_is_described_by_message_and_last_stage():
    """A message in flight that no actor holds is lost; one held but ended is a phantom; both named."""
    ledger, ids = make()
    ledger.stamp("msg", "mid", ids[:1], 1.0)
    ledger.deliver("msg", ids[3:], 4.0)
    report = check_conservation(ledger, {"msg": [ids[1:3], ids[3:]]}, 10.0)
    assert not report.ok and report.lost == {"msg": [0]} and report.phantom == {"msg": [3]}
    text = describe_loss(ledger, report, 10.0)
    assert text.splitlines() == [
        "conservation violated: created != delivered + dropped + in flight (held by actors)",
        "  msg: 3 in flight per ledger; not held by any actor: 0@mid",
        "  msg: held by an actor but already ended or never created: [3]"]


def test_unknown_ids_kinds_stages_and_parents_are_errors():
    """The ledger refuses what would corrupt it, naming the kind."""
    ledger, ids = make()
    with pytest.raises(LedgerError, match="unknown message id"):
        ledger.deliver("msg", np.array([4]), 1.0)
    with pytest.raises(LedgerError, match="unknown message id"):
        ledger.deliver("msg", np.array([-1]), 1.0)
    with pytest.raises(LedgerError, match="has no stage 'nope'"):
        ledger.stamp("msg", "nope", ids, 1.0)
    with pytest.raises(LedgerError, match="registered twice"):
        ledger.register("msg", ["a"])
    with pytest.raises(LedgerError, match="has no parent kind"):
        make()[0].create("msg", 1.0, parent=0)
    kids = ledger.create("child", np.array([1.0, 2.0]), parent=np.array([0, 3]))
    assert kids.tolist() == [0, 1] and ledger.table("child").parent[:2].tolist() == [0, 3]
    ledger.deliver("msg", np.array([], dtype=np.int64), 1.0)
    assert ledger.states_at("msg", 100.0).tolist() == [IN_FLIGHT] * 4
    big = ledger.create("msg", np.zeros(5000))
    assert big[-1] == 5003 and ledger.table("msg").n == 5004
