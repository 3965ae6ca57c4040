"""The defaults sit inside the envelopes the vendors publish (``sim calibrate``)."""

import subprocess

import pandas as pd

from sim.runs.calibrate import FIGURES, Figure, calibrate


def test_every_default_sits_inside_the_published_envelope(sim_cmd, tmp_path):
    out = tmp_path / "calibration.csv"
    proc = subprocess.run([*sim_cmd, "calibrate", "--replications", "2", "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=600)
    table = pd.read_csv(out)
    assert list(table.columns[:6]) == ["figure", "published", "twin", "ci_low", "ci_high", "inside"]
    assert len(table) == len(FIGURES)
    assert table["inside"].all(), table[["figure", "twin", "ci_low", "ci_high"]].to_string()
    assert proc.returncode == 0, proc.stderr


def test_a_figure_outside_its_envelope_is_reported_as_such():
    """The check can fail: the same measurement against an envelope it cannot meet."""
    f = FIGURES[0]
    narrow = Figure(f.figure, f.published, 0.0, 100.0, f.scenario, {"horizon": "30m"}, f.measure, f.source)
    row = calibrate(replications=2, figures=(narrow,)).iloc[0]
    assert not row["inside"] and row["twin"] > 100
