"""The summary's throughput counts and digest, read from a hand-built ledger (no simulation): a
stamp at the horizon counts, one after it or never reached does not; the digest is the ledger's."""

import numpy as np
import pytest

from sim.core.ledger import Ledger, check_conservation
from sim.results.run_result import RunResult

H = 100.0


def result() -> RunResult:
    led = Ledger()
    led.register("job", ["arrive", "done"])
    ids = led.create("job", [1.0, 2.0, 3.0, 4.0])
    led.stamp("job", "done", ids[:3], [H - 1e-9, H, H + 1e-9])  # the fourth never reaches 'done'
    led.deliver("job", ids[:3], [H - 1e-9, H, H + 1e-9])
    conservation = check_conservation(led, {"job": [ids[2:]]}, H)
    return RunResult("hand-built", "d", 1, H, led, conservation, counts={})


def test_a_stage_passed_at_the_horizon_counts_and_one_after_it_does_not():
    r = result()
    assert r.stage_throughput("job") == {"arrive": pytest.approx(4 / H), "done": pytest.approx(2 / H)}
    assert r._passed("job", None) == 2  # delivered by the horizon: the first two
    assert r._passed("absent", "done") == 0


def test_counts_are_computed_once_and_the_digest_is_the_ledgers():
    r = result()
    first = r.stage_throughput("job")
    r.ledger.table("job").stamp["done"][3] = 5.0  # a later change is not seen: the counts are cached
    assert r.stage_throughput("job") == first
    fresh = result()
    assert fresh.ledger_digest() == fresh.ledger.digest(H)
    assert fresh.ledger_digest() != Ledger().digest(H)
    assert np.isnan(fresh.ledger.table("job").stamp["done"][3])


def _lost_result(drops: list[tuple[list[float], str, float]], horizon: float = H) -> RunResult:
    """A ledger of three-stage jobs, each dropped with a reason at a time after some stamps."""
    led = Ledger()
    stages = ["arrive", "check", "send"]
    led.register("job", stages)
    for stamps, reason, at in drops:
        (i,) = led.create("job", [stamps[0]])
        for stage, t in zip(stages[1:], stamps[1:], strict=False):
            led.stamp("job", stage, [i], [t])
        led.drop("job", [i], reason, at)
    ended = np.arange(len(drops))[[at > horizon for *_, at in drops]]
    return RunResult("hand-built", "d", 1, horizon, led, check_conservation(led, {"job": [ended]}, horizon), counts={})


def test_the_last_stage_of_a_loss_counts_a_stamp_at_the_horizon_and_not_one_after_it():
    r = _lost_result([([1.0, H], "late", 50.0), ([1.0, H], "late", 50.0), ([1.0, H + 1e-9], "late", 50.0),
                      ([1.0, 2.0, H + 1e-9], "full", 60.0), ([1.0, 2.0, H + 1e-9], "full", H + 1.0)])
    detail = r.lost_detail().set_index("reason")
    assert detail.loc["late", "last_stage"] == "check" and detail.loc["late", "count"] == 3
    assert detail.loc["full", "last_stage"] == "check" and detail.loc["full", "count"] == 1  # one ends after H
    assert (detail.loc["full", "first_s"], detail.loc["full", "last_s"]) == (60.0, 60.0)
    assert (detail.loc["late", "first_s"], detail.loc["late", "last_s"]) == (50.0, 50.0)


def test_on_a_tie_the_last_stage_of_a_loss_is_the_earlier_one_and_the_table_is_cached():
    r = _lost_result([([1.0], "late", 5.0), ([1.0, 2.0], "late", 6.0), ([1.0, 2.0, 3.0], "full", 7.0),
                      ([1.0, 2.0, 3.0], "full", 8.0), ([1.0], "full", 9.0)])
    detail = r.lost_detail().set_index("reason")
    assert detail.loc["late", "last_stage"] == "arrive"
    assert detail.loc["full", "last_stage"] == "send" and detail.loc["full", "first_s"] == 7.0
    assert detail.loc["full", "last_s"] == 9.0
    mine = r.lost_detail()
    mine.loc[0, "count"] = 99  # a caller's change does not reach the cached table
    assert 99 not in r.lost_detail()["count"].tolist() and r.lost_detail() is not r.lost_detail()


def _old_lost_detail(r: RunResult) -> list[dict]:
    """The former formula (every stage column copied, masked at the horizon, stacked)."""
    from sim.core.ledger import DROPPED

    rows, h = [], r.horizon_s
    for kind, table in r.ledger.tables.items():
        dropped = np.flatnonzero(r.ledger.states_at(kind, h) == DROPPED)
        if not len(dropped):
            continue
        codes = table.reason[dropped]
        stamps = np.vstack([r.ledger.stage_times(kind, s, h)[dropped] for s in table.stages])
        reached = np.where(np.isfinite(stamps), np.arange(len(table.stages))[:, None], -1).max(axis=0)
        for code in np.unique(codes):
            sel = codes == code
            last = np.bincount(reached[sel] + 1).argmax() - 1
            rows.append({"kind": kind, "reason": r.ledger.reasons[code], "count": int(sel.sum()),
                         "first_s": float(table.end_t[dropped[sel]].min()),
                         "last_s": float(table.end_t[dropped[sel]].max()),
                         "last_stage": table.stages[last] if last >= 0 else "-"})
    return rows


def test_the_losses_match_the_former_formula_on_random_ledgers():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    when = st.sampled_from([0.5, 10.0, H - 1e-9, H, H + 1e-9, 150.0])
    drop = st.tuples(st.lists(when, min_size=1, max_size=3), st.sampled_from(["late", "full", "bad"]), when)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(drop, min_size=1, max_size=12))
    def check(drops):
        r = _lost_result(drops)
        assert r.lost_detail().to_dict("records") == _old_lost_detail(r)

    check()
