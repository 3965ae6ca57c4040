"""The ledger digest against an independent computation of what it documents: SHA-256 over each
kind (sorted), each stage column rounded to 9 decimals with stamps after the horizon blanked, the
states with ends after the horizon counted in flight, and the drop reasons."""

import hashlib

import numpy as np

from sim.core.ledger import DELIVERED, DROPPED, IN_FLIGHT, Ledger


def tiny() -> Ledger:
    ledger = Ledger()
    ledger.register("b", ["sent", "done"])
    ledger.register("a", ["made", "seen", "kept"])
    ids = ledger.create("a", np.array([0.0, 1.0000000001, 2.0, 3.0]))
    ledger.stamp("a", "seen", ids, np.array([0.5, 1.5000000001, 10.0, 3.5]))
    ledger.deliver("a", ids[:1], 0.5)
    ledger.drop("a", ids[1:2], "late", 1.5)
    ledger.deliver("a", ids[2:3], 10.0)  # exactly at the horizon: delivered
    ledger.drop("a", ids[3:], "outage", 10.5)  # after it: in flight at the horizon
    b = ledger.create("b", np.array([4.0]))
    ledger.stamp("b", "done", b, 12.0)
    return ledger


def expected(ledger: Ledger, horizon: float) -> str:
    h = hashlib.sha256()
    for kind in sorted(ledger.tables):
        table = ledger.tables[kind]
        h.update(kind.encode())
        for stage in table.stages:
            col = np.array(table.view(stage), dtype=float)
            col[col > horizon] = np.nan
            h.update(np.round(col, 9).tobytes())
        state = np.array(table.state[: table.n])
        state[table.end_t[: table.n] > horizon] = IN_FLIGHT
        h.update(state.tobytes())
        h.update(table.reason[: table.n].tobytes())
    return h.hexdigest()


def test_the_digest_is_what_it_documents():
    ledger = tiny()
    assert ledger.digest(10.0) == expected(ledger, 10.0)
    assert ledger.states_at("a", 10.0).tolist() == [DELIVERED, DROPPED, DELIVERED, IN_FLIGHT]


def test_the_digest_changes_with_the_horizon_and_the_ninth_decimal_only():
    ledger = tiny()
    assert ledger.digest(10.0) != ledger.digest(10.5)  # the last drop ends at 10.5
    assert ledger.digest(10.0) != ledger.digest(9.999)  # a delivery exactly at 10 is in it
    other = tiny()
    other.tables["a"].stamp["seen"][1] += 2e-10  # below the 9th decimal: the same run
    assert other.digest(10.0) == ledger.digest(10.0)
    other.tables["a"].stamp["seen"][1] += 2e-9
    assert other.digest(10.0) != ledger.digest(10.0)


def test_last_stage_and_the_conservation_summary():
    ledger = tiny()
    assert ledger.last_stage("a", 3, 3.2) == "made" and ledger.last_stage("a", 3, 3.5) == "seen"
    assert ledger.last_stage("b", 0, 5.0) == "sent" and ledger.last_stage("b", 0, 12.0) == "done"
    from sim.core.ledger import check_conservation

    report = check_conservation(ledger, {"a": [np.array([3])], "b": [np.array([0])]}, 10.0)
    assert report.to_dict() == {"created": 5, "delivered": 2, "dropped": {"late": 1}, "in_flight": 2, "ok": True}
