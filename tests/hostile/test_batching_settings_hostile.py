"""Hostile input for the newest settings: request batching (``ingestion.records_per_request``,
``request_linger``, ``max_payload_bytes``), publish calls (``data_actions.publish_calls``), identity
batch runs (``identity.batch``) and the sign-up forms (``visitors.other_email_share``,
``form_typo_share``), alone and with faults, the real-time path, variants and sweeps.

The promise (README, "Bad input"): exit code 2 and one line naming the flag or file, the field, the
value and what is allowed, never a traceback; an accepted value conserves messages and has an effect
or is warned about. (Each test that documented a failure with ``xfail(strict=True)`` now holds.)"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.runs.runner import run
from sim.scenario.errors import ScenarioError
from sim.scenario.load import load
from tests.conftest import DEFAULT
from tests.hostile.conftest import invoke
from tests.hostile.test_property_inputs import JUNK, SETTINGS, check, time_limit

QUICK = ["-q", "--no-plots", "--set", "horizon=2m", "--set", "catch_within=1m"]
# a small population whose prospects are all hot and all sign in: firings within minutes
BUSY = {"horizon": "10m", "catch_within": "5m", "visitors.prospects": 200, "visitors.prospect_share": 1.0,
        "visitors.hot_share": 1.0, "visitors.hot_pricing_prob": 1.0, "visitors.login_prob": 1.0}
# a batch run starts 5 min in and takes 1 s
FORMS = {**BUSY, "start": "2026-11-24T05:55:00Z", "visitors.other_email_share": 1.0,
         "identity.batch.duration": {"median": "1s", "p95": "1s"}}


def set_args(*pairs: str) -> list[str]:
    return [a for p in pairs for a in ("--set", p)]


def sim_run(tmp_path, *pairs: str, scenario=DEFAULT):
    return invoke("run", scenario, *QUICK, *set_args(*pairs), "--out", tmp_path / "out")


def one_error_line(result) -> str:
    """Exit 2, no traceback, exactly one line on stderr and it is an ``error:`` line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def quiet_warnings(result) -> list[str]:
    return [w for w in result.warnings() if not w.startswith("catch_within")]


# ---- refused on the command line: one line naming --set, the field and the value ---------------

REFUSED = [  # (--set argument, words the error line must hold besides "--set" and the field)
    ("ingestion.records_per_request=0", ["greater than or equal to 1", "got 0"]),
    ("ingestion.records_per_request=-1", ["got -1"]),
    ("ingestion.records_per_request=100001", ["less than or equal to 100000", "got 100001"]),
    ("ingestion.records_per_request=9223372036854775808", ["got 9223372036854775808"]),
    ("ingestion.records_per_request=1e308", ["got 1e+308"]),
    ("ingestion.records_per_request=.nan", ["finite", "got nan"]),
    ("ingestion.records_per_request=nan", ["got 'nan'"]),
    ("ingestion.records_per_request=2.5", ["fractional", "got 2.5"]),
    ("ingestion.records_per_request=true", ["not a boolean", "got True"]),
    ("ingestion.records_per_request=twenty", ["valid integer", "got 'twenty'"]),
    ("ingestion.records_per_request='4'", ["not text", "without quotes", "got '4'"]),
    ("ingestion.rate_limit_per_s='2.5e2'", ["not text", "without quotes", "got '2.5e2'"]),
    ("ingestion.request_linger=-1s", ["negative", "'-1s'"]),
    ("ingestion.request_linger=3601", ["less than or equal to 3600 s", "got 3601 s"]),
    ("ingestion.request_linger=1h1s", ["3600 s", "got 3601 s"]),
    ("ingestion.request_linger=10x", ["not a duration", "'10x'"]),
    ("ingestion.request_linger=1S", ["not a duration", "'1S'"]),
    ("ingestion.request_linger=.inf", ["finite", "inf"]),
    ("ingestion.request_linger=1e308", ["too long", "at most 100 years", "got 1e+308"]),
    ("ingestion.request_linger=[1s]", ["not a duration", "['1s']"]),
    ("ingestion.request_linger={a: 1}", ["not a duration", "{'a': 1}"]),
    ("ingestion.request_linger=true", ["not a boolean", "True"]),
    ("ingestion.request_linger=36501d", ["too long", "100 years"]),
    ("ingestion.max_payload_bytes=0", ["greater than 0", "got 0"]),
    ("ingestion.max_payload_bytes=-1", ["got -1"]),
    ("ingestion.max_payload_bytes=1000000001", ["less than or equal to 1000000000", "got 1000000001"]),
    ("ingestion.max_payload_bytes=200KB", ["valid integer", "got '200KB'"]),
    ("ingestion.max_payload_bytes=.inf", ["finite", "got inf"]),
    ("data_actions.publish_calls.max_events=0", ["greater than or equal to 1", "got 0"]),
    ("data_actions.publish_calls.max_events=201", ["less than or equal to 200", "got 201"]),
    ("data_actions.publish_calls.max_events=18446744073709551616", ["got 18446744073709551616"]),
    ("data_actions.publish_calls.max_events=.inf", ["finite", "got inf"]),
    ("data_actions.publish_calls.max_bytes=4000001", ["less than or equal to 4000000", "got 4000001"]),
    ("data_actions.publish_calls.max_bytes=0", ["greater than or equal to 1", "got 0"]),
    ("data_actions.publish_calls.max_bytes=4MB", ["valid integer", "got '4MB'"]),
    ("data_actions.publish_calls.linger=3601", ["3600 s", "got 3601 s"]),
    ("data_actions.publish_calls.linger=1d", ["3600 s", "got 86400 s"]),
    ("data_actions.publish_calls.linger=-5s", ["negative", "'-5s'"]),
    ("data_actions.publish_calls=5", ["valid dictionary", "got 5"]),
    ("data_actions.publish_calls.max_event=3", ["unknown field 'max_event'", "max_events, max_bytes, linger"]),
    ("data_actions.publish_calls.max_events.x=3", ["not a section"]),
    ("data_actions.publish_calls.linger.median=3", ["not a section"]),
    ("identity.batch.runs_per_day=5", ["less than or equal to 4", "got 5"]),
    ("identity.batch.runs_per_day=-1", ["greater than or equal to 0", "got -1"]),
    ("identity.batch.runs_per_day=1.5", ["fractional", "got 1.5"]),
    ("identity.batch.runs_per_day=.nan", ["finite", "got nan"]),
    ("identity.batch.runs_per_day=false", ["not a boolean", "got False"]),
    ("identity.batch.precision=HIGH", ["'HIGH' is not allowed", "high, medium, low"]),
    ("identity.batch.precision=0.9", ["0.9 is not allowed", "high, medium, low"]),
    ("identity.batch.precision=[high]", ["['high'] is not allowed", "high, medium, low"]),
    ("identity.batch.duration.median=2h", ["p95 (5400.0 s) must be >= median (7200.0 s)"]),
    ("identity.batch.duration.p95=1m", ["p95 (60.0 s) must be >= median (1800.0 s)"]),
    ("identity.batch.duration.median=-1m", ["negative", "'-1m'"]),
    ("identity.batch.duration.median=100y", ["not a duration", "'100y'"]),
    ("identity.batch.duration.p95=36501d", ["too long", "'36501d'"]),
    ("identity.batch.duration=30m", ["valid dictionary", "got '30m'"]),
    ("identity.batch.duration.mean=1m", ["unknown field 'mean'", "median, p95"]),
    ("identity.batch.extra=1", ["unknown field 'extra'", "runs_per_day, precision, duration"]),
    ("visitors.other_email_share=1.0000001", ["less than or equal to 1", "got 1.0000001"]),
    ("visitors.other_email_share=-1e-300", ["greater than or equal to 0", "-1e-300"]),
    ("visitors.other_email_share=.nan", ["finite", "got nan"]),
    ("visitors.other_email_share=inf", ["finite", "got 'inf'"]),
    ("visitors.other_email_share=50%", ["valid number", "got '50%'"]),
    ("visitors.other_email_share=true", ["not a boolean", "got True"]),
    ("visitors.form_typo_share=1.5", ["less than or equal to 1", "got 1.5"]),
    ("visitors.form_typo_share=-0.1", ["greater than or equal to 0", "got -0.1"]),
]


@pytest.mark.parametrize("pair, words", REFUSED, ids=[p for p, _ in REFUSED])
def test_refused_on_one_line_naming_the_field_and_value(tmp_path, pair, words):
    line = one_error_line(sim_run(tmp_path, pair))
    field = pair.split("=", 1)[0]
    assert line.startswith("error: --set: ") and field.rsplit(".", 1)[0] in line, line
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize("pair", ["ingestion.records_per_request=", "data_actions.publish_calls=null",
                                  "identity.batch.duration=null"])
def test_null_is_named_in_the_error(tmp_path, pair):
    line = one_error_line(sim_run(tmp_path, pair))
    assert "None" in line or "null" in line, line


def test_cross_field_errors_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nhorizon: 2m\nidentity:\n  batch: {runs_per_day: 4, duration: {median: 2h, p95: 1h}}\n"
                    "data_actions:\n  publish_calls: 200\n")
    r = invoke("run", path, "-q", "--no-plots", "--out", tmp_path / "out")
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 2, lines  # one line per problem
    assert all(str(path) in line for line in lines)
    assert any("identity.batch.duration: p95 (3600.0 s) must be >= median (7200.0 s)" in line for line in lines)
    assert any("data_actions.publish_calls: " in line and "(got 200)" in line for line in lines)


# ---- the Python API: ScenarioError, one line starting "overrides:" ---------------------------

API_REFUSED = [
    {"ingestion.records_per_request": float("nan")}, {"ingestion.records_per_request": 2 ** 63},
    {"ingestion.records_per_request": 1e308}, {"ingestion.records_per_request": True},
    {"ingestion.request_linger": float("inf")}, {"ingestion.request_linger": -(2 ** 63)},
    {"ingestion.request_linger": b"1s"}, {"ingestion.request_linger": "1s\x00"},
    {"ingestion.max_payload_bytes": 1.5},
    {"data_actions.publish_calls": {"max_events": 201}}, {"data_actions.publish_calls": {"bogus": 1}},
    {"data_actions.publish_calls.max_bytes": 4_000_000.5},
    {"identity.batch": {"runs_per_day": 5}}, {"identity.batch.duration": {"median": "1m"}},
    {"identity.batch.duration": [1, 2]}, {"identity.batch.precision": "Medium"},
    {"visitors.other_email_share": 1 + 0j}, {"visitors.form_typo_share": math.inf},
    {"ingestion..records_per_request": 2}, {"ingestion.records_per_request ": 2}, {"": 1},
]


@pytest.mark.parametrize("overrides", API_REFUSED, ids=repr)
def test_api_raises_a_scenario_error(overrides):
    with pytest.raises(ScenarioError) as info:
        run(DEFAULT, overrides={"horizon": "1m", **overrides}, progress=False)
    message = str(info.value)
    assert "\n" not in message and message.startswith("overrides: "), message


@pytest.mark.parametrize("key", [1, None, ("ingestion", "records_per_request")], ids=repr)
def test_api_override_keys_must_be_text(key):
    with pytest.raises(ScenarioError):
        run(DEFAULT, overrides={key: 2}, progress=False)


# ---- property: any value at any of these paths is read or refused cleanly ----------------------

PATHS = {
    "ingestion.records_per_request": st.sampled_from([1, 2, 100_000, 100_001, 0, -1, 2 ** 63, 20.0, 20.5]),
    "ingestion.request_linger": st.sampled_from([0, "1s", "3600s", "1h", 3600.0, 3600.0001, "1h1s", "-0s", "0.5ms"]),
    "ingestion.max_payload_bytes": st.sampled_from([1, 1_000_000_000, 1_000_000_001, 0, 200_000]),
    "data_actions.publish_calls.max_events": st.sampled_from([1, 200, 201, 0]),
    "data_actions.publish_calls.max_bytes": st.sampled_from([1, 4_000_000, 4_000_001, 3_000_000]),
    "data_actions.publish_calls.linger": st.sampled_from(["0s", "3600s", "3601s", "2s", 1e-9]),
    "data_actions.publish_calls": st.fixed_dictionaries({}, optional={"max_events": st.integers(-5, 300),
                                                                      "linger": JUNK}),
    "identity.batch.runs_per_day": st.sampled_from([0, 1, 4, 5, -1]),
    "identity.batch.precision": st.sampled_from(["high", "medium", "low", "Low", ""]),
    "identity.batch.duration.median": st.sampled_from(["1m", "30m", "90m", "91m", 0]),
    "identity.batch.duration.p95": st.sampled_from(["1m", "30m", "90m", "100y"]),
    "identity.batch": st.fixed_dictionaries({}, optional={"runs_per_day": st.integers(-1, 6),
                                                          "precision": JUNK}),
    "visitors.other_email_share": st.floats(-0.5, 1.5),
    "visitors.form_typo_share": st.floats(-0.5, 1.5),
}
BOUNDS = {"ingestion.records_per_request": (1, 100_000), "ingestion.request_linger": (0, 3600),
          "ingestion.max_payload_bytes": (1, 1e9), "data_actions.publish_calls.max_events": (1, 200),
          "data_actions.publish_calls.max_bytes": (1, 4e6), "data_actions.publish_calls.linger": (0, 3600),
          "identity.batch.runs_per_day": (0, 4), "visitors.other_email_share": (0, 1),
          "visitors.form_typo_share": (0, 1)}
VALUES = st.sampled_from(sorted(PATHS)).flatmap(
    lambda p: st.tuples(st.just(p), st.one_of(PATHS[p], JUNK)))


def _read(scenario, path: str):
    node = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


@SETTINGS
@given(items=st.lists(VALUES, min_size=1, max_size=3, unique_by=lambda kv: kv[0]))
def test_any_value_is_read_within_bounds_or_refused_on_lines_naming_it(items):
    overrides = dict(items)
    try:
        scenario = load(DEFAULT, overrides=overrides)
    except ScenarioError as exc:
        lines = str(exc).splitlines()
        assert lines and len(lines) <= 10, lines
        for line in lines:
            assert line.startswith("overrides: "), line
            assert any(p.split(".")[0] in line for p in overrides), (line, overrides)
        return
    for path, (lo, hi) in BOUNDS.items():
        value = _read(scenario, path)
        assert not isinstance(value, bool) and lo <= value <= hi, (path, value)
    d = scenario.identity.batch.duration
    assert 0 <= d.median <= d.p95 and math.isfinite(d.sigma)


@SETTINGS
@given(pairs=st.lists(st.tuples(st.sampled_from(sorted(PATHS)), st.one_of(
    st.sampled_from(["0", "1", "200", "201", "4000000", "4000001", "4", "5", "1s", "3601", ".nan", "-.inf", "1e308",
                     "9223372036854775808", "[]", "{}", "null", "true", "''", "1h1s", "0.5", "1.5", "-0.0"]),
    st.text(max_size=8))), min_size=1, max_size=3))
def test_any_set_runs_or_is_refused_cleanly(tmp_path, pairs):
    check(["run", str(DEFAULT), *QUICK, "--max-memory", "250MB", "--out", str(tmp_path / "out"),
           *set_args(*(f"{k}={v}" for k, v in pairs))])


# ---- accepted at the bounds: the run conserves messages and the setting has its effect ---------

@pytest.mark.parametrize("overrides", [
    {"ingestion.records_per_request": 100_000, "ingestion.request_linger": 3600,
     "ingestion.max_payload_bytes": 1_000_000_000},
    {"ingestion.records_per_request": 2, "ingestion.request_linger": "0.5ms", "ingestion.max_payload_bytes": 1},
    {"data_actions.publish_calls": {"max_events": 200, "max_bytes": 4_000_000, "linger": 3600}},
    {"data_actions.publish_calls": {"max_events": 200, "max_bytes": 1, "linger": "10s"}},
    {"identity.batch.runs_per_day": 4, "visitors.other_email_share": 1, "visitors.form_typo_share": 1},
    {"identity.batch.runs_per_day": 0, "visitors.other_email_share": 0.0, "visitors.form_typo_share": 0.0},
], ids=["ingestion-max", "ingestion-min", "calls-max", "calls-tiny-bytes", "batch-max", "batch-off"])
def test_values_at_the_bounds_run_and_conserve(overrides):
    result = run(DEFAULT, overrides={**BUSY, **overrides}, progress=False)  # check=True: conservation
    assert result.conservation.ok
    ing, bus = result.counts["ingestion"], result.counts["event_bus"]
    rpr = result.pipeline.scenario.ingestion.records_per_request
    assert (ing.get("largest_request_records") or 1) <= rpr
    assert bus["largest_publish_call"] <= result.pipeline.scenario.data_actions.publish_calls.max_events


def test_batched_requests_and_calls_have_their_effect():
    plain = run(DEFAULT, overrides=BUSY, progress=False)
    batched = run(DEFAULT, overrides={**BUSY, "ingestion.records_per_request": 20, "ingestion.request_linger": "1s",
                                      "data_actions.publish_calls.max_events": 50,
                                      "data_actions.publish_calls.linger": "2s"}, progress=False)
    ing, bus = batched.counts["ingestion"], batched.counts["event_bus"]
    assert 1 < ing["largest_request_records"] <= 20 and ing["requests"] < plain.counts["ingestion"]["requests"]
    assert 1 < bus["largest_publish_call"] <= 50 and bus["publish_calls"] < plain.counts["event_bus"]["publish_calls"]
    assert quiet_warnings(batched) == []


def test_batch_runs_link_forms_and_runs_per_day_0_is_real_time_only():
    on = run(DEFAULT, overrides=FORMS, progress=False).counts["identity"]
    off = run(DEFAULT, overrides={**FORMS, "identity.batch.runs_per_day": 0}, progress=False).counts["identity"]
    assert on["forms"] > 0 and on["batch_runs"] == 1 and on["batch_links"] > 0
    assert off["forms"] == on["forms"] and off["batch_runs"] == off["batch_links"] == 0


@pytest.mark.parametrize("overrides", [
    {"realtime.enabled": True, "ingestion.records_per_request": 20, "ingestion.request_linger": "1s",
     "data_actions.publish_calls.max_events": 50, "data_actions.publish_calls.linger": "2s"},
    {"faults": [{"target": "event_bus", "kind": "allocation_cut", "allocation": 0, "start": 0, "duration": "10m"}],
     "data_actions.publish_calls.max_events": 200, "data_actions.publish_calls.linger": "30s"},
    {"faults": [{"target": "crm", "kind": "error_rate", "rate": 1, "start": 0, "duration": "10m"}],
     "event_bus.publish_behavior": "after_commit", "event_bus.transaction_failure_rate": 0.5,
     "data_actions.publish_calls.max_events": 200, "data_actions.publish_calls.linger": "1h"},
    {"ingestion.records_per_request": 20, "ingestion.request_linger": "1s", "ingestion.rate_limit_per_s": 0.01,
     "ingestion.burst": 1, "ingestion.on_429": "drop"},
], ids=["realtime", "allocation-cut", "crm-errors-rollbacks", "429-drop"])
def test_combinations_with_faults_and_realtime_conserve(overrides):
    result = run(DEFAULT, overrides={**BUSY, **overrides}, progress=False)
    assert result.conservation.ok


def test_a_warning_for_linger_without_batching_and_calls_without_platform_events(tmp_path):
    r = sim_run(tmp_path, "ingestion.request_linger=1s", "data_actions.targets=[webhook]",
                "data_actions.publish_calls.max_events=10")
    assert r.exit_code == 0, r.output
    assert "warning: ingestion.request_linger has no effect" in r.stderr
    assert "warning: data_actions.publish_calls has no effect" in r.stderr


# ---- settings without effect that are not warned about (documented failures) -------------------

def _largest_request(c):
    return c["ingestion"]["largest_request_records"]


def _largest_call(c):
    return c["event_bus"]["largest_publish_call"]


def _forms(c):
    return c["identity"]["forms"]


NO_EFFECT = {  # id: (overrides, the count that shows the setting had no effect, its value, a word of the warning)
    "records_per_request-without-linger": ({"ingestion.records_per_request": 20}, _largest_request, 1,
                                           "records_per_request"),
    "records_per_request-over-max_payload_bytes": (
        {"ingestion.records_per_request": 20, "ingestion.request_linger": "1s", "ingestion.max_payload_bytes": 2000},
        _largest_request, 1, "records_per_request"),
    "max_events-without-linger": ({"data_actions.publish_calls.max_events": 50}, _largest_call, 1, "max_events"),
    "linger-without-max_events": ({"data_actions.publish_calls.linger": "5s"}, _largest_call, 1, "linger"),
    "max_events-over-max_bytes": ({"data_actions.publish_calls": {"max_events": 200, "max_bytes": 100,
                                                                  "linger": "10s"}}, _largest_call, 1, "max_bytes"),
    "other_email_share-without-prospects": ({**FORMS, "visitors.prospects": 0, "visitors.prospect_share": 0.0},
                                            _forms, 0, "other_email_share"),
    "other_email_share-without-logins": ({**FORMS, "visitors.login_prob": 0.0}, _forms, 0, "other_email_share"),
}


@pytest.mark.parametrize("case", list(NO_EFFECT))
def test_settings_without_effect_are_warned(case):
    overrides, count, none, word = NO_EFFECT[case]
    result = run(DEFAULT, overrides={**BUSY, **overrides}, progress=False)
    assert count(result.counts) == none  # the setting changed nothing...
    assert any(word in w for w in quiet_warnings(result)), quiet_warnings(result)  # ...so a warning is due


@pytest.mark.parametrize("overrides", [
    {"visitors.form_typo_share": 0.9},  # other_email_share 0: no sign-up forms to mistype
    {"identity.batch.precision": "high"},  # no sign-up forms for the batch rule
    {"identity.batch.runs_per_day": 0, "identity.batch.precision": "low",
     "identity.batch.duration": {"median": "1m", "p95": "2m"}},  # no batch runs at all
], ids=["typo-without-forms", "precision-without-forms", "batch-settings-without-runs"])
def test_batch_settings_without_effect_are_warned(overrides):
    result = run(DEFAULT, overrides={**BUSY, "horizon": "2m", **overrides}, progress=False)
    assert quiet_warnings(result), "no warning"


def test_a_p95_ignored_for_a_zero_median_is_refused_or_warned():
    try:
        result = run(DEFAULT, overrides={**FORMS, "identity.batch.duration": {"median": 0, "p95": "90m"}},
                     progress=False)
    except ScenarioError:
        return
    assert any("identity.batch.duration" in w for w in quiet_warnings(result))


def test_flush_interval_on_the_realtime_path_is_warned():
    result = run(DEFAULT, overrides={**BUSY, "horizon": "2m", "realtime.enabled": True,
                                     "ingestion.flush_interval": "1m"}, progress=False)
    assert any("flush_interval" in w for w in quiet_warnings(result))


# ---- an infinite latency shape: a hang ---------------------------------------------------------

HUGE_SHAPE = {"identity.batch.duration": {"median": 1e-300, "p95": "36500d"}}  # p95/median overflows: sigma inf


def test_a_latency_whose_shape_overflows_is_refused():
    with pytest.raises(ScenarioError, match=r"identity\.batch\.duration"):
        load(DEFAULT, overrides=HUGE_SHAPE)


def test_an_overflowing_batch_duration_does_not_hang():
    with time_limit(3):
        try:
            run(DEFAULT, seed=1, overrides={**FORMS, **HUGE_SHAPE}, progress=False)
        except ScenarioError:
            pass


# ---- files, variants and sweeps ----------------------------------------------------------------

def test_a_bad_variant_is_refused_by_run_naming_the_variant(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("name: v\nhorizon: 2m\nvariants:\n  big: {data_actions.publish_calls.max_events: 201}\n"
                    "  ok: {identity.batch.runs_per_day: 0}\n")
    line = one_error_line(invoke("run", path, "-q", "--no-plots", "--out", tmp_path / "out"))
    assert f"{path}: variants.big: data_actions.publish_calls.max_events:" in line and "(got 201)" in line


def test_a_fault_set_on_the_command_line_is_blamed_on_set(tmp_path):
    line = one_error_line(sim_run(tmp_path, "faults=[{target: event_bus, kind: outage, start: 0, duration: 5m}]",
                                  "data_actions.publish_calls.max_events=10"))
    assert line.startswith("error: --set: faults"), line


@pytest.mark.parametrize("grid, words", [
    (["--grid", "data_actions.publish_calls.max_events=1,201"], ["max_events", "got 201"]),
    (["--grid", "identity.batch.runs_per_day=4,5"], ["runs_per_day", "got 5"]),
    (["--grid", "ingestion.request_linger=1s,-1s"], ["request_linger", "'-1s' is negative"]),
    (["--grid", "visitors.form_typo_share=.nan"], ["form_typo_share", "finite"]),
    (["--grid", "data_actions.publish_calls.bogus=1"], ["unknown field 'bogus'"]),
    (["--lhs", "visitors.other_email_share=0:1.5", "--samples", "3"], ["other_email_share", "less than or equal to 1"]),
    (["--lhs", "visitors.rate_per_s=false:true", "--samples", "3"], ["--lhs", "numbers lo < hi"]),
    (["--lhs", "=1:2", "--samples", "3"], ["--lhs '=1:2'", "expected key=lo:hi"]),
    (["--lhs", "visitors.rate_per_s=5:1", "--samples", "3"], ["--lhs", "lo < hi"]),
    (["--grid", "visitors.rate_per_s="], ["--grid 'visitors.rate_per_s='", "expected key=v1,v2"]),
    (["--grid", " =1,2"], ["--grid", "expected key=v1,v2"]),
    (["--lhs", "visitors.rate_per_s=1:2:3", "--samples", "3"], ["--lhs", "lo < hi"]),  # not base-60 1..123
    ([], ["give at least one --grid or --lhs"]),
], ids=["max_events", "runs_per_day", "linger", "nan", "unknown", "lhs-share", "lhs-booleans", "lhs-no-key",
        "lhs-reversed", "grid-no-values", "grid-blank-key", "lhs-two-colons", "neither"])
def test_sweep_refuses_bad_grid_values_before_running(tmp_path, grid, words):
    store = tmp_path / "s.duckdb"
    r = invoke("sweep", DEFAULT, "--set", "horizon=1m", "--executor", "serial", "--replications", "1", "-q",
               "--store", store, *grid)
    line = one_error_line(r)
    for word in words:
        assert word in line, (word, line)
    assert not store.exists() or store.stat().st_size < 1_000_000


def test_sweep_warns_about_a_grid_value_without_effect_again_when_resumed_from_its_store(tmp_path):
    args = ("sweep", DEFAULT, "--set", "horizon=1m", "--executor", "serial", "--replications", "1", "-q",
            "--store", tmp_path / "s.duckdb", "--grid", "ingestion.request_linger=1s,2s")
    for _ in range(2):  # the second call runs nothing: the warnings come from the store
        r = invoke(*args)
        assert r.exit_code == 0, r.output
        assert r.stderr.count("request_linger has no effect") == 1, r.stderr
    assert "0 run, 0 failed, 2 already in" in r.output


def test_sweep_refuses_an_lhs_range_beyond_the_bound(tmp_path):
    r = invoke("sweep", DEFAULT, "--set", "horizon=1m", "--executor", "serial", "--replications", "1", "-q",
               "--store", tmp_path / "s.duckdb", "--lhs", "identity.batch.runs_per_day=0:5", "--samples", "2")
    one_error_line(r)


@pytest.mark.parametrize("where", ["set", "file"])
def test_an_unknown_key_with_a_line_break_stays_on_one_line(tmp_path, where):
    if where == "set":
        r = sim_run(tmp_path, 'data_actions.publish_calls={"max_events\\nlinger": 1}')
    else:
        path = tmp_path / "s.yaml"
        path.write_text('name: s\nhorizon: 2m\nidentity:\n  batch:\n    "runs_per_day\\nprecision": 4\n')
        r = invoke("run", path, "-q", "--no-plots", "--out", tmp_path / "out")
    one_error_line(r)


# ---- overrides that overlap ----------------------------------------------------------------------

def test_a_section_set_after_its_fields_does_not_discard_them_silently(tmp_path):
    r = sim_run(tmp_path, "ingestion.records_per_request=20", "ingestion.request_linger=1s",
                "ingestion={max_payload_bytes: 5000}")
    if r.exit_code == 2:
        one_error_line(r)
        return
    assert r.exit_code == 0, r.output
    assert "records_per_request" in r.stderr, r.stderr  # refused, or at least warned about


def test_the_api_does_not_mutate_the_callers_overrides():
    nested = {"records_per_request": 2}
    run(DEFAULT, overrides={"horizon": "1m", "ingestion": nested, "ingestion.request_linger": "1s"}, progress=False)
    assert nested == {"records_per_request": 2}


def test_the_api_sweep_grid_keys_must_be_text(tmp_path):
    import sim

    with pytest.raises(ScenarioError):
        sim.sweep(DEFAULT, grid={5: [1]}, replications=1, executor="serial", store=str(tmp_path / "s.duckdb"))


@pytest.mark.parametrize("pair", ["novalue", "=5", " =5"])
def test_a_malformed_set_is_one_error_line_naming_the_flag(tmp_path, pair):
    line = one_error_line(invoke("run", DEFAULT, "--set", pair, "--out", tmp_path, "-q"))
    assert line == f"error: --set {pair!r}: expected key=value, e.g. visitors.rate_per_s=40", line
