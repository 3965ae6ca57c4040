"""Replications, sweeps, the results store, executors: correctness against hand computations."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import sim
from sim.experiments import replicate
from sim.experiments.store import Store
from sim.experiments.sweep import lhs_samples, variants
from sim.experiments.tasks import replication_seed
from tests.conftest import DEFAULT

SHORT = {"horizon": "40m", "visitors.rate_per_s": 2, "visitors.hot_share": 0.2}
P99 = "latency_s.click->notification.p99"


def test_replications_give_student_t_intervals_of_the_replication_values():
    reps = replicate(DEFAULT, replications=4, seed=3, warmup="5m", overrides=SHORT, executor="serial")
    assert [r["seed"] for r in reps.runs] == [replication_seed(3, k) for k in range(4)]
    values = []
    for k in range(4):  # independently: run each replication and compute its p99 after the warm-up
        r = sim.run(DEFAULT, seed=replication_seed(3, k), overrides=SHORT)
        lat = r.latency("click->notification", since=300.0)
        values.append(np.percentile(lat, 99))
    row = reps.table([P99]).loc[P99]
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert row["mean"] == pytest.approx(np.mean(values)) and row["half_width"] == pytest.approx(half)
    assert row["rel_half_width"] == pytest.approx(half / np.mean(values)) and row["n"] == 4


def test_until_precision_adds_replications_until_the_target_or_the_maximum():
    loose = replicate(DEFAULT, replications=3, seed=1, overrides=SHORT, until_precision=10.0, executor="serial")
    assert len(loose.ok_runs) == 3 and loose.precise(10.0)
    strict = replicate(DEFAULT, replications=3, seed=1, overrides=SHORT, until_precision=1e-6, max_replications=5,
                       executor="serial")
    assert len(strict.ok_runs) == 5 and not strict.precise(1e-6)


def test_lhs_is_stratified_and_grids_are_cartesian():
    pts = lhs_samples({"a": (0.0, 10.0), "n": (1, 100)}, 10, seed=4)
    a = sorted(p["a"] for p in pts)
    assert all(k <= x < k + 1 for k, x in zip(range(10), a))  # one sample per tenth of the range
    assert all(isinstance(p["n"], int) for p in pts)
    v = variants({"x": [1, 2], "y": ["a", "b", "c"]})
    assert len(v) == 6 and {"x": 2, "y": "c"} in v
    assert len(variants({"x": [1, 2]}, {"z": (0.0, 1.0)}, samples=3)) == 6


def test_sweep_shares_seeds_across_variants_resumes_and_matches_across_executors(tmp_path):
    store = tmp_path / "runs.duckdb"
    grid = {"crm.flow.batch_size": [1, 2000]}
    first = sim.sweep(DEFAULT, grid=grid, replications=2, seed=5, overrides=SHORT, store=store, workers=2)
    assert len(first.runs) == 4 and not first.failed
    by = {}
    for r in first.runs:
        by.setdefault(r["replication"], set()).add(r["seed"])
    assert all(len(s) == 1 for s in by.values())  # common random numbers
    clicks = {r["overrides"]["crm.flow.batch_size"]: r["metrics"]["conservation.created"]
              for r in first.runs if r["replication"] == 0}
    again = sim.sweep(DEFAULT, grid=grid, replications=3, seed=5, overrides=SHORT, store=store, executor="serial")
    assert again.skipped == 4 and len(again.runs) == 2
    serial = sim.sweep(DEFAULT, grid=grid, replications=2, seed=5, overrides=SHORT, executor="serial")
    assert [r["metrics"] for r in serial.runs] == [r["metrics"] for r in first.runs]
    tables = sim.results.load(store)
    assert len(tables["runs"]) == 6 and set(tables["runs"]["status"]) == {"ok"}
    assert {"run_id", "name", "value"} <= set(tables["metrics"].columns)
    assert tables["histograms"]["count"].sum() > 0
    wide = tables["wide"]
    assert "crm.flow.batch_size" in wide and P99 in wide and len(wide) == 6
    assert len(set(clicks.values())) == 1  # the Flow's batch size does not change the traffic


def test_dask_gives_the_same_results_as_local_processes():
    kw = {"grid": {"visitors.rate_per_s": [1, 2]}, "replications": 1, "seed": 2, "overrides": {"horizon": "20m"}}
    dask = sim.sweep(DEFAULT, executor="dask", workers=2, **kw)
    local = sim.sweep(DEFAULT, executor="serial", **kw)
    assert [r["metrics"] for r in dask.runs] == [r["metrics"] for r in local.runs] and not dask.failed


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import sim.runs.runner

    real = sim.runs.runner.run

    def flaky(scenario, seed=None, overrides=None, **kw):
        if overrides and overrides.get("crm.flow.batch_size") == 7:
            raise RuntimeError("boom")
        return real(scenario, seed=seed, overrides=overrides, **kw)

    monkeypatch.setattr(sim.runs.runner, "run", flaky)
    store = tmp_path / "s.duckdb"
    res = sim.sweep(DEFAULT, grid={"crm.flow.batch_size": [7, 8]}, replications=1, overrides=SHORT,
                    executor="serial", store=store)
    assert len(res.failed) == 1 and "RuntimeError: boom" in res.failed[0]["error"]
    runs = sim.results.load(store)["runs"].set_index("status")
    assert "Traceback" in runs.loc["failed", "traceback"] and runs.loc["ok", "error"] is None


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path):
    store = tmp_path / "s.duckdb"

    def interrupt(done, failed, total):
        if done == 2:
            raise KeyboardInterrupt

    res = sim.sweep(DEFAULT, grid={"visitors.rate_per_s": [1, 2, 3]}, replications=2, overrides=SHORT,
                    executor="serial", store=store, progress=interrupt)
    assert res.interrupted and len(sim.results.load(store)["runs"]) == 2


def test_killing_a_sweep_never_corrupts_the_store(tmp_path):
    """SIGKILL the sweep process right after its 3rd run is stored (DuckDB allows no reader while
    the writer lives, so the child reports its progress on stdout)."""
    store = tmp_path / "k.duckdb"
    code = (f"import sim; sim.sweep({str(DEFAULT)!r}, grid={{'visitors.rate_per_s': [1, 2, 3, 4, 5, 6]}}, "
            f"replications=20, overrides={{'horizon': '20m'}}, store={str(store)!r}, executor='serial', "
            "progress=lambda done, failed, total: print(done, flush=True))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if int(line) >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    tables = sim.results.load(store)
    ids = set(tables["runs"]["run_id"])
    assert 3 <= len(ids) < 120  # killed mid-sweep
    assert set(tables["metrics"]["run_id"]) == ids  # whole runs only
    with Store(store) as db:  # and it is still writable
        assert db.done_ids() == ids


def test_cli_sweep_results_and_replications(sim_cmd, tmp_path):
    r = subprocess.run([*sim_cmd, "sweep", str(DEFAULT), "--grid", "crm.flow.batch_size=1,2000", "--lhs",
                        "visitors.rate_per_s=1:3", "--samples", "2", "--replications", "1", "--set", "horizon=20m",
                        "--store", "x.duckdb", "--executor", "serial"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "4 variants x 1 replications: 4 run, 0 failed, 0 already in x.duckdb" in r.stdout
    r = subprocess.run([*sim_cmd, "results", "x.duckdb", "--csv", "c.csv"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert r.returncode == 0 and "crm.flow.batch_size" in r.stdout and (tmp_path / "c.csv").exists()
    bad = subprocess.run([*sim_cmd, "sweep", str(DEFAULT), "--grid", "crm.flow.batchsize=1,2"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "batchsize" in bad.stderr and "Traceback" not in bad.stderr
    r = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--replications", "3", "--set", "horizon=20m", "--warmup",
                        "2m", "--out", "o"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "o" / "replications.json").read_text())
    assert data["replications"] == 3 and P99 in data["metrics"] and "ci_low" in data["metrics"][P99]


def test_reading_a_store_a_sweep_is_writing_is_a_clear_error(sim_cmd, tmp_path):
    store = tmp_path / "busy.duckdb"
    writer = Store(store)  # this process holds the write lock, as a running sweep would
    try:
        r = subprocess.run([*sim_cmd, "results", str(store)], capture_output=True, text=True)
        assert r.returncode == 2 and "a running sweep holds it" in r.stderr and "Traceback" not in r.stderr
    finally:
        writer.close()


def test_sweep_until_precision_adds_replications_only_where_needed(tmp_path):
    store = tmp_path / "p.duckdb"
    grid = {"visitors.rate_per_s": [1, 3]}
    loose = sim.sweep(DEFAULT, grid=grid, replications=2, overrides=SHORT, executor="serial", store=store,
                      until_precision=100.0)
    assert len(loose.runs) == 4
    strict = sim.sweep(DEFAULT, grid=grid, replications=2, overrides=SHORT, executor="serial", store=store,
                       until_precision=1e-9, max_replications=4)
    assert strict.skipped == 4 and len(strict.runs) == 4  # replications 2 and 3 of each variant
    assert sorted(r["replication"] for r in strict.runs) == [2, 2, 3, 3]
    seeds = {k: {r["seed"] for r in strict.runs if r["replication"] == k} for k in (2, 3)}
    assert all(len(v) == 1 for v in seeds.values())  # still common random numbers
