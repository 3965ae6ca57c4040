"""More edges of the ledger (sim.core.ledger), one documented rule per test: stages are distinct
and non-empty; an ``expected`` count is reserved in one step once the first 1,024 rows are full (no
copy while it is not exceeded) and a
table that outgrows it keeps every row; a message ends once, and the error names the first five
offenders; reads are as of the horizon; the digest covers every table as of the horizon only; the
conservation report sums the kinds and names at most 20 lost or phantom messages (10 in the text).
"""

import numpy as np
import pytest

from sim.core.ledger import (
    DELIVERED,
    DROPPED,
    IN_FLIGHT,
    Conservation,
    ConservationError,
    KindTable,
    Ledger,
    LedgerError,
    check_conservation,
    describe_loss,
    reserve_for,
)


def test_stages_must_be_distinct_and_non_empty():
    with pytest.raises(LedgerError) as err:
        KindTable("k", ["a", "a"])
    assert str(err.value) == "kind 'k': stages must be distinct and non-empty"
    with pytest.raises(LedgerError, match="distinct and non-empty"):
        Ledger().register("k", [])
    table = KindTable("k", ["a", "b"])
    assert table.stages == ["a", "b"] and table.n == 0 and table.parent is None and table.kind == "k"


def test_a_new_message_has_only_its_creation_stamp():
    ledger = Ledger()
    ledger.register("p", ["made", "end"])
    ledger.register("c", ["made", "end"], parent_kind="p")
    ids = ledger.create("c", 2.5)
    assert ids.dtype == np.int64 and ids.tolist() == [0]
    table = ledger.table("c")
    assert table.parent_kind == "p"
    assert ledger.stage_times("c", "made").tolist() == [2.5]
    assert np.isnan(ledger.stage_times("c", "end")).all()
    assert table.state[:1].tolist() == [IN_FLIGHT] and table.reason[:1].tolist() == [-1]
    assert np.isnan(table.end_t[0]) and table.parent[:1].tolist() == [-1]
    more = ledger.create("c", np.array([3.0, 4.0]), parent=7)
    assert more.tolist() == [1, 2] and table.parent[:3].tolist() == [-1, 7, 7]


def test_expected_messages_are_reserved_in_one_step_once_the_first_rows_are_full():
    """Nothing beyond 1,024 rows is allocated before the run writes (a process forked before the
    simulation then shares no large page with it); the first growth takes the whole reservation,
    so the expected messages never cost a second copy."""
    ledger = Ledger()
    table = ledger.register("k", ["made"], expected=5000)
    assert len(table.state) == 1024 and len(table.stamp["made"]) == 1024
    ledger.create("k", np.zeros(1024))
    assert len(table.state) == 1024  # full, not grown
    ledger.create("k", np.zeros(1))
    state, stamp = table.state, table.stamp["made"]
    assert len(state) == reserve_for(5000) and len(stamp) == reserve_for(5000)
    ledger.create("k", np.zeros(5000 - 1025))
    assert table.state is state and table.stamp["made"] is stamp  # not grown by a copy
    assert table.n == 5000 and (table.view("made") == 0).all()
    for one_at_a_time in (False, True):  # the one-message path takes the reservation too
        big = Ledger().register("k", ["made"], expected=100_000)
        led = Ledger()
        led.tables["k"] = big
        for _ in range(1025):
            (led.create_one("k", 0.0) if one_at_a_time else led.create("k", 0.0))
        state = big.state
        assert len(state) == reserve_for(100_000)
        led.create("k", np.zeros(100_000 - 1025))
        assert big.state is state and big.n == 100_000
    small = Ledger().register("k", ["made"], expected=float("inf"))
    assert len(small.state) == 1024
    tiny = Ledger()
    t = tiny.register("k", ["made"], expected=0)
    s = t.state
    tiny.create("k", np.zeros(1024))
    assert t.state is s  # the smallest table holds 1024 rows


def test_a_grown_table_keeps_every_row():
    ledger = Ledger()
    ledger.register("p", ["made"])
    table = ledger.register("k", ["made", "end"], parent_kind="p")
    ids = ledger.create("k", np.arange(1000, dtype=float), parent=np.arange(1000) % 3)
    ledger.stamp("k", "end", ids[:10], 50.0)
    ledger.deliver("k", ids[:5], 60.0)
    ledger.drop("k", ids[5:8], "late", 70.0)
    more = ledger.create("k", np.full(3000, 9.0))
    assert more[0] == 1000 and table.n == 4000 and len(table.state) >= 4000
    assert ledger.stage_times("k", "made")[:1000].tolist() == list(np.arange(1000.0))
    assert ledger.stage_times("k", "made")[1000:].tolist() == [9.0] * 3000
    end = ledger.stage_times("k", "end")
    assert end[:10].tolist() == [50.0] * 10 and np.isnan(end[10:]).all()
    assert table.state[:9].tolist() == [DELIVERED] * 5 + [DROPPED] * 3 + [IN_FLIGHT]
    assert (table.state[1000:4000] == IN_FLIGHT).all()
    assert table.reason[:9].tolist() == [-1] * 5 + [0] * 3 + [-1]
    assert (table.reason[1000:4000] == -1).all()
    assert table.end_t[:8].tolist() == [60.0] * 5 + [70.0] * 3 and np.isnan(table.end_t[8:4000]).all()
    assert table.parent[:1000].tolist() == (np.arange(1000) % 3).tolist()
    assert (table.parent[1000:4000] == -1).all()
    assert ledger.states_at("k", 100.0)[:9].tolist() == [DELIVERED] * 5 + [DROPPED] * 3 + [IN_FLIGHT]
    last = ledger.create("k", np.full(10_000, 1.0))  # grown again
    assert last[-1] == 13_999 and table.n == 14_000 and len(table.state) >= 14_000
    assert ledger.stage_times("k", "made")[999:1001].tolist() == [999.0, 9.0]


def test_reasons_get_codes_in_order_of_first_use():
    ledger = Ledger()
    assert [ledger.reason_code(r) for r in ("a", "b", "a", "c")] == [0, 1, 0, 2]
    assert ledger.reasons == ["a", "b", "c"]


def test_unknown_kinds_and_stages_are_named():
    ledger = Ledger()
    ledger.register("k", ["made", "end"])
    with pytest.raises(LedgerError) as err:
        ledger.table("nope")
    assert str(err.value) == "unknown message kind 'nope'"
    with pytest.raises(LedgerError) as err:
        ledger.stamp("k", "mid", [0], 1.0)
    assert str(err.value) == "kind 'k' has no stage 'mid'; stages: ['made', 'end']"
    with pytest.raises(LedgerError) as err:
        ledger.register("k", ["x"])
    assert str(err.value) == "kind 'k' registered twice"


def test_a_second_end_names_the_first_five_messages():
    ledger = Ledger()
    ledger.register("k", ["made"])
    ids = ledger.create("k", np.zeros(8))
    ledger.deliver("k", ids[:7], 1.0)
    with pytest.raises(LedgerError) as err:
        ledger.drop("k", ids, "x", 2.0)
    assert str(err.value) == "k: messages [0, 1, 2, 3, 4] already have a terminal state"
    # nothing was written by the refused call
    assert ledger.table("k").state[7] == IN_FLIGHT and ledger.reasons == ["x"]
    with pytest.raises(LedgerError) as err:
        ledger.deliver("k", [8], 1.0)
    assert str(err.value) == "k: unknown message id"
    ledger.deliver("k", [7], 3.0)  # the last id is known
    assert ledger.states_at("k", 3.0).tolist() == [DELIVERED] * 8


def test_stage_times_is_a_copy_and_view_is_not():
    ledger = Ledger()
    ledger.register("k", ["made"])
    ledger.create("k", np.array([1.0, 2.0]))
    copy = ledger.stage_times("k", "made")
    copy[0] = 99.0
    assert ledger.stage_times("k", "made").tolist() == [1.0, 2.0]
    assert ledger.stage_times("k", "made", horizon=1.5)[0] == 1.0
    view = ledger.table("k").view("made")
    view[0] = 5.0
    assert ledger.stage_times("k", "made").tolist() == [5.0, 2.0]


def test_drops_are_counted_by_reason_as_of_the_horizon():
    ledger = Ledger()
    ledger.register("k", ["made"])
    ids = ledger.create("k", np.zeros(6))
    ledger.drop("k", ids[:1], "a", 1.0)
    ledger.drop("k", ids[1:3], "b", 2.0)
    ledger.drop("k", ids[3:4], "c", 9.0)
    ledger.deliver("k", ids[4:5], 1.0)
    assert ledger.dropped_by_reason("k", 5.0) == {"a": 1, "b": 2}
    assert ledger.dropped_by_reason("k", 9.0) == {"a": 1, "b": 2, "c": 1}
    assert ledger.dropped_by_reason("k", 0.5) == {}


def test_last_stage_skips_unreached_and_later_stages():
    ledger = Ledger()
    ledger.register("k", ["a", "b", "c", "d"])
    ids = ledger.create("k", np.array([1.0, 1.0, 8.0]))
    ledger.stamp("k", "c", ids, np.array([3.0, 6.0, 9.0]))
    ledger.stamp("k", "d", ids[:1], 7.0)
    assert ledger.last_stage("k", 0, 5.0) == "c"  # b never reached, d later
    assert ledger.last_stage("k", 0, 7.0) == "d"
    assert ledger.last_stage("k", 1, 5.0) == "a"
    assert ledger.last_stage("k", 2, 5.0) == "a"  # not even created by then: the first stage


def build(late_delivery=False, early_value=1.0, late_stamp=20.0, kind="k", reason="r"):
    ledger = Ledger()
    ledger.register(kind, ["made", "end"])
    ids = ledger.create(kind, np.array([early_value, 2.0, 3.0]))
    ledger.stamp(kind, "end", ids[2:], late_stamp)
    ledger.drop(kind, ids[1:2], reason, 4.0)
    if late_delivery:
        ledger.deliver(kind, ids[:1], 30.0)
    return ledger


def test_the_digest_covers_every_table_as_of_the_horizon_only():
    base = build().digest(10.0)
    assert build().digest(10.0) == base
    assert len(base) == 64 and int(base, 16) >= 0
    # what happens after the horizon is not part of the digest
    assert build(late_delivery=True).digest(10.0) == base
    assert build(late_stamp=25.0).digest(10.0) == base
    # ... but is once the horizon passes it
    assert build(late_delivery=True).digest(40.0) != build().digest(40.0)
    assert build(late_stamp=25.0).digest(40.0) != build().digest(40.0)
    # any stamp, state, reason or kind before it is
    assert build(early_value=1.5).digest(10.0) != base
    assert build(late_stamp=5.0).digest(10.0) != base
    assert build(kind="j").digest(10.0) != base
    other = build()
    other.reasons[0] = "renamed"  # same code: same digest
    assert other.digest(10.0) == base
    coded = Ledger()
    coded.reason_code("first")
    coded.register("k", ["made", "end"])
    ids = coded.create("k", np.array([1.0, 2.0, 3.0]))
    coded.stamp("k", "end", ids[2:], 20.0)
    coded.drop("k", ids[1:2], "r", 4.0)  # code 1, not 0
    assert coded.digest(10.0) != base
    ended = build()
    ended.deliver("k", [0], 5.0)
    assert ended.digest(10.0) != base


def test_conservation_sums_the_kinds():
    ledger = Ledger()
    ledger.register("a", ["made"])
    ledger.register("b", ["made"])
    a = ledger.create("a", np.zeros(4))
    b = ledger.create("b", np.zeros(3))
    ledger.deliver("a", a[:1], 1.0)
    ledger.drop("a", a[1:2], "x", 1.0)
    ledger.drop("b", b[:2], "x", 1.0)
    ledger.drop("b", b[2:], "y", 1.0)
    report = check_conservation(ledger, {"a": [a[2:3], a[3:]]}, 5.0)
    assert report.ok and report.created == 7 and report.delivered == 1
    assert report.dropped == {"x": 3, "y": 1} and report.in_flight == 2 and report.held == 2
    assert report.by_kind == {
        "a": {"created": 4, "delivered": 1, "dropped": {"x": 1}, "in_flight": 2, "ok": True},
        "b": {"created": 3, "delivered": 0, "dropped": {"x": 2, "y": 1}, "in_flight": 0, "ok": True},
    }
    assert report.lost == {} and report.phantom == {}
    assert report.to_dict() == {"created": 7, "delivered": 1, "dropped": {"x": 3, "y": 1},
                                "in_flight": 2, "ok": True}
    assert list(report.to_dict()["dropped"]) == ["x", "y"]
    # one kind out of balance makes the run out of balance, and only that kind
    bad = check_conservation(ledger, {"a": [a[2:3]]}, 5.0)
    assert not bad.ok and bad.by_kind["a"]["ok"] is False and bad.by_kind["b"]["ok"] is True
    assert bad.held == 1 and bad.lost == {"a": [3]}
    # a message held twice is counted twice as held and breaks the balance
    twice = check_conservation(ledger, {"a": [a[2:], a[3:]]}, 5.0)
    assert not twice.ok and twice.held == 3 and twice.lost == {} and twice.phantom == {}


def test_the_report_lists_twenty_and_the_text_ten():
    ledger = Ledger()
    ledger.register("k", ["made", "mid"])
    ids = ledger.create("k", np.zeros(60))
    ledger.stamp("k", "mid", ids[:30], 1.0)
    ledger.deliver("k", ids[30:], 2.0)
    report = check_conservation(ledger, {"k": [ids[30:]]}, 5.0)
    assert report.lost == {"k": list(range(20))}
    assert report.phantom == {"k": list(range(30, 50))}
    lines = describe_loss(ledger, report, 5.0).splitlines()
    assert lines[1] == ("  k: 30 in flight per ledger; not held by any actor: "
                        + ", ".join(f"{i}@mid" for i in range(10)))
    assert lines[2] == f"  k: held by an actor but already ended or never created: {list(range(30, 40))}"
    assert len(lines) == 3
    assert describe_loss(ledger, report, 0.5).splitlines()[1].endswith("9@made")


def test_a_balanced_report_describes_no_kind():
    ledger = Ledger()
    ledger.register("k", ["made"])
    ids = ledger.create("k", np.zeros(2))
    report = check_conservation(ledger, {"k": [ids]}, 1.0)
    assert describe_loss(ledger, report, 1.0).splitlines() == [
        "conservation violated: created != delivered + dropped + in flight (held by actors)"]
    err = ConservationError("boom", report)
    assert err.report is report and str(err) == "boom"
    empty = check_conservation(ledger, {}, 1.0)
    assert not empty.ok and empty.held == 0 and empty.lost == {"k": [0, 1]}
    assert isinstance(empty, Conservation)


def test_reserve_for_an_estimate_and_a_table_adopted_only_empty_and_once():
    from sim.core.ledger import reserve_for

    assert reserve_for(0) == 1024 and reserve_for(float("inf")) == reserve_for(float("nan")) == 1024
    assert reserve_for(100_000) == 103_024
    ledger = Ledger()
    ledger.adopt(KindTable("k", ["made"]))
    with pytest.raises(LedgerError, match="registered twice"):
        ledger.adopt(KindTable("k", ["made"]))
    full = KindTable("j", ["made"])
    full.append(np.zeros(3))
    with pytest.raises(LedgerError, match="adopted empty"):
        ledger.adopt(full)


def test_a_refused_parent_leaves_the_table_as_it_was():
    ledger = Ledger()
    ledger.register("root", ["made"])
    with pytest.raises(LedgerError, match="has no parent kind"):
        ledger.create("root", [1.0, 2.0], parent=7)
    assert ledger.table("root").n == 0
