"""Settings without effect are warned about (``DataCloud.warnings``), one line each saying what has
no effect and why; the same setting with its effect gets no warning. The run's counts are given
(a stand-in result), so each boundary is tested without simulating."""

from types import SimpleNamespace

import pytest

from sim.scenario.load import load
from sim.systems.data_cloud import SYSTEM
from tests.conftest import DEFAULT

BUSY_COUNTS = {"identity": {"forms": 0, "batch_runs": 1}, "ingestion": {"largest_request_records": 1},
               "event_bus": {"largest_publish_call": 1}, "data_actions": {"largest_event_bytes": 600}}


def warned(overrides: dict, **counts) -> list[str]:
    scenario = load(DEFAULT, overrides={"horizon": "1h", **overrides})
    merged = {k: {**v, **counts.get(k, {})} for k, v in BUSY_COUNTS.items()}
    result = SimpleNamespace(pipeline=SimpleNamespace(scenario=scenario), counts=merged, horizon_s=scenario.horizon)
    return [w for w in SYSTEM.warnings(result) if not w.startswith("catch_within")]


def test_the_defaults_are_not_warned_about():
    assert warned({}) == []


@pytest.mark.parametrize("overrides, counts, line", [
    ({"ingestion.records_per_request": 20}, {},
     "ingestion.records_per_request (20) has no effect with request_linger 0: a request is sent as its first click "
     "comes, so it holds only clicks of that same instant (none held two)"),
    ({"ingestion.records_per_request": 20, "ingestion.request_linger": "1s", "ingestion.max_payload_bytes": 2399}, {},
     "ingestion.records_per_request (20) has no effect: max_payload_bytes (2399) holds fewer than two records of "
     "visitors.payload_bytes (1200), so each request holds one"),
    ({"data_actions.publish_calls.max_events": 50}, {},
     "data_actions.publish_calls.max_events (50) has no effect with linger 0: a call is sent as its first event is "
     "ready, so it holds only events ready at that same instant (none held two)"),
    ({"data_actions.publish_calls.linger": "5s"}, {},
     "data_actions.publish_calls.linger has no effect with max_events 1 (each event is a call of its own)"),
    ({"data_actions.publish_calls": {"max_events": 200, "max_bytes": 1199, "linger": "10s"}}, {},
     "data_actions.publish_calls.max_events (200) has no effect: max_bytes (1199) holds fewer than two events (the "
     "largest was 600 bytes), so each call holds one"),
    ({"visitors.other_email_share": 0.5, "visitors.prospects": 0}, {},
     "visitors.other_email_share has no effect: there are no prospects (visitors.prospects 0), so no sign-up form "
     "is filled"),
    ({"visitors.other_email_share": 0.5, "visitors.prospect_share": 0.0}, {},
     "visitors.other_email_share has no effect: no session is a prospect's (visitors.prospect_share 0), so no "
     "sign-up form is filled"),
    ({"visitors.other_email_share": 0.5, "visitors.login_prob": 0.0}, {},
     "visitors.other_email_share has no effect: no prospect signs in (visitors.login_prob 0), so no sign-up form "
     "is filled"),
    ({"visitors.form_typo_share": 0.9}, {},
     "visitors.form_typo_share has no effect with other_email_share 0 (no sign-up form to mistype)"),
    ({"identity.batch.precision": "high"}, {},
     "identity.batch.precision has no effect with visitors.other_email_share 0 (no sign-up form for the batch runs "
     "to link)"),
    ({"identity.batch.runs_per_day": 0, "identity.batch.precision": "low",
      "identity.batch.duration": {"median": "1m", "p95": "2m"}}, {},
     "identity.batch.precision, identity.batch.duration have no effect with runs_per_day 0 (no batch runs)"),
    ({"realtime.enabled": True, "ingestion.flush_interval": "1m"}, {},
     "ingestion.flush_interval has no effect with realtime.enabled: no micro-batch is cut (accepted events go to the "
     "real-time graph at once)"),
    ({"realtime.enabled": True, "ingestion.flush_max_events": 10}, {},
     "ingestion.flush_max_events has no effect with realtime.enabled: no micro-batch is cut (accepted events go to "
     "the real-time graph at once)"),
])
def test_a_setting_without_effect_gets_one_line_saying_why(overrides, counts, line):
    assert warned(overrides, **counts) == [line]


@pytest.mark.parametrize("overrides, counts", [
    ({"ingestion.records_per_request": 20}, {"ingestion": {"largest_request_records": 2}}),  # same-instant clicks
    ({"ingestion.records_per_request": 20, "ingestion.request_linger": "1s", "ingestion.max_payload_bytes": 2400},
     {}),  # two records fit (the run just had no two clicks within a second)
    ({"ingestion.records_per_request": 20, "ingestion.request_linger": "1s", "ingestion.max_payload_bytes": 2399},
     {"ingestion": {"largest_request_records": 2}}),
    ({"data_actions.publish_calls.max_events": 50}, {"event_bus": {"largest_publish_call": 2}}),
    ({"data_actions.publish_calls": {"max_events": 2, "linger": "5s"}}, {}),
    ({"data_actions.publish_calls": {"max_events": 200, "max_bytes": 1200, "linger": "10s"}}, {}),
    ({"visitors.other_email_share": 0.5, "visitors.login_prob": 0.0}, {"identity": {"forms": 3}}),  # scripted forms
    ({"visitors.other_email_share": 0.5, "visitors.login_prob": 1e-9}, {}),
    ({"visitors.form_typo_share": 0.9, "visitors.other_email_share": 0.1}, {}),
    ({"visitors.form_typo_share": 0.9}, {"identity": {"forms": 1}}),
    ({"identity.batch.precision": "high", "visitors.other_email_share": 0.1}, {}),
    ({"identity.batch.runs_per_day": 1, "identity.batch.precision": "low", "visitors.other_email_share": 0.1}, {}),
    ({"realtime.enabled": True}, {}),
    ({"ingestion.flush_interval": "1m", "ingestion.flush_max_events": 10}, {}),
])
def test_the_same_setting_with_its_effect_gets_none(overrides, counts):
    assert warned(overrides, **counts) == []


def test_no_forms_is_said_instead_of_no_batch_run_finished():
    over = {"visitors.other_email_share": 0.5}
    assert warned({**over, "visitors.prospects": 0}, identity={"batch_runs": 0}) == [
        "visitors.other_email_share has no effect: there are no prospects (visitors.prospects 0), so no sign-up "
        "form is filled"]
    (line,) = warned(over, identity={"batch_runs": 0})
    assert line.startswith("visitors.other_email_share: no identity batch run finished within the horizon")
