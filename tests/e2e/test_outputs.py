"""What a run writes and shows: report.html with every figure, progress lines in logs, results
tables sorted by number, clear messages for small mistakes."""

import base64
import json
import re
import subprocess

import pytest

import sim
from sim.scenario.load import ScenarioError
from tests.conftest import DEFAULT, SCENARIOS

QUICK = ["--set", "horizon=40m", "--set", "visitors.rate_per_s=1"]


def test_report_html_embeds_every_figure_and_the_tables(sim_cmd, tmp_path):
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), *QUICK, "--out", str(tmp_path), "-q"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "report.html").read_text()
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["bus.png", "e2e_histogram.png", "latency_cdf.png", "queues.png"]
    embedded = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([^']+)'", page)
    assert sorted(name for name, _ in embedded) == pngs
    for name, data in embedded:  # the very bytes of the PNG files
        assert base64.b64decode(data) == (tmp_path / name).read_bytes()
    for heading in ("Intents", "What was lost and why", "Latency and throughput per stage", "Scenario"):
        assert heading in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page  # no network
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert f"seed {summary['seed']}" in page and summary["ledger_digest"][:16] in page


def test_a_webhook_only_scenario_has_no_bus_plot_and_its_histogram_follows_the_ack(tmp_path):
    r = sim.run(SCENARIOS / "fraud_sms_webhook.yaml", overrides={"horizon": "1h"})
    names = [p.name for p in r.write(tmp_path)]
    assert "bus.png" not in names and "report.html" in names
    assert r.primary_e2e() == "click->ack"
    assert "flow" not in r.ledger.tables and "platform_event" not in r.ledger.tables
    assert not any("notification" in k for k in r.summary().index)


def test_progress_lines_when_stderr_is_not_a_terminal(sim_cmd, tmp_path):
    env = {"SIM_PROGRESS_INTERVAL": "0", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), *QUICK, "--out", str(tmp_path), "--no-plots"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("b2b_pricing_alert:")]
    assert len(lines) > 10 and "clicks=" in lines[-1] and "ETA" in lines[-1]
    assert re.search(r"\(\d+\.\d s wall, \d+\.\d s simulating\)", proc.stdout)
    quiet = subprocess.run([*sim_cmd, "run", str(DEFAULT), *QUICK, "--out", str(tmp_path), "--no-plots", "-q"],
                           capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_out_under_a_file_is_refused_before_simulating(sim_cmd, tmp_path):
    (tmp_path / "file").write_text("x")
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "horizon=30d",
                           "--out", str(tmp_path / "file" / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: --out {tmp_path / 'file' / 'o'}: lies under a file, not a "
                                                "directory; give a directory that can be written"]


def test_python_overrides_errors_say_overrides_and_cli_errors_say_set(sim_cmd):
    with pytest.raises(ScenarioError, match=r"^overrides: visitors.rate_per_sec: unknown field"):
        sim.run(DEFAULT, overrides={"visitors.rate_per_sec": 3})
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "visitors.rate_per_sec=3"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: --set: visitors.rate_per_sec: unknown field")


def test_results_sort_parameters_as_numbers_and_fit_120_columns(sim_cmd, tmp_path):
    store = tmp_path / "s.duckdb"
    sim.sweep(DEFAULT, grid={"visitors.rate_per_s": [10, 2, 100, 20]}, replications=1, executor="serial",
              overrides={"horizon": "5m"}, store=store)
    table = sim.results.compare(store)
    assert table["visitors.rate_per_s"].tolist() == [2, 10, 20, 100]
    proc = subprocess.run([*sim_cmd, "results", str(store)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 120
    assert [int(line.split()[0]) for line in lines[1:]] == [2, 10, 20, 100]
    assert "bell.p99" in lines[0]
