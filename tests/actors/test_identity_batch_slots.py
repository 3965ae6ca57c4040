"""The next identity batch run's slot (``next_slot``): the first epoch-aligned slot after the running
one finishes, computed in O(1) whatever the run's duration (a run drawn as lasting forever used to
step period by period for ever), and the same value as stepping for the durations runs have."""

import math

import pytest

import sim
from sim.actors.data_cloud import identity_service
from sim.actors.data_cloud.identity_service import next_slot
from tests.conftest import DEFAULT
from tests.hostile.test_property_inputs import time_limit

P = 21600.0  # 4 runs a day


def stepped(now: float, period: float, done: float) -> float:
    """The slot as it was found before: one period at a time."""
    following = now + period
    while following < done:
        following += period
    return following


@pytest.mark.parametrize("done, slot", [
    (P + 1800.0, 2 * P),  # a run shorter than the period: the next slot
    (2 * P, 2 * P),  # ends exactly at the next slot: it starts then
    (2 * P + 1e-6, 3 * P),  # just after: the one after
    (3 * P, 3 * P), (3 * P + 1.0, 4 * P),
    (P + 1000 * P + 1.0, P + 1001 * P),  # a run of a thousand periods
])
def test_the_slot_is_the_first_at_or_after_the_end_of_the_run(done, slot):
    assert next_slot(P, P, done) == slot == stepped(P, P, done)


def test_the_slot_is_as_stepped_for_ordinary_and_fractional_times():
    for now in (0.0, P, 5 * P, 0.5, P + 0.25, 1234.5678, 1e9 + 0.1):
        for duration in (0.0, 1.0, 1800.0, 5400.0, P - 1, P, P + 1, 2 * P + 3.0, 5 * P):
            for period in (P, 28800.0, 43200.0, 86400.0):
                done = now + duration
                assert next_slot(now, period, done) == stepped(now, period, done), (now, duration, period)


def test_a_run_that_never_ends_has_no_following_slot_and_takes_no_time():
    assert next_slot(P, P, math.inf) == math.inf
    with time_limit(1):
        assert next_slot(P, P, 1e300) >= 1e300  # ~4.6e295 periods: arithmetic, not steps


def test_a_run_drawn_as_infinite_does_not_hang(monkeypatch):
    """Whatever a duration draw gives (validation refuses shapes that overflow), the run ends."""
    monkeypatch.setattr(identity_service, "lognormal", lambda *a, **k: math.inf)
    with time_limit(20):
        r = sim.run(DEFAULT, seed=1, progress=False,
                    overrides={"horizon": "13h", "start": "2026-11-24T00:00:00Z", "visitors.other_email_share": 0.5})
    assert r.counts["identity"]["batch_runs"] == 0  # the 6 h run never finished; no 12 h run
