"""Web traffic drawn aside (sim.actors.data_cloud.traffic_aside): a forked child hands over the very
clicks the visitors would, whatever the hand-over times (the guessed one, an earlier, a later, the
same twice), through the shared buffer or the pipe; the counts are the visitors'; a child that dies
is replayed; a whole run keeps its digest."""

import multiprocessing
import os
import signal
import sys

import numpy as np
import pytest

import sim
from sim.actors.data_cloud import traffic_aside
from sim.actors.data_cloud.traffic_aside import TrafficAside, draw_aside
from sim.actors.data_cloud.visitors import ScriptedClicks, WebVisitors
from sim.scenario.load import load
from sim.systems.data_cloud import SYSTEM
from tests.conftest import DEFAULT, SCENARIOS, child_dies_with_parent, process_alive

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")

HORIZON = 3600.0


def visitors(seed: int = 5) -> WebVisitors:
    sc = load(DEFAULT, {"horizon": f"{HORIZON:g}s", "visitors.rate_per_s": 6})
    source = SYSTEM.build(sc, seed).visitors
    assert type(source) is WebVisitors
    return source


TIMES = {
    "regular": [180.0 * k for k in range(1, 20)] + [HORIZON],
    "irregular": [100.0, 100.0, 250.0, 900.0, 905.0, 1000.0, 2990.0, 3000.0, HORIZON, HORIZON],
    "earlier than guessed": [600.0, 650.0, 700.0, 1700.0, 1750.0, HORIZON],
}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[c].dtype == b[c].dtype and np.array_equal(a[c], b[c], equal_nan=True)
                                        for c in a)


@pytest.mark.parametrize("times", TIMES.values(), ids=TIMES.keys())
@pytest.mark.parametrize("buffer_bytes", [1 << 25, 1024], ids=["shared", "pipe"])
def test_the_child_hands_over_the_very_clicks_and_counts(times, buffer_bytes):
    here, aside = visitors(), TrafficAside(visitors(), interval=600.0, horizon=HORIZON, buffer_bytes=buffer_bytes)
    try:
        for t in times:
            assert same(here.take_until(t), aside.take_until(t)), t
        assert aside.counts() == here.counts()
        assert aside.counts() == here.counts()  # asked again: the same, the child is gone
    finally:
        aside.close()
    assert not process_alive(aside.pid)
    assert sum(1 for _ in times) and here.counts()["clicks_sent"] > 1000


def test_a_child_that_dies_is_replayed_and_the_run_goes_on_with_the_same_clicks():
    here, aside = visitors(), TrafficAside(visitors(), interval=180.0, horizon=HORIZON)
    times = TIMES["regular"]
    for t in times[:5]:
        assert same(here.take_until(t), aside.take_until(t))
    os.kill(aside.pid, signal.SIGKILL)
    aside._child.join()
    for t in times[5:]:
        assert same(here.take_until(t), aside.take_until(t)), t
    assert aside.counts() == here.counts()


def test_a_child_ended_early_leaves_counts_that_are_still_right():
    here, aside = visitors(), TrafficAside(visitors(), interval=180.0, horizon=HORIZON)
    for t in TIMES["regular"][:4]:
        here.take_until(t)
        aside.take_until(t)
    aside.close()  # e.g. the run failed its conservation check
    assert aside.counts() == here.counts()


def test_only_the_bundled_visitors_in_a_process_that_may_fork_and_with_enough_clicks_are_drawn_aside(monkeypatch):
    scripted = ScriptedClicks([{"t": 1.0, "cookie": 1, "page": "home"}])
    assert draw_aside(scripted, 180.0, HORIZON, 1e6) is scripted
    web = visitors()
    # a hand-over of fewer clicks than MIN_CLICKS costs more to send than to draw
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


def test_a_small_run_draws_its_traffic_itself():
    r = sim.run(DEFAULT, overrides={"horizon": "30m", "visitors.rate_per_s": 1}, aside=True)
    assert type(r.pipeline.visitors) is WebVisitors


def test_a_closed_child_frees_its_pipe_and_buffer_and_counts_follow_later_hand_overs():
    here, aside = visitors(), TrafficAside(visitors(), interval=180.0, horizon=HORIZON)
    here.take_until(180.0)
    aside.take_until(180.0)
    assert aside.counts()["clicks_sent"] == here.counts()["clicks_sent"]  # mid-way: the child is ended
    assert aside._shared.closed and aside._conn.closed
    for t in (360.0, 900.0, HORIZON):  # the run goes on here, and the counts follow it
        assert same(here.take_until(t), aside.take_until(t))
    assert aside.counts() == here.counts()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
def test_the_child_dies_with_its_parent(tmp_path):
    """A parent killed outright (kill -9) takes its traffic child with it."""
    assert child_dies_with_parent(tmp_path, (
        "from tests.actors.test_traffic_aside import visitors\n"
        "from sim.actors.data_cloud.traffic_aside import TrafficAside\n"
        "a = TrafficAside(visitors(), interval=180.0, horizon=3600.0)\n"
        "a.take_until(180.0)\n"
        "print(a.pid, flush=True)\n"))


@pytest.mark.parametrize("scenario, overrides", [
    (DEFAULT, {"horizon": "3h", "visitors.rate_per_s": 8}),
    (SCENARIOS / "black_friday_peak.yaml", {"horizon": "40m"}),
    (DEFAULT, {"horizon": "10m", "visitors.rate_per_s": 100, "ingestion.flush_interval": "60s"}),  # overload: 429s
], ids=["default", "black_friday", "overload"])
def test_a_run_with_its_traffic_drawn_aside_keeps_its_digest_and_counts(scenario, overrides):
    plain = sim.run(scenario, overrides=overrides)
    aside = sim.run(scenario, overrides=overrides, aside=True)
    assert aside.ledger_digest() == plain.ledger_digest()
    assert aside.counts == plain.counts
    assert type(aside.pipeline.visitors) is TrafficAside and type(plain.pipeline.visitors) is WebVisitors
    assert not multiprocessing.active_children()  # the child is gone with the run


def test_counts_asked_before_the_end_count_only_the_clicks_handed_over_as_sent():
    """The child draws one hand-over ahead: asked mid-way, its sessions and logins may be ahead of
    the visitors' (at the horizon they are equal, above), its clicks sent never are."""
    here, aside = visitors(), TrafficAside(visitors(), interval=600.0, horizon=HORIZON)
    for t in (180.0, 360.0):
        here.take_until(t)
        aside.take_until(t)
    mine, theirs = aside.counts(), here.counts()
    assert mine["clicks_sent"] == theirs["clicks_sent"] > 0
    assert all(mine[k] >= theirs[k] for k in theirs)


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

    def close(self):
        pass


def test_a_click_sent_exactly_at_a_hand_over_time_goes_with_the_next_one():
    """Clicks at the very times asked (and drawn ahead) follow take_until's rule: sent before t."""
    import mmap

    rows = [{"t": t, "cookie": k, "page": "home"} for k, t in enumerate([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])]
    times = [20.0, 30.0, 30.0, 45.0, 50.0, 60.0]
    shared = mmap.mmap(-1, 1 << 16)
    conn = Conn([*times, None], shared)
    traffic_aside._serve(ScriptedClicks(rows), conn, shared, 10.0, 60.0)
    plain = ScriptedClicks(rows)
    for t, answer in zip(times, conn.sent[:-1]):
        assert same(answer, plain.take_until(t)), t
    assert [a["t"].tolist() for a in conn.sent[:-1]] == [[10.0], [20.0, 20.0], [], [30.0, 40.0], [], [50.0]]
    assert conn.sent[-1] == {"clicks_sent": 6}  # the counts, asked last
