"""``ledger="aggregate"`` / ``sim run --ledger aggregate`` on whole runs: every count a user
compares designs by (conservation, drops, throughput, intents caught, queue lengths) equals the
full ledger's; the click latencies agree to the histogram's resolution and move when the design
does; the digest is reproducible across processes; what it cannot do is refused in one line."""

import json
import subprocess

import numpy as np
import pytest

import sim
from sim.core.folding import FoldError
from sim.scenario.errors import ScenarioError
from sim.systems import get
from tests.conftest import DEFAULT, SCENARIOS

SHORT = {"horizon": "1h", "visitors.rate_per_s": 4}
OUTAGE = {"horizon": "4h", "visitors.rate_per_s": 3, "identity.batch.runs_per_day": 4,
          "visitors.other_email_share": 0.3, "faults": [{"target": "crm", "kind": "error_rate", "rate": 1.0,
                                                         "start": "1h", "duration": "2h"}]}


@pytest.fixture(scope="module")
def both():
    """The CRM outage scenario (a fault downstream of the clicks), full and aggregate."""
    path = SCENARIOS / "crm_outage.yaml"
    return (sim.run(path, overrides=OUTAGE, progress=False),
            sim.run(path, overrides=OUTAGE, progress=False, ledger="aggregate"))


def test_every_count_equals_the_full_ledgers(both):
    full, agg = both
    assert agg.aggregated_kinds() == ["click"] and full.aggregated_kinds() == []
    assert full.conservation.to_dict() == agg.conservation.to_dict()
    assert full.throughput() == agg.throughput()
    assert full.lost_detail().equals(agg.lost_detail())
    assert np.array_equal(full.queue_series().to_numpy(), agg.queue_series().to_numpy())
    assert full.intents().equals(agg.intents())
    assert full.intent_summary() == agg.intent_summary()
    assert full.counts == agg.counts


def test_latencies_agree_exactly_downstream_and_to_the_histogram_upstream(both):
    full, agg = both
    for key in full.latency_keys():
        a, b = full.stats(key), agg.stats(key)
        assert a["count"] == b["count"]
        if full.kind_of(key) != "click" or key in full.cross():
            assert a == b  # the other kinds and the click->notification path are kept per message
            continue
        assert b["max"] == a["max"] and b["mean"] == pytest.approx(a["mean"], rel=1e-9)
        for q in ("p50", "p95", "p99"):
            assert b[q] == pytest.approx(a[q], rel=2.5e-3, abs=1e-9)
    d = agg.to_dict()
    assert d["ledger"] == "aggregate" and d["aggregated_kinds"] == ["click"]
    assert full.to_dict()["ledger"] == "full"


def test_the_outage_downstream_changes_the_headline_in_both_modes(both):
    full, agg = both
    calm = sim.run(SCENARIOS / "crm_outage.yaml", overrides={**OUTAGE, "faults": []}, progress=False,
                   ledger="aggregate")
    assert calm.intent_summary()["caught"] > agg.intent_summary()["caught"] == full.intent_summary()["caught"]


def test_a_faster_micro_batch_moves_the_aggregated_click_latency():
    slow = sim.run(DEFAULT, overrides=SHORT, progress=False, ledger="aggregate")
    fast = sim.run(DEFAULT, overrides={**SHORT, "ingestion.flush_interval": "30s"}, progress=False, ledger="aggregate")
    assert fast.stats("ingest->lakehouse")["p50"] < 0.5 * slow.stats("ingest->lakehouse")["p50"]


def test_what_the_aggregates_cannot_answer_is_refused(both):
    _, agg = both
    with pytest.raises(FoldError, match="no per-message latencies"):
        agg.latency("ingest->lakehouse")
    assert len(agg.latency("click->notification")) == agg.stats("click->notification")["count"]
    x, y, n = agg.latency_ecdf("click->insight")
    assert n == agg.stats("click->insight")["count"] and len(x) == len(y) == 2000 and y[-1] == 1.0
    assert np.all(np.diff(x) >= 0)
    with pytest.raises(ScenarioError, match="'sometimes' is not a ledger mode; allowed: full, aggregate"):
        sim.run(DEFAULT, overrides=SHORT, progress=False, ledger="sometimes")
    with pytest.raises(ScenarioError, match="not available for the dynamics_journeys system"):
        sim.run(SCENARIOS / "order_ready_notification.yaml", overrides={"horizon": "10m"}, progress=False,
                ledger="aggregate")


def test_the_plan_for_an_aggregate_run_is_smaller():
    sc = sim.load(DEFAULT, {"horizon": "24h", "visitors.rate_per_s": 23})
    full, agg = get("data_cloud").estimate(sc), get("data_cloud").estimate(sc, ledger="aggregate")
    assert agg.memory_bytes < 0.5 * full.memory_bytes and agg.figures_bytes == 0


def test_the_real_time_path_folds_too():
    ov = {**SHORT, "horizon": "10m", "realtime.enabled": True}
    full = sim.run(DEFAULT, overrides=ov, progress=False)
    agg = sim.run(DEFAULT, overrides=ov, progress=False, ledger="aggregate")
    assert full.conservation.to_dict() == agg.conservation.to_dict()
    assert full.intent_summary() == agg.intent_summary()


def test_the_cli_flag_digest_across_processes_and_refusals(sim_cmd, tmp_path):
    def cli(*args):
        return subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "horizon=30m", "--no-plots", *args],
                              capture_output=True, text=True, timeout=300)

    shown = cli("--ledger", "aggregate", "--out", str(tmp_path / "a0"))
    quiet = cli("--ledger", "aggregate", "--out", str(tmp_path / "a1"), "-q")
    assert shown.returncode == quiet.returncode == 0, shown.stderr + quiet.stderr
    assert "aggregate ledger: click latencies are percentiles from histograms" in shown.stdout
    digests = [json.loads((tmp_path / f"a{k}" / "summary.json").read_text())["ledger_digest"] for k in range(2)]
    assert digests[0] == digests[1]
    bad = cli("--ledger", "aggregate", "--replications", "2", "--out", str(tmp_path / "r"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "--ledger aggregate: replications keep the full ledger" in bad.stderr
    other = subprocess.run([*sim_cmd, "run", str(SCENARIOS / "order_ready_notification.yaml"), "--set",
                            "horizon=10m", "--ledger", "aggregate", "-q", "--no-plots", "--out", str(tmp_path / "o")],
                           capture_output=True, text=True, timeout=300)
    assert other.returncode == 2 and len(other.stderr.strip().splitlines()) == 1
    assert "not available for the dynamics_journeys system" in other.stderr
