"""Durations and timestamps at their edges: each unit, compounds and where they break, both sides
of the 100-year bound (integers, floats and text), negative values in every form, the exact
messages, and the shortening of a long value (40 characters shown whole, 41 cut)."""

from __future__ import annotations

import math

import pytest

from sim.core.units import ALLOWED, MAX_DURATION_S, UNITS_S, DurationError, parse_duration, parse_timestamp

MAX = 100 * 365 * 86400  # 3,153,600,000 s
LONG = "is too long; a duration is at most 100 years (3.1536e+09 s)"
NEG = "is negative; a duration must be positive (or 0)"


def _msg(value):
    with pytest.raises(DurationError) as err:
        parse_duration(value)
    assert isinstance(err.value, ValueError)
    return str(err.value)


def test_the_units_and_the_bound_are_the_documented_ones():
    assert UNITS_S == {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
    assert MAX_DURATION_S == MAX
    assert ALLOWED == "a number of seconds or a string such as '500ms', '90s', '10m', '2h', '1d', '1h30m'"


@pytest.mark.parametrize("text,seconds", [
    ("1ms", 0.001), ("1s", 1.0), ("1m", 60.0), ("1h", 3600.0), ("1d", 86400.0), ("1w", 604800.0),
    ("0s", 0.0), ("2.5m", 150.0), ("1w1d1h1m1s1ms", 604800 + 86400 + 3600 + 60 + 1 + 0.001),
    ("1m500ms", 60.5), ("1h1h", 7200.0), ("007s", 7.0),
])
def test_each_unit_and_compounds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15)


def test_surrounding_white_space_is_ignored():
    assert parse_duration("  90s \t\n") == 90.0
    assert parse_duration("\t1h30m ") == 5400.0


@pytest.mark.parametrize("bad", ["1h x", "1hx30m", "x1h", "1.h", ".5h", "1h30", "h", "1 h", "1H", "1e3s", "+5s",
                                 "1h-30m"])
def test_text_that_is_not_a_whole_sequence_of_parts_is_refused_naming_the_allowed_forms(bad):
    assert _msg(bad) == f"{bad!r} is not a duration; expected {ALLOWED}"


@pytest.mark.parametrize("bad", [True, False, None, [1], b"5s", 1j])
def test_other_types_are_refused_naming_the_allowed_forms(bad):
    assert _msg(bad) == f"{bad!r} is not a duration; expected {ALLOWED}"


@pytest.mark.parametrize("value", [0, 1, 0.0, 0.25, 42, MAX, float(MAX)])
def test_numbers_up_to_the_bound_are_seconds(value):
    got = parse_duration(value)
    assert got == value and type(got) is float


@pytest.mark.parametrize("value", [MAX + 1, float(MAX) * (1 + 1e-15), 1e300, 10**400])
def test_numbers_past_the_bound_are_too_long(value):
    text = repr(value)
    shown = text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"
    assert _msg(value) == f"{shown} {LONG}"


@pytest.mark.parametrize("value", [-1, -0.001, -MAX, -(MAX + 1), -(10**400), -1e300])
def test_negative_numbers_of_any_size_are_negative(value):
    text = repr(value)
    shown = text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"
    assert _msg(value) == f"{shown} {NEG}"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_floats_are_refused(value):
    assert _msg(value) == f"{value!r} is not a duration; expected a finite number of seconds"


def test_text_at_the_bound_and_one_unit_past_it():
    assert parse_duration("36500d") == MAX
    assert parse_duration("3153600000s") == MAX
    assert _msg("36501d") == f"'36501d' {LONG}"
    assert _msg("3153600001s") == f"'3153600001s' {LONG}"
    assert _msg("9" * 400 + "w") == "'" + "9" * 19 + "..." + "9" * 6 + f"w' (403 characters) {LONG}"


@pytest.mark.parametrize("bad", ["-5s", " -5s", "-0s", "-1h30m", "-36500d", "- 5s"])
def test_negative_text_says_it_is_negative(bad):
    assert _msg(bad) == f"{bad!r} {NEG}"


@pytest.mark.parametrize("bad", ["-", "-x", "--5s", "-36501d", "-1h x"])
def test_a_minus_before_something_that_is_not_a_duration_is_not_called_negative(bad):
    # "-36501d": the unsigned part is too long, so it is not a duration either
    assert _msg(bad) == f"{bad!r} is not a duration; expected {ALLOWED}"


def test_a_value_of_40_characters_is_shown_whole_and_of_41_cut():
    forty = "9" * 38  # repr: 40 characters with the quotes
    assert _msg(forty + "!") == f"{forty + '!'!r} is not a duration; expected {ALLOWED}"  # not cut here
    w40 = "9" * 37 + "w"  # 38 characters, repr 40
    assert _msg(w40) == f"'{w40}' {LONG}"
    w41 = "9" * 38 + "w"  # repr 41
    assert _msg(w41) == f"'{w41[:19]}...{w41[-7:]}' (41 characters) {LONG}"


def test_timestamps_at_their_limits_and_every_text_form():
    assert parse_timestamp(0) == 0.0 and type(parse_timestamp(0)) is float
    assert parse_timestamp(10**15) == 1e15 and parse_timestamp(-(10**15)) == -1e15
    for bad in (10**15 + 1, -(10**15) - 1):
        with pytest.raises(ValueError, match=r"^-?1000000000000001 is not a finite time$"):
            parse_timestamp(bad)
    for bad, shown in [(math.nan, "nan"), (-math.inf, "-inf")]:
        with pytest.raises(ValueError) as err:
            parse_timestamp(bad)
        assert str(err.value) == f"{shown} is not a finite time"
    with pytest.raises(ValueError) as err:
        parse_timestamp(" -inf ")
    assert str(err.value) == "'-inf' is not a finite time"
    assert parse_timestamp(" 12.5 ") == 12.5 and parse_timestamp("-3") == -3.0
    assert parse_timestamp("1970-01-01T00:00:01z") == 1.0
    assert parse_timestamp("1970-01-01T01:00:00+01:00") == 0.0
    assert parse_timestamp("1970-01-02") == 86400.0
    with pytest.raises(ValueError) as err:
        parse_timestamp(" soon ")
    assert str(err.value) == "'soon' is neither epoch seconds nor an ISO 8601 time"
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_a_naive_timestamp_is_utc_whatever_the_machine_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_timestamp("1970-01-02T00:00:00") == 86400.0
        assert parse_timestamp("2026-07-01 12:00") == 1_782_907_200.0  # summer: no DST shift either
    finally:
        monkeypatch.undo()
        time.tzset()
