"""The command line on the Dynamics scenarios: run (report with the system's figures), compare,
replications, sweeps and results; a bad scenario exits 2 with one line naming what is wrong."""

import json
import re
import subprocess

import pytest

from .conftest import ORDERS, SUPPORT, WEBINAR

FIGURES = ["e2e_histogram.png", "journey_tiles.png", "latency_cdf.png", "queues.png", "trigger_latency.png"]


def _sim(sim_cmd, *args, cwd=None):
    return subprocess.run([*sim_cmd, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_sim_run_writes_the_summary_and_a_report_with_the_journey_figures(sim_cmd, tmp_path):
    proc = _sim(sim_cmd, "run", WEBINAR, "--out", tmp_path / "o", "--set", "horizon=1d")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "o"
    assert sorted(p.name for p in out.glob("*.png")) == FIGURES
    page = (out / "report.html").read_text()
    embedded = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,", page)
    assert sorted(embedded) == FIGURES
    assert "Journeys: outcomes" in page and "Trigger processing against the published envelope" in page
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conservation"]["ok"] and "webinar_invitation" in summary["journeys"]
    assert "journey webinar_invitation: entered" in proc.stdout and "inside the published envelope" in proc.stdout


def test_sim_compare_runs_every_variant(sim_cmd, tmp_path):
    proc = _sim(sim_cmd, "compare", ORDERS, "--set", "horizon=6h", "--out", tmp_path / "c.csv", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "first_step_p90_s" in lines[0] and "inboxed" in lines[0] and "overload_drops" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["default", "sms_outage", "sms_provider_errors"]
    assert (tmp_path / "c.csv").exists()


def test_replications_and_a_capacity_sweep(sim_cmd, tmp_path):
    proc = _sim(sim_cmd, "run", ORDERS, "--replications", "3", "--set", "horizon=2h", "--out", "r", "-q",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r" / "replications.json").read_text())
    assert data["replications"] == 3
    assert "latency_s.trigger->first_step.p90" in data["metrics"]
    assert "journeys.order_ready.entered" in data["metrics"]
    proc = _sim(sim_cmd, "sweep", SUPPORT, "--grid", "trigger_processing.capacity_per_min=5,2500", "--replications",
                "1", "--set", "horizon=6h", "--store", "s.duckdb", "--executor", "serial", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 variants x 1 replications: 2 run, 0 failed" in proc.stdout
    assert "1st_step.p90" in proc.stdout  # the system's own headline metrics
    proc = _sim(sim_cmd, "results", "s.duckdb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert "1st_step.p90" in rows[0] and len(rows) == 3
    slow, fast = (float(row.split()[3]) for row in rows[1:])  # capacity 5/min, then 2,500/min
    assert slow > fast




@pytest.mark.parametrize("case", ["tile_kind", "branch", "timeout", "field", "source_column", "response_tile"])
def test_a_bad_scenario_exits_2_with_one_line_naming_it(sim_cmd, tmp_path, case):
    text = SUPPORT.read_text()
    if case == "tile_kind":
        text = text.replace("          kind: action\n          channel: survey\n", "          kind: carrier_pigeon\n",
                            1)
        expect = ["case_resolved_survey", "'survey'", "unknown tile kind 'carrier_pigeon'"]
    elif case == "branch":
        text = text.replace('condition: "satisfaction <= 2"', 'condition: "mood <= 2"')
        expect = ["case_resolved_survey", "'satisfaction'", "'mood'", "table incident does not have"]
    elif case == "timeout":
        text = text.replace("                  timeout: 12h\n", "")
        expect = ["case_resolved_survey", "'wait_order'", "needs a timeout"]
    elif case == "field":
        text = text.replace("customers:\n", "trigger_processing:\n  capacity_per_minute: 10\ncustomers:\n")
        expect = ["trigger_processing.capacity_per_minute", "unknown field", "capacity_per_min"]
    elif case == "source_column":
        text = text.replace("      prioritycode: {choice", "      priority: {choice")
        expect = ["sources", "(cases)", "values", "no column 'priority'"]
    else:
        text = text.replace("  - {tile: discount_email,", "  - {tile: discount_mail,")
        expect = ["responses", "discount_mail", "action tiles"]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc = _sim(sim_cmd, "run", path, "--out", tmp_path / "o")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in expect:
        assert needle in lines[0], (needle, lines[0])
