"""PeriodicSchedule: the flow spec's schedule rules (jsonschema) and the run times."""

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.aep.problems import AepError
from sim.domain.aep.schedules import SCHEDULE_SPEC, PeriodicSchedule

S = 1767225600  # 2026-01-01T00:00:00Z


def problems(params, strict=False):
    with pytest.raises(AepError) as exc:
        PeriodicSchedule.from_params(params, strict=strict)
    return [str(p) for p in exc.value.problems]


def test_the_seed_schedule_is_accepted_and_its_string_interval_is_read_as_an_integer_with_a_note():
    """The seed's own example writes "interval": "30": read as 30, and the coercion is said."""
    s = PeriodicSchedule.from_params({"startTime": S, "frequency": "minute", "interval": "30"})
    assert (s.start_time, s.frequency, s.interval, s.backfill) == (S, "minute", 30, True)
    assert len(s.notes) == 1 and "interval" in s.notes[0] and "'30'" in s.notes[0]


def test_strict_mode_refuses_the_string_interval_naming_the_field():
    assert problems({"startTime": S, "frequency": "minute", "interval": "30"}, strict=True) == \
        ["interval: '30' is not an integer"]


@pytest.mark.parametrize("text", ["30.5", " 30", "-1", "", "thirty", "<START TIME>"])
def test_only_plain_digit_strings_are_coerced(text):
    assert problems({"startTime": S, "frequency": "hour", "interval": text}) == [
        f"interval: {text!r} is not an integer"]


def test_a_coerced_string_still_faces_the_minimum():
    assert problems({"startTime": S, "frequency": "minute", "interval": "10"}) == \
        ["interval: 10 is below the minimum 15 for frequency 'minute'"]


@pytest.mark.parametrize("frequency,low,ok", [("minute", 14, 15), ("hour", 0, 1), ("day", 0, 1), ("week", 0, 1)])
def test_interval_minimum_both_sides(frequency, low, ok):
    assert PeriodicSchedule.from_params({"startTime": S, "frequency": frequency, "interval": ok}).interval == ok
    [problem] = problems({"startTime": S, "frequency": frequency, "interval": low})
    assert problem.startswith(f"interval: {low} is below the minimum {ok}")


def test_interval_10_with_minute_is_refused():
    assert problems({"startTime": S, "frequency": "minute", "interval": 10}) == \
        ["interval: 10 is below the minimum 15 for frequency 'minute'"]


def test_frequency_month_is_refused_listing_the_allowed_ones():
    assert problems({"startTime": S, "frequency": "month", "interval": 1}) == \
        ["frequency: 'month' is not allowed; allowed: once, minute, hour, day, week"]


def test_missing_start_time_and_placeholder_start_time():
    assert problems({"frequency": "minute", "interval": 15}) == ["startTime: required field is missing"]
    assert problems({"startTime": "<START TIME>", "frequency": "minute", "interval": 15}) == \
        ["startTime: '<START TIME>' is not an integer"]


def test_once_takes_no_interval_and_the_others_need_one():
    assert PeriodicSchedule.from_params({"startTime": S, "frequency": "once"}).interval is None
    assert problems({"startTime": S, "frequency": "once", "interval": 1}) == \
        ["interval: not allowed with frequency 'once' (it runs one time)"]
    assert problems({"startTime": S, "frequency": "day"}) == ["interval: required field is missing"]


def test_end_time_must_follow_start_time():
    assert PeriodicSchedule.from_params({"startTime": S, "endTime": S + 1, "frequency": "hour", "interval": 1})
    assert problems({"startTime": S, "endTime": S, "frequency": "hour", "interval": 1}) == \
        [f"endTime: {S} is not after startTime {S}"]


def test_epoch_milliseconds_are_refused_with_the_seconds_suggested():
    [p] = problems({"startTime": S * 1000, "frequency": "hour", "interval": 1})
    assert p.startswith("startTime:") and "milliseconds" in p and str(S) in p


def test_unknown_fields_and_bad_types_are_named():
    assert problems({"startTime": S, "frequency": "hour", "interval": 1, "startime": 3}) == \
        ["unknown field(s) startime; allowed here: backfill, endTime, frequency, interval, startTime"]
    assert problems({"startTime": S, "frequency": "hour", "interval": 1, "backfill": "yes"}) == \
        ["backfill: 'yes' is not true or false"]
    assert problems({"startTime": S, "frequency": "hour", "interval": True}) == ["interval: True is not an integer"]
    assert problems("every hour") == ["scheduleParams must be an object"]


def test_backfill_defaults_to_true_and_can_be_switched_off():
    assert PeriodicSchedule.from_params({"startTime": S, "frequency": "hour", "interval": 1}).backfill is True
    assert PeriodicSchedule.from_params({"startTime": S, "frequency": "hour", "interval": 1,
                                         "backfill": False}).backfill is False


def test_direct_construction_is_validated_too():
    with pytest.raises(AepError, match="interval: 5 is below the minimum 15"):
        PeriodicSchedule(S, "minute", 5)


# -- run times ------------------------------------------------------------------------------------
@pytest.mark.parametrize("frequency,interval,step", [("minute", 15, 900), ("minute", 30, 1800), ("hour", 2, 7200),
                                                     ("day", 1, 86400), ("week", 1, 604800)])
def test_run_times_are_start_plus_k_periods_in_a_half_open_window(frequency, interval, step):
    s = PeriodicSchedule(S, frequency, interval)
    until = S + 4 * step
    assert s.run_times(until).tolist() == [S, S + step, S + 2 * step, S + 3 * step]  # until itself excluded
    assert s.run_times(until + 1).tolist()[-1] == S + 4 * step
    assert s.period_s == step


def test_end_time_stops_the_schedule_before_it():
    assert PeriodicSchedule(S, "minute", 15, end_time=S + 1800).run_times(S + 10**6).tolist() == [S, S + 900]
    assert PeriodicSchedule(S, "minute", 15, end_time=S + 1801).run_times(S + 10**6).tolist() == [S, S + 900, S + 1800]
    assert PeriodicSchedule(S, "week", 1, end_time=S + 1).run_times(S + 10**8).tolist() == [S]


def test_once_runs_one_time_if_inside_the_window():
    once = PeriodicSchedule(S, "once")
    assert once.run_times(S + 1).tolist() == [S]
    assert once.run_times(S).tolist() == []
    assert once.next_run(S - 5) == S and once.next_run(S) is None


def test_next_run():
    s = PeriodicSchedule(S, "hour", 1, end_time=S + 3 * 3600)
    assert [s.next_run(S - 1), s.next_run(S), s.next_run(S + 3599), s.next_run(S + 3600)] == \
        [S, S + 3600, S + 3600, S + 7200]
    assert s.next_run(S + 2 * 3600) is None  # S + 3h is endTime: no run there


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["minute", "hour", "day", "week"]), st.integers(1, 100), st.integers(0, 10**7),
       st.one_of(st.none(), st.integers(1, 10**7)))
def test_run_times_property(frequency, interval, span, end_after):
    interval = max(interval, 15) if frequency == "minute" else interval
    s = PeriodicSchedule(S, frequency, interval, None if end_after is None else S + end_after)
    times = s.run_times(S + span)
    limit = min(S + span, s.end_time or np.inf)
    assert times.dtype == np.int64
    assert all(S <= t < limit for t in times)
    assert len(times) == max(0, -(-(limit - S) // s.period_s))
    assert (np.diff(times) == s.period_s).all()


_value = st.one_of(st.integers(-5, 2 * 10**11), st.text(max_size=4), st.booleans(), st.none(),
                   st.sampled_from(["30", "15", "0"]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["startTime", "endTime", "interval", "frequency", "backfill", "other"]),
                       st.one_of(_value, st.sampled_from(["once", "minute", "hour", "day", "week", "month"])),
                       max_size=6))
def test_strict_validation_is_exactly_the_published_schema_plus_two_cross_field_rules(params):
    """The oracle is jsonschema itself on SCHEDULE_SPEC: nothing is hand-written on top except
    endTime > startTime and the milliseconds guard."""
    schema_ok = jsonschema.Draft7Validator(SCHEDULE_SPEC).is_valid(params)
    start, end = params.get("startTime"), params.get("endTime")
    cross_ok = not schema_ok or (start < 10**11 and (end is None or (end < 10**11 and end > start)))
    try:
        PeriodicSchedule.from_params(params, strict=True)
        accepted = True
    except AepError:
        accepted = False
    assert accepted == (schema_ok and cross_ok)
