"""Dataflows: cross-object checks at creation, and what a run selects and maps."""

import copy
import json
import re

import pytest

from sim.domain.aep.api import Sandbox
from sim.domain.aep.dataflow import Dataflow
from sim.domain.aep.problems import AepError
from tests.aep.conftest import EXAMPLES, INCR_FLOW, SEED_FLOW, SFMC_FLOW

S = 1767225600
INCR = {item["endpoint"]: item for item in json.loads((EXAMPLES / "hubspot_incremental.json").read_text())}
FLOW_BODY = INCR["POST /flows"]["body"]


def flow_problems(sb: Sandbox, edit) -> list[str]:
    body = copy.deepcopy(FLOW_BODY)
    edit(body)
    with pytest.raises(AepError) as exc:
        Dataflow.from_body(body, "f-test", sb.source_connections, sb.target_connections, sb.mapping_sets)
    return [str(p) for p in exc.value.problems]


def test_the_example_flows_are_built_with_their_load_modes(sandbox):
    seed, incr, sfmc = sandbox.flows[SEED_FLOW], sandbox.flows[INCR_FLOW], sandbox.flows[SFMC_FLOW]
    assert (seed.load_mode, incr.load_mode, sfmc.load_mode) == ("full", "incremental", "incremental")
    assert seed.schedule.interval == 30 and seed.schedule.period_s == 1800
    assert incr.delta_column.name == "Properties_Lastmodifieddate_Value" and incr.schedule.end_time == S + 86400
    assert sfmc.schedule.backfill is False and sfmc.source.path == "Contacts_DE"
    assert any("full reload" in n for n in seed.notes) and not any("full reload" in n for n in incr.notes)
    assert incr.run_times(S + 3600).tolist() == [S, S + 900, S + 1800, S + 2700]


def contact(vid, email, first, modified):
    return {"Vid": vid, "Properties_Email_Value": email, "Properties_Firstname_Value": first,
            "Properties_Lastmodifieddate_Value": modified}


def test_an_incremental_run_selects_by_the_delta_column_and_maps_the_rows(sandbox):
    flow = sandbox.flows[INCR_FLOW]
    source = [contact(1, "a@x.com", "Ann", "2025-12-31 23:00:00"), contact(2, "b@x.com", "Bo", "2026-01-01 00:00:00"),
              contact(3, "c@x.com", "Cy", "2026-01-01 00:10:00")]
    first = flow.run(source, None, run_start=S)  # backfill: the history before the first run
    assert [r.data["_id"] for r in first.batch.records] == ["1"] and first.high_water_mark == S
    assert first.batch.records[0].identities == [("Email", "a@x.com"), ("HubSpotId", "1")]
    assert first.batch.records[0].timestamp == S - 3600  # the row's delta value feeds merge policies
    second = flow.run(source, first.high_water_mark, run_start=S + 900)
    assert [r.data["_id"] for r in second.batch.records] == ["2", "3"] and second.high_water_mark == S + 900
    third = flow.run(source, second.high_water_mark, run_start=S + 1800)
    assert third.batch.records == []


def test_a_mapping_only_flow_reloads_everything_each_run(sandbox):
    flow = sandbox.flows[SEED_FLOW]
    rows = [{"Portal_Id": 62515, "Properties_Firstname_Value": "Ann"},
            {"Portal_Id": 62515, "Properties_Lastname_Value": "Lee"}]
    first = flow.run(rows, None, S)
    second = flow.run(rows, first.high_water_mark, S + 1800)
    assert len(first.batch.records) == len(second.batch.records) == 2 and second.high_water_mark is None
    assert {r.data["_id"] for r in second.batch.records} == {"62515"}  # the seed maps the portal id to _id


def test_copy_without_delta_column_is_refused(sandbox):
    problems = flow_problems(sandbox, lambda b: b["transformations"][0].update(params={}))
    assert problems == ["transformations[0].params.deltaColumn: required field is missing: Copy needs the delta column "
                        "{name, dateFormat, timezone} that drives incremental loads"]


def test_the_delta_column_must_be_a_timestamp_field_of_the_source(sandbox):
    def rename(name):
        return lambda b: b["transformations"][0]["params"]["deltaColumn"].update(name=name)
    [p] = flow_problems(sandbox, rename("updated_at"))
    assert p.startswith("transformations[0].params.deltaColumn.name: 'updated_at' is not a field of source schema")
    [p] = flow_problems(sandbox,
                        lambda b: b["transformations"][0]["params"]["deltaColumn"].update(dateFormat="dd/MM/yy"))
    assert p.startswith("transformations[0].params.deltaColumn.dateFormat: 'dd/MM/yy' is not a supported date format")


def test_a_mapping_transformation_is_required_and_must_match_its_set(sandbox):
    assert flow_problems(sandbox, lambda b: b.update(transformations=b["transformations"][:1])) == [
        "transformations: a Mapping transformation (mappingId, mappingVersion) is required: the source's raw fields "
        "must be mapped to the target schema"]
    [p] = flow_problems(sandbox, lambda b: b["transformations"][1]["params"].update(mappingVersion="1"))
    assert p == ("transformations[1].params.mappingVersion: '1': mapping set '9f1d2c3b4a5e6f708192a3b4c5d6e7f8' "
                 "is at version 0")
    [p] = flow_problems(sandbox, lambda b: b["transformations"][1]["params"].update(mappingId="nope"))
    assert p == "transformations[1].params.mappingId: unknown mapping set 'nope'"
    [p] = flow_problems(sandbox, lambda b: b["transformations"][1]["params"].update(mappingVersion=0))
    assert p == "transformations[1].params.mappingVersion: 0 is not a string"
    # the seed's mapping set targets another schema than this flow's target connection
    other = "280a3cc950894945bf815c5fc60f3803"
    [p] = flow_problems(sandbox, lambda b: b["transformations"][1]["params"].update(mappingId=other))
    assert "maps to" in p and "not to the target connection's schema" in p


def test_transformation_names_and_duplicates(sandbox):
    [p] = flow_problems(sandbox, lambda b: b["transformations"].append({"name": "Filter", "params": {}}))
    assert p == ("transformations[2].name: 'Filter' is not a transformation of flow spec CRMToAEP; "
                 "allowed: Copy, Mapping")
    [p] = flow_problems(sandbox, lambda b: b["transformations"].append(copy.deepcopy(b["transformations"][0])))
    assert p == "transformations[2].name: Copy is listed twice"
    [p] = flow_problems(sandbox, lambda b: b["transformations"].append({"name": "Copy"}))
    assert p == "transformations[2].params: required field is missing"


def test_connections_and_flow_spec_are_resolved(sandbox):
    assert flow_problems(sandbox, lambda b: b.update(sourceConnectionIds=["x"], targetConnectionIds=["y"])) == [
        "sourceConnectionIds[0]: unknown source connection 'x'",
        "targetConnectionIds[0]: unknown target connection 'y'"]
    assert flow_problems(sandbox, lambda b: b["sourceConnectionIds"].append("x")) == [
        "sourceConnectionIds: at most 1 item(s) allowed"]
    [p] = flow_problems(sandbox, lambda b: b["flowSpec"].update(id="nope"))
    assert p.startswith("flowSpec.id: unknown flow spec 'nope'; known: 14518937-270c-4525-bdec-c2ba7cce3860 (CRMToAEP)")
    assert flow_problems(sandbox, lambda b: b.pop("scheduleParams")) == ["scheduleParams: required field is missing"]


def test_schedule_problems_are_prefixed_and_strict_mode_is_passed_on(sandbox):
    assert flow_problems(sandbox, lambda b: b["scheduleParams"].update(interval=10)) == [
        "scheduleParams.interval: 10 is below the minimum 15 for frequency 'minute'"]
    body = copy.deepcopy(FLOW_BODY)
    body["scheduleParams"]["interval"] = "30"
    args = ("f", sandbox.source_connections, sandbox.target_connections, sandbox.mapping_sets)
    assert Dataflow.from_body(body, *args).schedule.interval == 30
    with pytest.raises(AepError, match=re.escape("scheduleParams.interval: '30' is not an integer")):
        Dataflow.from_body(body, *args, strict=True)
