"""Web traffic and its admission aside (sim.actors.data_cloud.traffic_aside): a forked child answers
the ingestion's hand-overs with the very answers its door would give, whatever the hand-over times
(the ingestion's own, others, the same twice), through the shared buffer or the pipe, in overload
(429s, retries) and with several records a request; at the end the door, visitors and ground-truth
tap take on the state the child reached; a child that dies, is ended early or is asked off its
schedule is replayed; a whole run keeps its digest, counts and summary."""

import multiprocessing
import os
import signal
import sys

import numpy as np
import pytest

import sim
from sim.actors.data_cloud import traffic_aside
from sim.actors.data_cloud.admission import Admission
from sim.actors.data_cloud.traffic_aside import TrafficAside, draw_aside, next_hand_over
from sim.actors.data_cloud.visitors import ScriptedClicks, WebVisitors
from sim.scenario.load import load
from sim.systems.data_cloud import SYSTEM
from tests.conftest import DEFAULT, SCENARIOS, child_dies_with_parent, process_alive

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")

HORIZON = 3600.0
NORMAL = {"horizon": f"{HORIZON:g}s", "visitors.rate_per_s": 6, "ingestion.flush_interval": "180s"}
# offered load about twice the limit: 429s, retries, drops; and requests of several records
OVERLOAD = {**NORMAL, "visitors.rate_per_s": 12, "ingestion.rate_limit_per_s": 30, "ingestion.burst": 5,
            "ingestion.retry.max_attempts": 3}
BATCHED = {**OVERLOAD, "ingestion.records_per_request": 4, "ingestion.request_linger": "3s",
           "ingestion.rate_limit_per_s": 8}
SETTINGS = {"normal": NORMAL, "overload": OVERLOAD, "batched": BATCHED}


def door(overrides: dict, seed: int = 5) -> Admission:
    """The ingestion's door of a built (not run) pipeline, its visitors and ground-truth tap attached."""
    pipe = SYSTEM.build(load(DEFAULT, overrides), seed)
    assert type(pipe.ingestion.door) is Admission and type(pipe.ingestion.door.source) is WebVisitors
    return pipe.ingestion.door


REGULAR = [180.0 * k for k in range(1, 20)] + [HORIZON, HORIZON]  # as the ingestion asks
TIMES = {
    "the ingestion's": REGULAR,
    "irregular": [100.0, 100.0, 250.0, 900.0, 905.0, 1000.0, 2990.0, 3000.0, HORIZON, HORIZON],
    "off after a while": [180.0, 360.0, 540.0, 600.0, 700.0, 1700.0, 1750.0, HORIZON],
}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[c].dtype == b[c].dtype and np.array_equal(a[c], b[c], equal_nan=True)
                                        for c in a)


def same_state(here: Admission, there: Admission | TrafficAside) -> None:
    """The door's counts and held clicks, the visitors' counts, the ground truth: all alike."""
    assert np.array_equal(here.counts_array(), there.counts_array())
    assert all(np.array_equal(a, b) for a, b in zip(here.held(), there.held(), strict=True))
    assert here.source.counts() == there.source.counts()
    (truth,), (other,) = here.observers, there.observers
    assert all(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
               for a, b in zip(truth.views(), other.views(), strict=True))
    assert len(truth.views()[0]) > 10
    ids = np.arange(here.numbered + 2) - 1
    assert np.array_equal(truth.person_of(ids), other.person_of(ids))


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("times", TIMES.values(), ids=TIMES.keys())
def test_the_child_gives_the_very_answers_and_the_run_takes_on_its_state(times, settings):
    here, aside = door(settings), TrafficAside(door(settings), interval=180.0, horizon=HORIZON)
    try:
        for t in times:
            assert same(here.admit_until(t), aside.admit_until(t)), t
        aside.finish()
        same_state(here, aside)
        assert aside.local.numbered > 1000
    finally:
        aside.close()
    assert not process_alive(aside.pid)
    if settings is not NORMAL:
        assert here.http_429 > 100 and here.dropped_rate_limited > 0


def test_an_overloaded_door_answers_through_the_pipe_when_the_buffer_is_too_small():
    here, aside = door(BATCHED), TrafficAside(door(BATCHED), interval=180.0, horizon=HORIZON, buffer_bytes=1024)
    for t in REGULAR:
        assert same(here.admit_until(t), aside.admit_until(t)), t
    aside.finish()
    same_state(here, aside)


def test_the_guess_is_the_very_time_the_ingestion_asks():
    """A flush every 0.1 s: k * 0.1 is not the sum of k tenths, so the guess is computed as the
    ingestion computes its flush times."""
    interval, horizon = 0.1, 7.25
    asked, k = [], 1
    while True:  # IngestionAPI._run's schedule
        asked.append(min(k * interval, horizon))
        if k * interval > horizon:
            break
        k += 1
    assert [next_hand_over(t, interval, horizon) for t in asked[:-1]] == asked[1:]
    assert next_hand_over(horizon, interval, horizon) == horizon


def test_a_child_that_dies_is_replayed_and_the_run_goes_on_with_the_same_answers():
    here, aside = door(OVERLOAD), TrafficAside(door(OVERLOAD), interval=180.0, horizon=HORIZON)
    for t in REGULAR[:5]:
        assert same(here.admit_until(t), aside.admit_until(t))
    os.kill(aside.pid, signal.SIGKILL)
    aside._child.join()
    for t in REGULAR[5:]:
        assert same(here.admit_until(t), aside.admit_until(t)), t
    aside.finish()
    same_state(here, aside)


@pytest.mark.parametrize("then", ["finish", "go on"])
def test_a_child_ended_early_leaves_a_state_that_is_still_right(then):
    here, aside = door(OVERLOAD), TrafficAside(door(OVERLOAD), interval=180.0, horizon=HORIZON)
    for t in REGULAR[:4]:
        assert same(here.admit_until(t), aside.admit_until(t))
    aside.close()  # e.g. the run failed
    assert aside._shared.closed and aside._conn.closed
    if then == "go on":
        for t in REGULAR[4:]:
            assert same(here.admit_until(t), aside.admit_until(t)), t
    aside.finish()
    same_state(here, aside)


def test_a_run_that_stops_before_the_horizon_takes_the_state_of_its_last_hand_over():
    """The child has decided a hand-over ahead that was never asked: its state is past the run's,
    so the run replays rather than take it on."""
    here, aside = door(OVERLOAD), TrafficAside(door(OVERLOAD), interval=180.0, horizon=HORIZON)
    for t in REGULAR[:6]:
        assert same(here.admit_until(t), aside.admit_until(t))
    aside.finish()
    same_state(here, aside)
    assert here.source.counts()["clicks_sent"] == here.numbered > 0


def test_the_state_taken_on_points_to_the_run_s_own_context_and_population():
    d = door(NORMAL)
    visitors, truth, ctx, pop = d.source, d.observers[0], d.source.ctx, d.source.pop
    settings, visitor_settings = d.p, visitors.p
    aside = TrafficAside(d, interval=180.0, horizon=HORIZON)
    for t in REGULAR:
        aside.admit_until(t)
    aside.finish()
    assert aside.local is d and d.source is visitors and d.observers[0] is truth
    assert visitors.ctx is ctx and visitors.pop is pop and visitors.ledger is ctx.ledger and visitors.env is ctx.env
    assert d.p is settings and visitors.p is visitor_settings  # the scenario's own settings, not copies
    assert visitors.counts()["clicks_sent"] == d.numbered > 0


def test_only_the_bundled_visitors_in_a_process_that_may_fork_and_with_enough_clicks_are_decided_aside(monkeypatch):
    pipe = SYSTEM.build(load(DEFAULT, NORMAL), 5)
    scripted = Admission(pipe.scenario.ingestion, ScriptedClicks([{"t": 1.0, "cookie": 1, "page": "home"}]),
                         np.random.default_rng(1), np.random.default_rng(2))
    assert draw_aside(scripted, 180.0, HORIZON, 1e6) is scripted
    assert draw_aside(pipe.visitors, 180.0, HORIZON, 1e9) is pipe.visitors  # not a door
    web = pipe.ingestion.door
    # a hand-over of fewer clicks than MIN_CLICKS costs more to send than to decide
    few = traffic_aside.MIN_CLICKS * HORIZON / 180.0
    assert draw_aside(web, 180.0, HORIZON, few * 0.99) is web
    enough = draw_aside(web, 180.0, HORIZON, few)
    assert type(enough) is TrafficAside
    enough.close()
    assert draw_aside(web, 180.0, 0.0, 1e6) is web
    hand_overs = traffic_aside.MIN_HAND_OVERS  # fewer hand-overs: the first is waited for, little overlaps
    assert draw_aside(web, HORIZON / hand_overs * 1.01, HORIZON, 1e9) is web
    assert draw_aside(web, 0.0, HORIZON, 1e9) is web
    enough = draw_aside(web, HORIZON / hand_overs, HORIZON, 1e9)
    assert type(enough) is TrafficAside
    enough.close()

    class Daemon:
        daemon = True

    monkeypatch.setattr(traffic_aside.multiprocessing, "current_process", Daemon)
    assert draw_aside(web, 180.0, HORIZON, 1e9) is web  # a sweep's worker may not have children


def test_a_small_run_decides_its_traffic_itself():
    r = sim.run(DEFAULT, overrides={"horizon": "30m", "visitors.rate_per_s": 1}, aside=True)
    assert type(r.pipeline.ingestion.door) is Admission and r.pipeline.traffic_aside is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
def test_the_child_dies_with_its_parent(tmp_path):
    """A parent killed outright (kill -9) takes its traffic child with it."""
    assert child_dies_with_parent(tmp_path, (
        "from tests.actors.test_traffic_aside import door, NORMAL\n"
        "from sim.actors.data_cloud.traffic_aside import TrafficAside\n"
        "a = TrafficAside(door(NORMAL), interval=180.0, horizon=3600.0)\n"
        "a.admit_until(180.0)\n"
        "print(a.pid, flush=True)\n"))


def _summary(result) -> dict:
    return {k: v for k, v in result.to_dict().items() if k != "wall_s"}


@pytest.mark.parametrize("scenario, overrides, ledger", [
    (DEFAULT, {"horizon": "3h", "visitors.rate_per_s": 8}, "full"),
    (SCENARIOS / "black_friday_peak.yaml", {"horizon": "40m"}, "full"),
    (DEFAULT, {"horizon": "10m", "visitors.rate_per_s": 100, "ingestion.flush_interval": "60s"}, "full"),  # 429s
    (DEFAULT, {"horizon": "15m", "visitors.rate_per_s": 100, "ingestion.flush_interval": "60s",
               "ingestion.records_per_request": 7, "ingestion.request_linger": "2s"}, "aggregate"),
], ids=["default", "black_friday", "overload", "batched_aggregate"])
def test_a_run_with_its_traffic_decided_aside_keeps_its_digest_counts_and_summary(scenario, overrides, ledger):
    plain = sim.run(scenario, overrides=overrides, ledger=ledger)
    aside = sim.run(scenario, overrides=overrides, ledger=ledger, aside=True)
    assert aside.ledger_digest() == plain.ledger_digest()
    assert aside.counts == plain.counts
    assert _summary(aside) == _summary(plain)  # the intents too: the ground truth came back
    assert type(aside.pipeline.traffic_aside) is TrafficAside and plain.pipeline.traffic_aside is None
    assert type(aside.pipeline.ingestion.door) is Admission  # the run's own door, in the state the child reached
    assert aside.pipeline.ingestion.door.numbered == plain.pipeline.ingestion.door.numbered
    assert not multiprocessing.active_children()  # the child is gone with the run
    if overrides.get("visitors.rate_per_s") == 100 and "ingestion.records_per_request" not in overrides:
        assert plain.counts["ingestion"]["http_429"] > 1000


class Conn:
    """A pipe end for _serve in this process: the requests to read; each answer read out of the
    shared buffer as it is sent (the next answer reuses it)."""

    def __init__(self, requests, shared):
        self.requests, self.shared, self.sent = list(requests), shared, []

    def recv(self):
        return self.requests.pop(0)

    def send(self, message):
        if isinstance(message, tuple) and message[0] == "shared":
            message = {name: np.ndarray((n,), np.dtype(dtype), buffer=self.shared, offset=at).copy()
                       for name, dtype, n, at in message[1]}
        self.sent.append(message)

    def send_bytes(self, data):
        self.sent.append(data)

    def close(self):
        pass


def _scripted_door(rows):
    pipe = SYSTEM.build(load(DEFAULT, NORMAL), 5)
    return Admission(pipe.scenario.ingestion, ScriptedClicks(rows), np.random.default_rng(1),
                     np.random.default_rng(2))


def test_a_click_sent_exactly_at_a_hand_over_time_goes_with_the_next_one():
    """Clicks at the very times asked (and decided ahead) follow take_until's rule: sent before t."""
    import mmap

    rows = [{"t": t, "cookie": k, "page": "home"} for k, t in enumerate([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])]
    times = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]  # the schedule guessed: every answer decided ahead
    shared = mmap.mmap(-1, 1 << 16)
    conn = Conn([*times, None], shared)
    d = _scripted_door(rows)
    traffic_aside._serve(d, conn, shared, 10.0, 60.0, traffic_aside._refs(d))
    plain = _scripted_door(rows)
    for t, answer in zip(times, conn.sent[:-1], strict=True):
        assert same(answer, plain.admit_until(t)), t
    assert [a["sent_t"].tolist() for a in conn.sent[:-1]] == [[], [10.0], [20.0, 20.0], [30.0], [40.0], [50.0]]
    assert isinstance(conn.sent[-1], bytes) and conn.sent[-1]  # the state, asked last


def test_a_child_asked_off_its_schedule_says_so_and_stops():
    import mmap

    rows = [{"t": t, "cookie": k, "page": "home"} for k, t in enumerate([1.0, 12.0, 25.0])]
    shared = mmap.mmap(-1, 1 << 16)
    conn = Conn([10.0, 15.0, 20.0], shared)
    traffic_aside._serve(_scripted_door(rows), conn, shared, 10.0, 60.0, [])
    assert len(conn.sent) == 2 and conn.sent[1] == ("off", None)  # 15 s was not the hand-over decided ahead
    assert conn.sent[0]["sent_t"].tolist() == [1.0]


def test_the_state_sent_back_gives_back_the_retry_draws_ahead_and_the_streams_stay_the_run_s():
    """A round reserves a uniform for every retry it could decide (max_attempts 100: hundreds of
    thousands, nearly all unused); the child rewinds the retry stream instead of sending them, and
    the run's named streams are advanced in place."""
    many = {**OVERLOAD, "ingestion.retry.max_attempts": 100}
    here, d = door(many), door(many)
    streams = (d.rng, d.rng_http, d.source.rng)
    aside = TrafficAside(d, interval=180.0, horizon=HORIZON)
    for t in REGULAR:
        assert same(here.admit_until(t), aside.admit_until(t)), t
    left = len(here._u) - here._u_pos
    assert left > 100_000
    other = door(many)
    for t in REGULAR:
        other.admit_until(t)
    reserved = other._u.nbytes
    state = traffic_aside._state_bytes(other, traffic_aside._refs(other))
    assert len(state) < reserved / 2 and len(other._u) == 0
    aside.finish()
    same_state(here, aside)
    assert (d.rng, d.rng_http, d.source.rng) == streams and d.rng is d.source.ctx.rng("ingestion.retry")
    assert len(d._u) == 0
    # the next uniforms are the very ones the plain door would use: its leftovers, then fresh draws
    assert np.array_equal(d.rng.random(left + 50), np.concatenate([here._u[here._u_pos:], here.rng.random(50)]))


def test_shedding_the_draws_ahead_keeps_the_next_draws():
    d = door(OVERLOAD)
    d._u, d._u_pos = d.rng.random(1000), 990
    expected = np.concatenate([d._u[990:], np.random.Generator(np.random.PCG64()).random(0)])
    copy = np.random.Generator(np.random.PCG64())
    copy.bit_generator.state = d.rng.bit_generator.state
    d.shed_draws_ahead()
    assert len(d._u) == 0 and d._u_pos == 0
    assert np.array_equal(d.rng.random(15), np.concatenate([expected, copy.random(5)]))
    d.shed_draws_ahead()  # nothing left: nothing rewound
    assert np.array_equal(d.rng.random(3), copy.random(3))


def test_a_child_ignores_ctrl_c_which_is_the_run_s_to_handle():
    aside = TrafficAside(door(NORMAL), interval=180.0, horizon=HORIZON)
    try:
        os.kill(aside.pid, signal.SIGINT)
        here = door(NORMAL)
        for t in REGULAR[:3]:
            assert same(here.admit_until(t), aside.admit_until(t))
        assert aside._state == "child" and process_alive(aside.pid)
    finally:
        aside.close()


def _report_mask(conn):
    conn.send(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))  # blocked as it starts
    from sim.core.processes import ignore_interrupts

    ignore_interrupts()
    conn.send((signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
               signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])))
    conn.close()


def test_a_child_starts_with_ctrl_c_blocked_then_ignores_it_and_the_parent_keeps_its_own():
    """Until the child's own code runs (Python's after-fork hooks), a Ctrl-C cannot reach it; then
    it ignores Ctrl-C; the parent's handling is as before."""
    from sim.core.processes import start_shielded

    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    here, there = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_report_mask, args=(there,))
    start_shielded(child)
    assert here.recv() is True and here.recv() == (True, False)
    child.join()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
