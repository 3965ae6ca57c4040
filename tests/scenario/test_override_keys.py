"""Overrides from Python and ``--set``: keys that are not text are refused, the caller's values are
never written into, a key holding a line break is shown escaped (the error stays one line), a null
value is named, and a model-level problem is blamed on where its field came from."""

import pytest

import sim
from sim.core.errors import field_path
from sim.scenario.errors import Overrides
from sim.scenario.load import ScenarioError, apply_overrides, load
from tests.conftest import DEFAULT


@pytest.mark.parametrize("key, shown", [(1, "key 1 (int)"), (None, "key None (NoneType)"),
                                        (("ingestion", "records_per_request"), "(tuple)"), (b"horizon", "(bytes)")])
def test_a_key_that_is_not_text_is_refused(key, shown):
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides={key: 2})
    message = str(info.value)
    assert message.startswith("overrides: key ") and shown in message and "dotted field path" in message


def test_a_text_key_is_read():
    assert load(DEFAULT, overrides={"ingestion.records_per_request": 2}).ingestion.records_per_request == 2


def test_a_sweep_grid_key_that_is_not_text_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"^sweep \{5: 1\}: key 5 \(int\) is not text"):
        sim.sweep(DEFAULT, grid={5: [1]}, replications=1, executor="serial", store=str(tmp_path / "s.duckdb"))


def test_the_callers_values_are_not_written_into():
    nested = {"records_per_request": 2, "http_latency": {"median": "1s", "p95": "2s"}}
    faults = [{"target": "crm", "kind": "outage", "start": 0, "duration": "1m"}]
    overrides = {"ingestion": nested, "ingestion.request_linger": "1s", "ingestion.http_latency.median": "2s",
                 "faults": faults}
    out = apply_overrides({"name": "x"}, overrides)
    assert out["ingestion"] == {"records_per_request": 2, "request_linger": "1s",
                                "http_latency": {"median": "2s", "p95": "2s"}}
    assert nested == {"records_per_request": 2, "http_latency": {"median": "1s", "p95": "2s"}}
    assert out["faults"] == faults and out["faults"] is not faults and out["faults"][0] is not faults[0]


@pytest.mark.parametrize("parts, shown", [
    (("identity", "batch", "precision"), "identity.batch.precision"),
    (("identity", "batch", "a\nb"), "identity.batch.'a\\nb'"),
    (("faults", 0, "x\ty"), "faults.0.'x\\ty'"),
    (("a\u2028b",), "'a\\u2028b'"),
])
def test_a_path_part_with_a_control_character_is_quoted_and_escaped(parts, shown):
    assert field_path(parts) == shown


@pytest.mark.parametrize("overrides", [
    {"identity.batch": {"runs_per_day\nprecision": 4}},  # pydantic's unknown field
    {"identity.batch.runs_per_day\nprecision": 4},  # the dotted path's
    {"identity\n.batch": 1},
    {"variants": {"a\nb": {"horizon": -1}}},  # a variant's name
])
def test_a_key_with_a_line_break_stays_on_one_line(overrides):
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides=overrides)
    assert len(str(info.value).splitlines()) == 1 and "\\n" in str(info.value), str(info.value)


def test_a_null_is_named_and_a_mapping_is_not_repeated():
    with pytest.raises(ScenarioError, match=r"records_per_request: Input should be a valid integer \(got null\)$"):
        load(DEFAULT, overrides={"ingestion.records_per_request": None})
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides={"ingestion.records_per_request": {"a": 1}})
    assert "(got" not in str(info.value)


FAULT = [{"target": "event_bus", "kind": "outage", "start": 0, "duration": "5m"}]


def test_a_model_level_problem_is_blamed_on_where_its_field_came_from(tmp_path):
    with pytest.raises(ScenarioError, match=r"^--set: faults\.0: the event_bus takes allocation_cut faults only$"):
        load(DEFAULT, overrides=Overrides({"faults": FAULT, "horizon": "1m"}, source="--set"))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nhorizon: 2m\nfaults: [{target: event_bus, kind: outage, start: 0, duration: 5m}]\n")
    with pytest.raises(ScenarioError, match=rf"^{path}: faults\.0: the event_bus takes allocation_cut faults only$"):
        load(path, overrides=Overrides({"horizon": "1m"}, source="--set"))  # the fault is the file's


def test_a_section_after_fields_inside_it_is_refused_and_before_them_is_merged():
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides=Overrides({"ingestion.records_per_request": 20, "ingestion.request_linger": "1s",
                                           "ingestion": {"max_payload_bytes": 5000}}, source="--set"))
    assert str(info.value) == ("--set: ingestion: a whole section given after ingestion.records_per_request, "
                               "ingestion.request_linger would discard them; give the section first and the fields "
                               "after it, or put them inside it")
    with pytest.raises(ScenarioError, match=r"^overrides: identity\.batch: .* after identity\.batch\.duration\.p95 "
                                            r"would discard it;"):
        load(DEFAULT, overrides={"identity.batch.duration.p95": "2h", "identity.batch": {"runs_per_day": 1}})
    ing = load(DEFAULT, overrides={"ingestion": {"max_payload_bytes": 5000}, "ingestion.records_per_request": 20,
                                   "ingestion.request_linger": "1s"}).ingestion
    assert (ing.max_payload_bytes, ing.records_per_request, ing.request_linger) == (5000, 20, 1.0)
    other = load(DEFAULT, overrides={"ingestion.records_per_request": 20, "identity.batch": {"runs_per_day": 1}})
    assert other.ingestion.records_per_request == 20 and other.identity.batch.runs_per_day == 1
