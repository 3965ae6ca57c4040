"""``sim calibrate``: the check can fail. That every default sits inside its published envelope is
asserted where the README's ``sim calibrate`` command runs (tests/e2e/test_readme.py)."""

from sim.runs.calibrate import FIGURES, Figure, calibrate


def test_a_figure_outside_its_envelope_is_reported_as_such():
    """The check can fail: the same measurement against an envelope it cannot meet."""
    f = FIGURES[0]
    narrow = Figure(f.figure, f.published, 0.0, 100.0, f.scenario, {"horizon": "30m"}, f.measure, f.source)
    row = calibrate(replications=2, figures=(narrow,)).iloc[0]
    assert not row["inside"] and row["twin"] > 100
