"""The aggregate ledger's table (sim.core.folding), against a full ledger fed the same writes: the
counts, drops, throughput, queue lengths and in-flight messages are equal; the percentiles agree
to the histogram's resolution; a block folds exactly when its last message ends; a folded message
cannot be written again; the digest does not depend on when blocks were folded."""

import numpy as np
import pytest

from sim.core import folding
from sim.core.folding import BLOCK, FoldError, FoldingTable, LatencyHistogram
from sim.core.ledger import DELIVERED, DROPPED, IN_FLIGHT, Ledger, LedgerError, check_conservation
from sim.results.distribution import latency_stats
from sim.results.run_result import RunResult

STAGES = ["click", "ingest", "done"]
H = 1000.0


def pair(horizon: float = H) -> tuple[Ledger, Ledger]:
    full, agg = Ledger(), Ledger()
    full.register("click", STAGES)
    agg.adopt(FoldingTable("click", STAGES, horizon))
    return full, agg


def feed(ledgers, n: int, seed: int = 1, chunk: int = 5000) -> None:
    """The same writes into every ledger: creations, two stages, deliveries, drops, late ends."""
    rng = np.random.default_rng(seed)
    t0 = np.sort(rng.uniform(0, H, n))
    t1 = t0 + rng.lognormal(-1, 1, n)
    t2 = t1 + rng.exponential(20, n)
    fate = rng.random(n)
    for lo in range(0, n, chunk):
        ids = np.arange(lo, min(lo + chunk, n))
        for led in ledgers:
            led.create("click", t0[ids])
            led.stamp("click", "ingest", ids, t1[ids])
            gone = ids[fate[ids] < 0.05]
            led.drop("click", gone, "invalid_payload", t1[gone])
            ok = ids[(fate[ids] >= 0.05) & (fate[ids] < 0.99)]  # 1 % stay in flight
            led.stamp("click", "done", ok, t2[ok])
            led.deliver("click", ok, t2[ok])


def result_of(led: Ledger, horizon: float = H) -> RunResult:
    flying = np.flatnonzero(led.states_at("click", horizon) == IN_FLIGHT)
    report = check_conservation(led, {"click": [flying]}, horizon)
    assert report.ok
    led.finish()
    return RunResult("t", "d", 1, horizon, led, report, counts={})


def test_an_aggregate_table_answers_as_the_full_one_it_shadows():
    full, agg = pair()
    feed([full, agg], 3 * BLOCK + 123)
    a, b = result_of(full), result_of(agg)
    assert a.conservation.to_dict() == b.conservation.to_dict()
    assert a.stage_throughput("click") == b.stage_throughput("click")
    assert a.lost_detail().equals(b.lost_detail())
    assert np.array_equal(a.queue_series().to_numpy(), b.queue_series().to_numpy())
    assert np.array_equal(full.states_at("click", H), agg.states_at("click", H))
    assert np.array_equal(full.table("click").view("click"), agg.table("click").view("click"))
    for key in ("click->ingest", "ingest->done", "click->done"):
        exact, approx = a.stats(key), b.stats(key)
        assert approx["count"] == exact["count"] > 0
        assert approx["max"] == exact["max"]
        assert approx["mean"] == pytest.approx(exact["mean"], rel=1e-12)
        for q in ("p50", "p90", "p95", "p99"):
            assert approx[q] == pytest.approx(exact[q], rel=2.5e-3)


def test_stamps_and_ends_after_the_horizon_count_as_not_reached_and_in_flight():
    full, agg = pair(horizon=10.0)
    for led in (full, agg):
        ids = led.create("click", [1.0, 2.0, 3.0])
        led.stamp("click", "ingest", ids, [5.0, 10.0, 11.0])
        led.deliver("click", ids[:2], [10.0, 10.5])  # the second ends after the horizon
    a, b = result_of(full, 10.0), result_of(agg, 10.0)
    assert b.stage_throughput("click")["ingest"] == a.stage_throughput("click")["ingest"] == 2 / 10.0
    assert agg.states_at("click", 10.0).tolist() == [DELIVERED, IN_FLIGHT, IN_FLIGHT]
    assert b.stats("click->ingest")["count"] == 2 and b.stats("click->ingest")["max"] == 8.0


def test_a_block_folds_when_its_last_message_ends_and_not_before():
    _, agg = pair()
    table = agg.table("click")
    ids = agg.create("click", np.full(BLOCK + 10, 1.0))
    agg.deliver("click", ids[: BLOCK - 1], 2.0)
    assert table.base == 0  # one message of the first block still in flight
    agg.drop("click", ids[BLOCK: BLOCK + 10], "late", 2.0)  # the next block's ends do not fold the first
    assert table.base == 0
    agg.deliver("click", ids[BLOCK - 1: BLOCK], 3.0)
    assert table.base == BLOCK
    with pytest.raises(FoldError, match="already folded"):
        agg.stamp("click", "ingest", [5], 4.0)
    with pytest.raises(LedgerError, match="already have a terminal state"):
        agg.deliver("click", [5], 4.0)
    agg.stamp("click", "ingest", [BLOCK + 3], 4.0)  # the live window is still writable
    agg.stamp("click", "click", [5], 0.5)  # and the first stage is kept for every message


def test_the_digest_does_not_depend_on_how_the_writes_were_batched():
    _, one = pair()
    _, other = pair()
    feed([one], 2 * BLOCK + 7, chunk=7000)
    feed([other], 2 * BLOCK + 7, chunk=BLOCK // 3)
    ra, rb = result_of(one), result_of(other)
    assert ra.ledger_digest() == rb.ledger_digest()
    _, changed = pair()
    feed([changed], 2 * BLOCK + 7, seed=2)
    assert result_of(changed).ledger_digest() != ra.ledger_digest()


def test_what_an_aggregate_table_cannot_answer_is_refused_by_name():
    _, agg = pair()
    feed([agg], 100)
    r = result_of(agg)
    with pytest.raises(FoldError, match="stage times of 'click' messages are aggregated"):
        agg.stage_times("click", "ingest", H)
    with pytest.raises(FoldError, match="no per-message latencies"):
        r.latency("click->done")
    with pytest.raises(FoldError, match="warm-up"):
        r.stats("click->done", since=10.0)
    with pytest.raises(FoldError, match="as of its run's horizon"):
        agg.states_at("click", H / 2)
    with pytest.raises(FoldError, match="digest is as of its run's horizon"):
        agg.digest(H / 2)
    with pytest.raises(FoldError, match="its own grid"):
        r.occupancy("click", "click", "ingest", np.linspace(0, H, 10))
    with pytest.raises(FoldError, match="the run is over"):
        agg.create("click", [1.0])
    with pytest.raises(LedgerError, match="without parents"):
        agg.adopt(FoldingTable("event", ["a", "b"], H, parent_kind="click"))


def test_memory_is_the_compact_columns_plus_a_bounded_live_window():
    _, agg = pair()
    feed([agg], 12 * BLOCK)  # 1 % of the messages never end: every block keeps some in flight
    table = agg.table("click")
    assert table.n - table.base <= folding.MAX_LIVE  # the window folded its oldest blocks anyway
    assert table.base >= 12 * BLOCK - folding.MAX_LIVE
    assert 0.005 * table.base < len(table.waiting) < 0.02 * table.base  # their in-flight messages wait aside
    live = table.memory_bytes() - len(table.state) * (8 + 1 + 2)
    assert live < 40 * folding.MAX_LIVE * 3


def test_a_message_folded_while_in_flight_is_written_and_ended_later_as_a_full_ledger_would():
    full, agg = pair()
    n = folding.MAX_LIVE + 2 * BLOCK
    for led in (full, agg):
        ids = led.create("click", np.linspace(0, 100, n))
        led.deliver("click", ids[1:], 101.0)  # message 0 stays in flight while the window slides
    assert agg.table("click").base >= 2 * BLOCK and 0 in agg.table("click").waiting
    assert agg.last_stage("click", 0, H) == "click"
    for led in (full, agg):
        led.stamp("click", "ingest", [0], 200.0)
        led.stamp("click", "done", [0], 250.0)
    assert agg.last_stage("click", 0, H) == "done"
    for led in (full, agg):
        led.drop("click", [0], "rate_limited", 260.0)
    assert 0 not in agg.table("click").waiting
    with pytest.raises(FoldError, match="already folded"):
        agg.stamp("click", "ingest", [0], 270.0)
    a, b = result_of(full), result_of(agg)
    assert a.conservation.to_dict() == b.conservation.to_dict()
    assert a.lost_detail().equals(b.lost_detail())
    assert a.stage_throughput("click") == b.stage_throughput("click")
    assert a.stats("ingest->done")["count"] == b.stats("ingest->done")["count"] == 1


def test_messages_still_in_flight_at_the_end_are_counted_from_where_they_wait():
    full, agg = pair()
    n = folding.MAX_LIVE + BLOCK
    for led in (full, agg):
        ids = led.create("click", np.linspace(0, 100, n))
        led.stamp("click", "ingest", ids, 150.0)
        led.deliver("click", ids[5:], 300.0)  # 0-4 wait, in flight, through the end
    assert len(agg.table("click").waiting) == 5
    a, b = result_of(full), result_of(agg)
    assert a.conservation.to_dict() == b.conservation.to_dict()
    assert np.array_equal(a.queue_series().to_numpy(), b.queue_series().to_numpy())
    assert a.stats("click->ingest")["count"] == b.stats("click->ingest")["count"] == n


@pytest.mark.parametrize("values", [
    np.array([0.0, 0.0, 0.0]),
    np.array([5.0]),
    np.array([1e-12, 3e-9, 0.5, 7.0, 2e9]),  # below the first edge, then spread over the decades
    np.random.default_rng(3).lognormal(0, 2, 5000),
])
def test_histogram_percentiles_track_numpys_within_the_bin_resolution(values):
    hist = LatencyHistogram()
    hist.add(values[: len(values) // 2])
    hist.add(values[len(values) // 2:])
    exact, approx = latency_stats(values), hist.stats()
    assert approx["count"] == exact["count"] and approx["max"] == exact["max"]
    assert approx["mean"] == pytest.approx(exact["mean"], rel=1e-12)
    for q in ("p50", "p90", "p95", "p99"):
        assert approx[q] == pytest.approx(exact[q], rel=2.5e-3, abs=1e-9)
    levels = np.array([0.001, 0.5, 1.0])
    assert np.allclose(hist.quantiles(levels), np.quantile(values, levels, method="inverted_cdf"), rtol=2.5e-3,
                       atol=1e-9)


def test_an_empty_histogram_has_no_percentiles():
    assert LatencyHistogram().stats() == latency_stats(np.empty(0))


def test_drops_keep_their_reason_times_and_last_stage():
    full, agg = pair()
    for led in (full, agg):
        ids = led.create("click", [1.0, 2.0, 3.0, 4.0])
        led.stamp("click", "ingest", ids[:2], [1.5, 2.5])
        led.drop("click", ids[:3], "rate_limited", [2.0, 3.0, 3.5])
        led.drop("click", ids[3:], "invalid_payload", 4.5)
    a, b = result_of(full), result_of(agg)
    assert a.lost_detail().equals(b.lost_detail())
    row = b.lost_detail().set_index("reason").loc["rate_limited"]
    assert (row["count"], row["first_s"], row["last_s"], row["last_stage"]) == (3, 2.0, 3.5, "ingest")
    assert (agg.states_at("click", H) == DROPPED).sum() == 4


def test_the_block_size_is_a_power_of_two_and_the_grid_the_queue_series_default():
    assert BLOCK & (BLOCK - 1) == 0
    assert folding.GRID_POINTS == RunResult.queue_series.__defaults__[0]


def test_a_live_message_ending_exactly_at_the_horizon_has_ended_and_one_just_after_is_in_flight():
    _, agg = pair(horizon=10.0)
    ids = agg.create("click", [1.0, 2.0])
    agg.deliver("click", ids, [10.0, np.nextafter(10.0, 11.0)])
    assert agg.table("click").base == 0  # still live: answered from the live window
    assert agg.states_at("click", 10.0).tolist() == [DELIVERED, IN_FLIGHT]


def test_the_window_folds_its_oldest_block_only_beyond_its_size():
    _, agg = pair()
    table = agg.table("click")
    agg.create("click", np.zeros(folding.MAX_LIVE))  # nothing ended: the window is full, not over
    assert table.base == 0 and not table.waiting
    agg.create("click", [0.0])
    assert table.base == BLOCK and len(table.waiting) == BLOCK


def test_the_digest_sees_a_single_stage_time():
    digests = []
    for late in (5.0, 5.5):
        _, agg = pair()
        ids = agg.create("click", [1.0, 2.0])
        agg.stamp("click", "ingest", ids, [3.0, late])
        agg.deliver("click", ids, 6.0)
        digests.append(result_of(agg).ledger_digest())
    assert digests[0] != digests[1]


def test_queue_lengths_count_a_stamp_exactly_on_a_grid_point_as_the_full_ledger_does():
    full, agg = pair()
    grid = np.linspace(0.0, H, folding.GRID_POINTS)
    for led in (full, agg):
        ids = led.create("click", grid[[0, 5, 9]])
        led.stamp("click", "ingest", ids, grid[[5, 9, 20]])
        led.stamp("click", "done", ids[:2], grid[[6, 30]])
        led.deliver("click", ids[:2], grid[[6, 30]])
    a, b = result_of(full), result_of(agg)
    assert np.array_equal(a.queue_series().to_numpy(), b.queue_series().to_numpy())
    assert b.occupancy("click", "click", "ingest", grid)[5] == 1  # entered at 0, left at point 5; 1 entered at 5


def test_the_last_stage_of_a_drop_reason_is_the_most_common_over_every_block():
    full, agg = pair()
    for led in (full, agg):
        first = led.create("click", np.ones(BLOCK))
        led.stamp("click", "ingest", first[:3], 2.0)
        led.drop("click", first[:3], "late", 3.0)  # three reached ingest, in the first block
        led.deliver("click", first[3:], 3.0)
        second = led.create("click", np.ones(BLOCK))
        led.drop("click", second[:1], "late", 3.0)  # one reached only click, in the second
        led.deliver("click", second[1:], 3.0)
    assert agg.table("click").base == 2 * BLOCK
    a, b = result_of(full), result_of(agg)
    assert a.lost_detail().equals(b.lost_detail())
    assert b.lost_detail().set_index("reason").loc["late", "last_stage"] == "ingest"


def test_histogram_values_at_bin_middles_give_numpys_percentiles_exactly_and_zeros_stay_zero():
    edges = LatencyHistogram.EDGES
    middles = np.sqrt(edges[1:-1] * edges[2:])[[100, 4000, 9000, 9001, 12345]]  # one per bin
    values = np.repeat(middles, [3, 1, 4, 1, 5])
    hist = LatencyHistogram()
    hist.add(values)
    exact = latency_stats(values)
    for q in ("p50", "p90", "p95", "p99"):
        assert hist.stats()[q] == pytest.approx(exact[q], rel=1e-12)
    assert np.allclose(hist.quantiles(np.array([0.2, 0.5, 1.0])),
                       np.quantile(values, [0.2, 0.5, 1.0], method="inverted_cdf"), rtol=1e-12, atol=0)
    zeros = LatencyHistogram()
    zeros.add(np.zeros(3))
    zeros.add(np.zeros(2))
    assert zeros.stats()["p50"] == zeros.stats()["p99"] == 0.0


def test_memory_is_eleven_bytes_a_message_slot_and_eight_per_live_slot_and_column():
    _, agg = pair()
    table = agg.table("click")
    slots, live = len(table.state), table._live_cap
    assert table.memory_bytes() == 11 * slots + 8 * live * 3  # ingest, done and the end time live
    agg.create("click", np.zeros(folding.MAX_LIVE + 1))  # one block waits aside, all in flight
    assert len(table.waiting) == BLOCK
    assert table.memory_bytes() == 11 * len(table.state) + 8 * table._live_cap * 3 + BLOCK * (100 + 8 * 3)


def test_the_refusals_say_what_and_why():
    _, agg = pair(horizon=10.0)
    ids = agg.create("click", [1.0])
    with pytest.raises(FoldError) as no_stage:
        agg.stamp("click", "nowhere", ids, 2.0)
    assert str(no_stage.value) == "kind 'click' has no stage 'nowhere'; stages: ['click', 'ingest', 'done']"
    with pytest.raises(FoldError) as early:
        agg.table("click").lost_rows([])
    assert str(early.value) == "click: the aggregates are read once the run is over"
    with pytest.raises(FoldError) as view:
        agg.table("click").view("ingest")
    assert str(view.value) == ("the stage times of 'click' messages are aggregated (aggregate ledger): only 'click' "
                               "is kept per message")
    with pytest.raises(FoldError) as horizon:
        agg.states_at("click", 5.0)
    assert str(horizon.value) == "an aggregate ledger answers as of its run's horizon (10 s), not 5 s"
    agg.deliver("click", ids, 2.0)
    agg.finish()
    with pytest.raises(FoldError) as over:
        agg.stamp("click", "ingest", ids, 3.0)
    assert str(over.value) == "click: the run is over; its aggregates are final"
    with pytest.raises(FoldError) as end_t:
        agg.table("click").end_t  # noqa: B018
    assert str(end_t.value) == "the end times of 'click' messages are aggregated (aggregate ledger)"
    with pytest.raises(FoldError, match="stages must be distinct and non-empty"):
        folding.FoldingTable("x", ["a", "a"], 10.0)
