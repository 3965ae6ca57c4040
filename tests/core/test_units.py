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


def test_timestamps_numbers_text_and_their_limits():
    """Epoch numbers pass through up to 1e15 in magnitude (one more is refused); text is a number
    or ISO 8601 (Z or z, offsets honoured, naive = UTC, surrounding spaces ignored); anything else
    is refused with the value shown (long values shortened)."""
    import pytest

    from sim.core.units import parse_timestamp

    assert parse_timestamp(1_700_000_000) == 1_700_000_000.0 and parse_timestamp(1.5) == 1.5
    assert parse_timestamp(10**15) == 1e15 and parse_timestamp(-(10**15)) == -1e15
    assert parse_timestamp(1e16) == 1e16  # a float is finite: only integers are bounded before float()
    assert parse_timestamp("1700000000.25") == 1_700_000_000.25
    z = 1_795_510_800.0  # 2026-11-24T09:00:00Z
    assert parse_timestamp("2026-11-24T09:00:00Z") == z == parse_timestamp(" 2026-11-24t09:00:00z ")
    assert parse_timestamp("2026-11-24 09:00:00") == z  # naive: UTC
    assert parse_timestamp("2026-11-24T09:00:00+01:00") == z - 3600
    for bad, message in [
        (10**15 + 1, "1000000000000001 is not a finite time"),
        (10**60, "10000000000000000000...00000000 (61 characters) is not a finite time"),
        (float("inf"), "inf is not a finite time"),
        ("nan", "'nan' is not a finite time"),
        (True, "'True' is neither epoch seconds nor an ISO 8601 time"),
        ("yesterday", "'yesterday' is neither epoch seconds nor an ISO 8601 time"),
    ]:
        with pytest.raises(ValueError) as err:
            parse_timestamp(bad)
        assert str(err.value) == message


def test_a_long_value_is_shown_shortened_in_duration_errors():
    import pytest

    from sim.core.units import DurationError, parse_duration

    with pytest.raises(DurationError) as err:
        parse_duration(10**60)
    assert str(err.value) == ("10000000000000000000...00000000 (61 characters) is too long; a duration is at "
                              "most 100 years (3.1536e+09 s)")
    with pytest.raises(DurationError) as err:
        parse_duration(10**38)  # 39 characters: shown whole
    assert str(err.value).startswith("100000000000000000000000000000000000000 is too long")
