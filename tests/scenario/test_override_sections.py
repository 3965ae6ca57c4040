"""Overrides into a section the file leaves out keep the section's defaults, and booleans are never
read as numbers (``true`` is not 1)."""

import pytest

from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT


def test_one_part_of_a_default_latency_keeps_the_other():
    s = load(DEFAULT, overrides={"identity.batch.duration.median": "20m"})
    assert (s.identity.batch.duration.median, s.identity.batch.duration.p95) == (1200.0, 5400.0)
    s = load(DEFAULT, overrides={"ingestion.http_latency.median": "50ms"})
    assert (s.ingestion.http_latency.median, s.ingestion.http_latency.p95) == (0.05, 0.4)
    s = load(DEFAULT, overrides={"data_actions.publish_calls.max_events": 50})
    assert (s.data_actions.publish_calls.max_events, s.data_actions.publish_calls.max_bytes) == (50, 3_000_000)


def test_a_part_that_breaks_the_default_other_part_says_so():
    with pytest.raises(ScenarioError, match=r"identity\.batch\.duration: p95 \(5400\.0 s\) must be >= median "
                                            r"\(7200\.0 s\)"):
        load(DEFAULT, overrides={"identity.batch.duration.median": "2h"})


@pytest.mark.parametrize("key, value", [
    ("ingestion.records_per_request", True), ("visitors.prospects", True), ("identity.batch.runs_per_day", False),
    ("visitors.other_email_share", True), ("visitors.rate_per_s", True),
    ("data_actions.publish_calls.max_events", True),
    ("visitors.daily_profile", [True] + [1.0] * 23), ("visitors.lifecycle_shares", {"new": True}),
    ("identity.max_identities", True),
])
def test_booleans_are_not_numbers(key, value):
    with pytest.raises(ScenarioError, match=rf"{key}: expected (a number, not a boolean|numbers, not booleans)"):
        load(DEFAULT, overrides={key: value})


def test_boolean_fields_still_take_booleans_and_numbers_still_take_numbers():
    s = load(DEFAULT, overrides={"realtime.enabled": True, "crm.enabled": False, "visitors.rate_per_s": 3,
                                 "visitors.daily_profile": [1] * 24, "identity.max_identities": None})
    assert s.realtime.enabled is True and s.crm.enabled is False and s.visitors.rate_per_s == 3.0
    assert s.identity.max_identities is None


def test_a_boolean_in_a_scenario_file_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nhorizon: 10m\ningestion:\n  records_per_request: true\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml: ingestion\.records_per_request: expected a number"):
        load(path)
    path.write_text("name: s\nhorizon: 10m\ningestion:\n  records_per_request: 3\n")
    assert load(path).ingestion.records_per_request == 3


def test_a_duration_out_of_range_is_reported_in_seconds_and_a_number_without_unit():
    with pytest.raises(ScenarioError, match=r"ingestion\.request_linger: Input should be less than or equal to "
                                            r"3600 s \(got 7200 s\)$"):
        load(DEFAULT, overrides={"ingestion.request_linger": "2h"})
    with pytest.raises(ScenarioError, match=r"insights\.window: Input should be greater than or equal to 60 s "
                                            r"\(got 30 s\)$"):
        load(DEFAULT, overrides={"insights.window": "30s"})
    with pytest.raises(ScenarioError, match=r"visitors\.rate_per_s: Input should be greater than 0 \(got -1\)$"):
        load(DEFAULT, overrides={"visitors.rate_per_s": -1})
