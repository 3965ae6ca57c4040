"""The command line's exit codes, each provoked for real: 0 done; 1 a check failed (``sim
validate``); 2 bad input; 3 conservation violated; 130 interrupted (Ctrl-C during a sweep).

Most cases run in-process through click's CliRunner (fast, and the code can be patched to break
it); two run as a real process, so that the code reaches the shell as well.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import sim
import sim.validation.queueing as queueing
from sim.cli.main import main
from sim.core.ledger import ConservationError
from sim.systems.data_cloud import DataCloud
from tests.conftest import DEFAULT

SHORT = ["--set", "horizon=10m", "--set", "visitors.rate_per_s=1"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_run_that_balances_exits_0(tmp_path):
    r = invoke("run", str(DEFAULT), *SHORT, "--no-plots", "-q", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "summary.json").read_text())["conservation"]["ok"] is True


# -- 1: a check failed --------------------------------------------------------------------------
def _only_mm1(monkeypatch):
    """sim validate on the M/M/1 cases only (seconds instead of a minute)."""
    every = queueing.cases
    monkeypatch.setattr(queueing, "cases", lambda *a, **k: [c for c in every(*a, **k) if c["model"] == "M/M/1"])


def test_validate_exits_0_when_theory_and_simulation_agree(monkeypatch, tmp_path):
    _only_mm1(monkeypatch)
    r = invoke("validate", "--quick", "--json", str(tmp_path / "v.json"))
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "v.json").read_text())
    assert rows and all(row["ok"] for row in rows) and {row["model"] for row in rows} == {"M/M/1"}


def test_validate_exits_1_when_the_simulation_disagrees_with_theory(monkeypatch, tmp_path):
    """A wrong theory (the M/M/1 wait halved, as if service were deterministic) against the
    real simulation: the confidence intervals miss it, and the command says so with code 1."""
    _only_mm1(monkeypatch)
    right = queueing.theory

    def wrong(model, lam, mu, c=1):
        out = dict(right(model, lam, mu, c))
        out["wait"] /= 2
        return out

    monkeypatch.setattr(queueing, "theory", wrong)
    r = invoke("validate", "--quick", "--json", str(tmp_path / "v.json"))
    assert r.exit_code == 1, r.output
    rows = json.loads((tmp_path / "v.json").read_text())
    assert {row["metric"] for row in rows if not row["ok"]} == {"wait"}  # the sojourn theory still holds
    assert "NO" in r.output


# -- 2: bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (["run", str(DEFAULT), "--set", "visitors.rate_per_s=inf"], "visitors.rate_per_s"),
    (["run", str(DEFAULT), "--set", "visitors.rate_per_sec=2"], "rate_per_sec: unknown field"),
    (["run", str(DEFAULT), "--set", "horizon=soon"], "horizon"),
    (["run", "no/such/scenario.yaml", "--out", "{tmp}/o"], "no/such/scenario.yaml"),
    (["run", str(DEFAULT), "--seed", "-1"], "--seed"),
    (["compare", str(DEFAULT), "--set", "crm.flow.size=3"], "allowed in crm.flow"),
    (["sweep", str(DEFAULT), "--grid", "crm.flow.batchsize=1,2", "--store", "{tmp}/s.duckdb"], "batchsize"),
    (["validate", "--customers", "10"], "--customers"),
])
def test_bad_input_exits_2_with_one_line_naming_it(tmp_path, args, needle):
    r = invoke(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert needle in r.output and "Traceback" not in r.output
    assert isinstance(r.exception, SystemExit)  # an exit, not an exception escaping the command


def test_bad_input_exits_2_from_a_real_process(sim_cmd, tmp_path):
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "horizon=-5m", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and "horizon" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "summary.json").exists()


# -- 3: conservation violated -------------------------------------------------------------------
def leaky_build(monkeypatch) -> list[int]:
    """Data Cloud's builder with a bug planted: the ingestion API's first micro-batch is handed to
    nobody (neither delivered, dropped, nor held). Returns the list the lost counts go to."""
    build = DataCloud.build
    lost: list[int] = []

    def leaky(self, scenario, seed, **options):
        pipe = build(self, scenario, seed, **options)
        submit = pipe.ingestion.submit

        def lossy_submit(batch, ready):
            if not lost and len(batch):
                lost.append(len(batch))
                return
            submit(batch, ready)

        pipe.ingestion.submit = lossy_submit
        return pipe

    monkeypatch.setattr(DataCloud, "build", leaky)
    return lost


def test_a_run_that_loses_messages_exits_3_naming_them(monkeypatch, tmp_path):
    lost = leaky_build(monkeypatch)
    r = invoke("run", str(DEFAULT), *SHORT, "--no-plots", "-q", "--out", str(tmp_path))
    assert lost and lost[0] > 0
    assert r.exit_code == 3, r.output
    assert r.output.startswith("error: ") and "click" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "summary.json").exists()


def test_the_python_api_raises_or_reports_the_loss(monkeypatch):
    lost = leaky_build(monkeypatch)
    with pytest.raises(ConservationError) as err:
        sim.run(DEFAULT, overrides={"horizon": "10m", "visitors.rate_per_s": 1})
    assert err.value.report.ok is False
    lost.clear()
    result = sim.run(DEFAULT, overrides={"horizon": "10m", "visitors.rate_per_s": 1}, check=False)
    c = result.conservation
    assert not c.ok and len(c.lost["click"]) == min(lost[0], 20)  # the report lists up to 20 ids
    assert not c.by_kind["click"]["ok"] and all(k["ok"] for kind, k in c.by_kind.items() if kind != "click")
    assert c.created - c.delivered - sum(c.dropped.values()) - c.held == lost[0]  # the balance is off by the loss


# -- 130: interrupted ---------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_during_a_cli_sweep_exits_130_and_keeps_the_finished_runs(sim_cmd, tmp_path):
    """A real SIGINT (what Ctrl-C sends) to a serial sweep once it reports a finished run."""
    store = tmp_path / "s.duckdb"
    env = {**os.environ, "SIM_PROGRESS_INTERVAL": "0"}  # a progress line on stderr after every run
    proc = subprocess.Popen([*sim_cmd, "sweep", str(DEFAULT), "--grid", "visitors.rate_per_s=1,2,3,4",
                             "--replications", "25", "--set", "horizon=10m", "--store", str(store),
                             "--executor", "serial"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("sweep") and "runs 2/" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, "".join(seen) + err
    assert "(interrupted)" in out and "Traceback" not in err
    runs = sim.results.load(store)["runs"]
    assert 2 <= len(runs) < 100 and set(runs["status"]) == {"ok"}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a process group")
@pytest.mark.parametrize("when", ["simulating", "drawing"])
def test_ctrl_c_during_sim_run_exits_130_in_one_line_and_leaves_no_process(sim_cmd, tmp_path, when):
    """Ctrl-C reaches the whole foreground group: the run, and its child (drawing the web traffic
    while it simulates, the figures while it writes). Exit 130 and one line, no traceback, no
    process left behind."""
    psutil = pytest.importorskip("psutil")
    horizon = "6h" if when == "simulating" else "2h"
    env = {**os.environ, "SIM_PROGRESS_INTERVAL": "0"}
    proc = subprocess.Popen([*sim_cmd, "run", str(DEFAULT), "--set", f"horizon={horizon}", "--set",
                             "visitors.rate_per_s=30", "--out", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    root = psutil.Process(proc.pid)
    children: list = []
    try:
        if when == "simulating":
            for line in proc.stderr:  # a progress line: the simulation is under way
                if line.startswith("b2b_pricing_alert:") and "clicks=" in line:
                    break
            children = root.children(recursive=True)  # the child drawing the web traffic
            assert children, "no traffic child while simulating"
        else:
            deadline = time.monotonic() + 120
            while not children and proc.poll() is None and time.monotonic() < deadline:
                children = root.children(recursive=True)  # the figures' child: writing has begun
                time.sleep(0.01)
            assert children, "the run ended before its figures child was seen"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err and "Aborted" not in err
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
