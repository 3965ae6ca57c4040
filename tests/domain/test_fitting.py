"""Fitting stage durations (sim.domain.fitting) and sim fit."""

import subprocess

import numpy as np
import pytest
import yaml

import sim
from sim.domain.fitting import FitError, fit_durations, stage_durations
from tests.conftest import SCENARIOS

RNG = np.random.default_rng(11)
SAMPLES = {"lognorm": RNG.lognormal(np.log(2.0), 0.7, 4000), "gamma": RNG.gamma(3.0, 2.0, 4000),
           "weibull_min": 5.0 * RNG.weibull(1.6, 4000)}


@pytest.mark.parametrize("family", sorted(SAMPLES))
def test_the_generating_family_wins_and_its_quantiles_come_back(family):
    x = SAMPLES[family]
    f = fit_durations(x, family)
    assert f.best.family == family
    assert f.best.median == pytest.approx(np.median(x), rel=0.05)
    assert f.best.p95 == pytest.approx(np.percentile(x, 95), rel=0.06)
    assert f.best.ks_pvalue > 0.01
    assert all(o.aic > f.best.aic for o in f.fits[1:])


def test_a_wrong_family_fails_the_ks_test_on_a_large_sample():
    f = fit_durations(SAMPLES["gamma"], "g", families=("lognorm",))
    assert f.best.family == "lognorm" and f.best.ks_pvalue < 0.01


def test_too_few_durations_are_refused():
    with pytest.raises(FitError, match="19 positive durations; at least 20"):
        fit_durations(np.r_[np.ones(19), 0.0, -1.0, np.nan], "s")
    assert fit_durations(np.linspace(1, 2, 20), "s").n == 20


def test_durations_between_consecutive_stages_of_each_message():
    m = np.array(["a", "a", "a", "b", "b"])
    s = np.array(["x", "z", "y", "x", "y"])
    t = np.array([0.0, 5.0, 2.0, 10.0, 13.0])
    assert {k: v.tolist() for k, v in stage_durations(m, s, t).items()} == \
        {"x->y": [2.0, 3.0], "y->z": [3.0]}
    ordered = stage_durations(m, s, t, order=["x", "z", "y"])  # a path order that time contradicts
    assert {k: v.tolist() for k, v in ordered.items()} == {"x->z": [5.0], "z->y": [-3.0], "x->y": [3.0]}


def stages_csv(path, n=400):
    rows = ["message_id,stage,time"]
    for m in range(n):
        t = 1_795_500_000 + 10.0 * m
        rows += [f"m{m},post,{t}", f"m{m},ack,{t + SAMPLES['lognorm'][m] / 4}"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_sim_fit_writes_a_scenario_sim_run_accepts(sim_cmd, tmp_path):
    stages = stages_csv(tmp_path / "stages.csv")
    out = tmp_path / "fitted.yaml"
    proc = subprocess.run([*sim_cmd, "fit", str(stages), "--out", str(out), "--scenario",
                           str(SCENARIOS / "fraud_sms_webhook.yaml"), "--assign", "post->ack=webhooks.endpoint.latency",
                           "--plots", str(tmp_path / "qq")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "post->ack" in proc.stdout and "lognorm" in proc.stdout
    sc = sim.load(out)
    fits = yaml.safe_load((tmp_path / "fitted.fits.yaml").read_text())["fits"]["post->ack"]
    assert sc.webhooks.endpoint.latency.median == pytest.approx(fits["median_s"])
    assert sc.webhooks.endpoint.latency.p95 == pytest.approx(fits["p95_s"])
    assert fits["median_s"] == pytest.approx(np.median(SAMPLES["lognorm"][:400] / 4), rel=0.1)
    assert (tmp_path / "qq" / "qq_post_to_ack.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, says", [
    (["--assign", "post->ack=webhooks.endpoint.latency"], "--assign needs --scenario"),
    (["--scenario", "S", "--assign", "a->b=webhooks.endpoint.latency"], "no stage pair a->b"),
    (["--scenario", "S", "--assign", "post->ack=webhooks.nope"], "unknown field 'nope'"),
    (["--time-column", "when"], "no column 'when'"),
])
def test_sim_fit_bad_input_exits_2(sim_cmd, tmp_path, args, says):
    stages = stages_csv(tmp_path / "stages.csv")
    args = [str(SCENARIOS / "fraud_sms_webhook.yaml") if a == "S" else a for a in args]
    proc = subprocess.run([*sim_cmd, "fit", str(stages), "--out", str(tmp_path / "f.yaml"), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr
