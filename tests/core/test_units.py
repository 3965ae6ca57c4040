import pytest

from sim.core.units import DurationError, parse_duration


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400),
                                          ("500ms", 0.5), ("1h30m", 5400), (42, 42.0), ("1.5h", 5400)])
def test_durations_read_in_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["-5s", -1, "-1h30m", -0.001])
def test_negative_durations_say_they_must_be_positive(bad):
    with pytest.raises(DurationError, match="is negative; a duration must be positive"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["10 mins", "10", "m10", "", "10x", "--5s", True, "1h 30m", float("inf")])
def test_bad_durations_name_the_allowed_forms(bad):
    with pytest.raises(DurationError, match="expected"):
        parse_duration(bad)



def test_column_time_parser_agrees_with_the_scalar_one():
    import numpy as np

    from sim.core.units import parse_timestamp
    from sim.runs.replay import parse_times

    samples = ["1767261780", "1767261780.25", "2026-01-01T10:00:00", "2026-01-01T10:00:00Z",
               "2026-01-01T11:00:00+01:00", "2026-01-01", "2026-01-01T10:00:00.5-02:30"]
    got = parse_times(np.array([*samples, "soon", ""], dtype=object))
    assert got[:-2].tolist() == [parse_timestamp(s) for s in samples]
    assert np.isnan(got[-2:]).all()
