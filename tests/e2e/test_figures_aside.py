"""Figures drawn aside (``RunResult.write(aside=True)``, what ``sim run`` does): the same files as
drawn in one process, and the run's own drawing when the child cannot deliver."""

import json
import multiprocessing
import os
import sys
import time

import pytest

import sim
from sim.report import aside
from tests.conftest import DEFAULT, SCENARIOS, child_dies_with_parent, process_alive

QUICK = {"horizon": "40m", "visitors.rate_per_s": 1}


@pytest.fixture(scope="module")
def result():
    return sim.run(DEFAULT, overrides=QUICK)


def _files(out):
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    summary = json.loads(files.pop("summary.json"))
    summary.pop("wall_s")
    return files, summary


@pytest.mark.parametrize("scenario", [DEFAULT, SCENARIOS / "fraud_sms_webhook.yaml"], ids=["bus", "webhooks"])
def test_aside_writes_the_very_files_of_one_process(scenario, tmp_path):
    r = sim.run(scenario, overrides={"horizon": "40m"})
    here, there = tmp_path / "here", tmp_path / "aside"
    names_here = [p.name for p in r.write(here)]
    names_aside = [p.name for p in r.write(there, aside=True)]
    assert names_here == names_aside  # the same files in the same order (the report's figure order)
    files_here, summary_here = _files(here)
    files_aside, summary_aside = _files(there)
    assert summary_here == summary_aside
    assert files_here.keys() == files_aside.keys() and any(n.endswith(".png") for n in files_here)
    for name in files_here:
        if name != "report.html":  # the page carries the process's wall time
            assert files_here[name] == files_aside[name], name
    for name in (n for n in files_here if n.endswith(".png")):
        assert files_here[name][:8] == b"\x89PNG\r\n\x1a\n"


def test_a_child_that_fails_leaves_the_drawing_to_the_run(result, tmp_path, monkeypatch):
    parent = os.getpid()
    import sim.results.run_result as run_result

    real = run_result._render_pngs

    def fails_in_child(r, **kw):
        if os.getpid() != parent:
            raise RuntimeError("no fonts in the child")
        return real(r, **kw)

    monkeypatch.setattr(run_result, "_render_pngs", fails_in_child)
    names = [p.name for p in result.write(tmp_path, aside=True)]
    assert {"queues.png", "bus.png", "latency_cdf.png", "e2e_histogram.png"} <= set(names)
    reference = real(result)
    for name, png in reference.items():
        assert (tmp_path / name).read_bytes() == png


def test_a_child_that_dies_leaves_the_drawing_to_the_run(tmp_path):
    parent = os.getpid()
    drawn_here = []

    def render():
        if os.getpid() != parent:
            os._exit(9)  # killed: nothing sent back
        drawn_here.append(True)
        return {"x.png": b"png"}

    assert aside.Aside(render).collect() == {"x.png": b"png"}
    assert drawn_here == [True]


def test_the_child_draws_and_the_run_does_not(tmp_path):
    parent = os.getpid()
    calls = []

    def render():
        calls.append(os.getpid())
        return {"x.png": str(os.getpid() != parent).encode()}

    collect = aside.Aside(render).collect
    assert collect() == {"x.png": b"True"}  # drawn in another process
    assert calls == []  # and not here


def test_without_fork_the_run_draws_itself(monkeypatch):
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    parent = os.getpid()
    assert aside.Aside(lambda: {"x.png": str(os.getpid() == parent).encode()}).collect() == {"x.png": b"True"}


def test_a_run_that_stops_waiting_ends_the_child_even_while_it_sends():
    """The child has drawn more than a pipe holds and blocks sending it; the run leaves (an error,
    Ctrl-C) without collecting: the child is ended, not left behind or waited for forever."""
    big = {"x.png": b"p" * (1 << 20)}
    with aside.Aside(lambda: big) as child:
        pid = child.child.pid
        time.sleep(0.5)  # the child is blocked in send
    assert child.child is None and not process_alive(pid)


def test_a_failed_write_leaves_no_child(result, tmp_path):
    (tmp_path / "summary.json").mkdir()  # writing the summary fails
    before = set(multiprocessing.active_children())
    with pytest.raises(IsADirectoryError):
        result.write(tmp_path, aside=True)
    assert set(multiprocessing.active_children()) <= before


def test_in_a_daemon_process_the_run_draws_its_figures_itself(result, tmp_path, monkeypatch):
    class Daemon:
        daemon = True

    monkeypatch.setattr(aside.multiprocessing, "current_process", Daemon)
    assert aside.Aside(dict).child is None
    names = [p.name for p in result.write(tmp_path, aside=True)]
    assert "queues.png" in names and "bus.png" in names


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
def test_the_figures_child_dies_with_its_parent(tmp_path):
    assert child_dies_with_parent(tmp_path, (
        "import time\n"
        "from sim.report.aside import Aside\n"
        "a = Aside(lambda: (time.sleep(60), {})[1])\n"
        "print(a.child.pid, flush=True)\n"))


def test_the_child_computes_the_digest_and_the_summary_carries_it(tmp_path, monkeypatch):
    """With the figures aside, the ledger's digest is hashed in the child (the run does not hash
    it) and summary.json carries the very digest of the run's ledger."""
    r = sim.run(DEFAULT, overrides=QUICK)
    expected = r.ledger.digest(r.horizon_s)
    parent = os.getpid()
    from sim.core.ledger import Ledger

    real = Ledger.digest

    def only_in_child(self, *a, **k):
        assert os.getpid() != parent, "the run hashed its ledger itself"
        return real(self, *a, **k)

    monkeypatch.setattr(Ledger, "digest", only_in_child)
    r.write(tmp_path, aside=True)
    assert json.loads((tmp_path / "summary.json").read_text())["ledger_digest"] == expected


def test_a_child_that_dies_leaves_the_digest_to_the_run(tmp_path, monkeypatch):
    r = sim.run(DEFAULT, overrides=QUICK)
    expected = r.ledger.digest(r.horizon_s)
    parent = os.getpid()
    import sim.results.run_result as run_result

    real = run_result._render_pngs

    def dies_in_child(result, **kw):
        if os.getpid() != parent:
            os._exit(9)
        return real(result, **kw)

    monkeypatch.setattr(run_result, "_render_pngs", dies_in_child)
    r.write(tmp_path, aside=True)
    assert json.loads((tmp_path / "summary.json").read_text())["ledger_digest"] == expected
    assert (tmp_path / "queues.png").read_bytes() == real(r)["queues.png"]
