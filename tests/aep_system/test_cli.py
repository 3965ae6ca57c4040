"""The command line on aep_dataflows scenarios (subprocesses): run, compare, replications, sweep,
a broken body, determinism across processes, bodies read relative to the current directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.aep_system.conftest import ROOT

SIM = [sys.executable, "-m", "sim"]
BUNDLED = ROOT / "scenarios" / "hubspot_contacts_dataflow.yaml"


def sim(*args, cwd=ROOT, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIM_PROGRESS_INTERVAL": "60"}
    return subprocess.run([*SIM, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def small(tmp_path):
    """The bundled HubSpot scenario, smaller (1,000 rows, 200 changes/h, 6 h), bodies by absolute path."""
    raw = yaml.safe_load(BUNDLED.read_text())
    raw["bodies"] = [str(ROOT / b) for b in raw["bodies"]]
    raw["horizon"] = "6h"
    raw["sources"][0].update(rows=1000)
    raw["sources"][0]["changes"]["per_hour"] = 200
    raw["variants"] = {"every_15_min": {}, "hourly": {"schedule.frequency": "hour", "schedule.interval": 1}}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_run_writes_summary_with_dataflows_and_freshness_and_report_with_extra_figures(small, tmp_path):
    out = tmp_path / "out"
    p = sim("run", small, "--out", out, "-q")
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["system"] == "aep_dataflows" and summary["conservation"]["ok"]
    flow = summary["dataflows"]["hubspot_contacts"]
    for key in ("runs", "rows_read", "rows_written", "rows_failed", "api_calls", "token_refreshes",
                "rate_limit_waits", "skipped_runs"):
        assert key in flow
    assert flow["runs"] == 24 and flow["api_calls"] >= 24
    assert summary["freshness_s"]["count"] > 0 and summary["freshness_s"]["p50"] < 1800
    assert "change->profile" in summary["latency_s"]
    html = (out / "report.html").read_text()
    assert "<h2>Dataflows</h2>" in html and "<h2>Segments and activation</h2>" in html
    for name in ("freshness.png", "runs.png", "latency_cdf.png"):
        assert f"alt='{name}'" in html
        assert (out / name).stat().st_size > 1000


def test_run_prints_the_dataflow_lines(small, tmp_path):
    p = sim("run", small, "--out", tmp_path / "o", "--no-plots", "--set", "horizon=2h")
    assert p.returncode == 0, p.stderr
    assert "dataflow hubspot_contacts (incremental, every 900 s)" in p.stdout
    assert "freshness (source change -> profile)" in p.stdout
    assert "conservation ok" in p.stdout


def test_compare_prints_a_row_per_variant(small, tmp_path):
    p = sim("compare", small, "-q", "--out", tmp_path / "cmp.csv")
    assert p.returncode == 0, p.stderr
    assert "every_15_min" in p.stdout and "hourly" in p.stdout and "freshness_p50_s" in p.stdout
    table = (tmp_path / "cmp.csv").read_text().splitlines()
    assert len(table) == 3 and "api_calls" in table[0]


def test_replications(small, tmp_path):
    p = sim("run", small, "--replications", "3", "--out", tmp_path / "reps", "--set", "horizon=3h",
            "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert "3 replications" in p.stdout and "change->profile" in p.stdout
    reps = json.loads((tmp_path / "reps" / "replications.json").read_text())
    text = json.dumps(reps)
    assert "dataflow_totals.api_calls" in text and "freshness_s.p50" in text


def test_sweep_grid_into_a_store(small, tmp_path):
    store = tmp_path / "runs.duckdb"
    p = sim("sweep", small, "--grid", "schedule.interval=15,30", "--replications", "1", "--store", store,
            "--set", "horizon=3h", "-q", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert "2 variants x 1 replications: 2 run, 0 failed" in p.stdout
    assert "change->profile" in p.stdout  # the system's headline metrics
    r = sim("results", small, "--store", store)
    assert r.returncode == 0, r.stderr and "change->profile" in r.stdout


BROKEN_FLOW = {
    "endpoint": "POST /flows",
    "body": {"name": "broken flow", "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
             "sourceConnectionIds": ["0b8e2d6a-3c41-4f5e-9a7b-1c2d3e4f5a6b"],
             "targetConnectionIds": ["1c9f3e7b-4d52-4a6f-8b8c-2d3e4f5a6b7c"],
             "transformations": [{"name": "Mapping", "params": {"mappingId": "9f1d2c3b4a5e6f708192a3b4c5d6e7f8",
                                                                "mappingVersion": "0"}}],
             "scheduleParams": {"startTime": 1767225600, "frequency": "minute", "interval": 10}}}


def test_a_broken_body_exits_2_with_one_line_per_problem_naming_object_and_field(tmp_path):
    chain = json.loads((ROOT / "examples/aep/hubspot_incremental.json").read_text())
    chain = [item for item in chain if item["endpoint"] != "POST /flows"]
    mapping = next(item for item in chain if item["endpoint"] == "POST /conversion/mappingSets")
    mapping["body"]["mappings"][3]["destinationXdmPath"] = "person.name.nickName"  # unknown XDM path
    raw = {"system": "aep_dataflows", "name": "broken", "horizon": "1h", "bodies": [chain, BROKEN_FLOW],
           "sources": [{"name": "s", "flow": "broken flow"}]}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    p = sim("run", path, "--out", tmp_path / "o")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    xdm = [ln for ln in lines if "mappings[3].destinationXdmPath" in ln]
    assert len(xdm) == 1 and "bodies[0]" in xdm[0] and "POST /conversion/mappingSets" in xdm[0]
    assert "'person.name.nickName' is not a path of target schema" in xdm[0]
    interval = [ln for ln in lines if "scheduleParams.interval" in ln]
    assert len(interval) == 1 and "POST /flows 'broken flow'" in interval[0]
    assert "10 is below the minimum 15 for frequency 'minute'" in interval[0]


def test_a_schedule_override_is_validated_like_the_body(small, tmp_path):
    p = sim("run", small, "--out", tmp_path / "o", "--set", "schedule.interval=10")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "scheduleParams.interval: 10 is below the minimum 15 for frequency 'minute'" in p.stderr
    p = sim("run", small, "--out", tmp_path / "o", "--set", "schedule.frequency=month")
    assert p.returncode == 2 and "scheduleParams.frequency: 'month' is not allowed" in p.stderr


def test_bodies_are_read_relative_to_the_current_directory(tmp_path):
    p = sim("run", BUNDLED, "--out", tmp_path / "o", "-q", "--no-plots", "--set", "horizon=1h", cwd=ROOT)
    assert p.returncode == 0, p.stderr
    elsewhere = sim("run", BUNDLED, "--out", tmp_path / "o2", "-q", "--set", "horizon=1h", cwd=tmp_path)
    assert elsewhere.returncode == 2
    assert "bodies[0]: examples/aep/hubspot_lifecycle.json: no such file" in elsewhere.stderr


def test_same_seed_same_ledger_digest_across_processes(small, tmp_path):
    digests = []
    for k in range(2):
        out = tmp_path / f"d{k}"
        p = sim("run", small, "--out", out, "-q", "--no-plots", "--seed", "9", "--set", "horizon=3h")
        assert p.returncode == 0, p.stderr
        digests.append(json.loads((out / "summary.json").read_text())["ledger_digest"])
    from sim.runs.runner import run

    here = run(str(small), seed=9, overrides={"horizon": "3h"}, progress=False)
    assert digests[0] == digests[1] == here.ledger.digest(here.horizon_s)
    other = run(str(small), seed=10, overrides={"horizon": "3h"}, progress=False)
    assert other.ledger.digest(other.horizon_s) != digests[0]
