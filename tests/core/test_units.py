import pytest

from sim.core.units import DurationError, parse_duration


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400),
                                          ("500ms", 0.5), ("1h30m", 5400), (42, 42.0), ("1.5h", 5400)])
def test_durations_read_in_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["10 mins", "10", "m10", "", "10x", "-5s", -1, True, "1h 30m"])
def test_bad_durations_name_the_allowed_forms(bad):
    with pytest.raises(DurationError, match="expected"):
        parse_duration(bad)

