"""validate_bodies and `aep validate`: the seed's bodies accepted, broken ones refused by field."""

import json

import pytest
from click.testing import CliRunner

from sim.cli.aep import aep
from sim.domain.aep.api import Sandbox, endpoint_kind, kind_from_shape, validate_bodies
from tests.aep.conftest import EXAMPLES, INCR_FLOW, SEED_FLOW, SFMC_FLOW

BROKEN = EXAMPLES / "broken"
SEED = json.loads((EXAMPLES / "marketing_automation.json").read_text())


def test_the_seed_chain_is_accepted_with_the_ids_of_the_seed_responses():
    result = validate_bodies([EXAMPLES / "marketing_automation.json"])
    assert result.ok, result.problems
    assert result.ids() == [
        "https://ns.adobe.com/adobe_mcdp_connectors_stg/schemas/63f2c82fcdcb606c536a62d7716e34acbf63cd4582a1c16b",
        "5e9797ac6d771118ad8356db", "c315c0ae-a339-44c4-95c0-aea33964c420", "fd82157f-0eea-4c81-8215-7f0eeaec8139",
        "280a3cc950894945bf815c5fc60f3803", SEED_FLOW]
    notes = "\n".join(result.notes)
    assert "interval: the string '30' was read as the integer 30" in notes
    assert "full reload" in notes and "data lake spec" in notes


def test_the_other_examples_are_accepted_together():
    result = validate_bodies([EXAMPLES / "hubspot_incremental.json", EXAMPLES / "sfmc_v2.json"])
    assert result.ok, result.problems
    assert result.ids("flows") == [INCR_FLOW, SFMC_FLOW] and result.notes == []


EXPECTED = {  # file -> the problem lines (after the object label), in order
    "flow_interval_10_minute.json": ["scheduleParams.interval: 10 is below the minimum 15 for frequency 'minute'"],
    "flow_interval_string_10_minute.json": [
        "scheduleParams.interval: 10 is below the minimum 15 for frequency 'minute'"],
    "flow_frequency_month.json": [
        "scheduleParams.frequency: 'month' is not allowed; allowed: once, minute, hour, day, week"],
    "flow_missing_start_time.json": ["scheduleParams.startTime: required field is missing"],
    "flow_start_time_placeholder.json": ["scheduleParams.startTime: '<START TIME>' is not an integer"],
    "flow_copy_without_delta_column.json": ["transformations[0].params.deltaColumn: required field is missing: Copy "
                                            "needs the delta column {name, dateFormat, timezone} that drives "
                                            "incremental loads"],
    "mapping_unknown_xdm_path.json": [
        "mappings[0].destinationXdmPath: mapping 0 (sourceAttribute 'Properties_Firstname_Value'): "
        "'person.name.nickName' "
        "is not a path of target schema 'Target schema for marketing automation'; did you mean person.name.firstName, "
        "person.name.middleName, person.name.lastName?",
        "transformations[0].params.mappingId: refers to mapping set '280a3cc950894945bf815c5fc60f3803', which was "
        "rejected above"],
    "mapping_identity_without_namespace.json": [
        "mappings[1].namespaceCode: mapping 1 (sourceAttribute 'Vid'): an identity mapping needs a namespaceCode "
        "(e.g. Email, ECID)",
        "transformations[1].params.mappingId: refers to mapping set '9f1d2c3b4a5e6f708192a3b4c5d6e7f8', which was "
        "rejected above"],
    "mapping_type_mismatch.json": [
        "transformations[0].params.mappingId: mapping set '280a3cc950894945bf815c5fc60f3803', "
        "mappings[0].destinationXdmPath: mapping 0 (sourceAttribute 'Properties_Firstname_Value'): type mismatch: "
        "source string cannot be written to 'person.birthYear' (integer); integer accepts integer"],
    "target_connection_source_base_connection.json": [
        "baseConnectionId: '2fce94c1-9a93-4971-8e94-c19a93097129' is the base connection of the source HubSpot; a "
        "target connection must use the dataset base connection (e.g. '44b1c1e43-a5ee-4d86-9c1e-43a5eebd8601')",
        "targetConnectionIds[0]: refers to target connection 'fd82157f-0eea-4c81-8215-7f0eeaec8139', which was "
        "rejected above"],
    "sfmc_v1_connection.json": [
        "connectionSpec.id: the Salesforce Marketing Cloud (V1) source was retired in January 2026 and has no "
        "migration; re-implement with the Salesforce Marketing Cloud (V2) source (connection spec "
        "5f6c0b2e-7d1a-4c3b-9e8f-0a1b2c3d4e02)"],
    "dataset_seed_schema_ref.json": [
        "schemaRef.id: unknown schema 'https://ns.adobe.com/adobe_mcdp_connectors_stg/schemas/"
        "14d89c5bb88e2ff488f23db896be469e7e30bb166bda8722'",
        "params.dataSetId: refers to dataset '5e9797ac6d771118ad8356db', which was rejected above",
        "targetConnectionIds[0]: refers to target connection 'fd82157f-0eea-4c81-8215-7f0eeaec8139', which was "
        "rejected above"],
}


def test_every_broken_example_is_listed():
    assert {p.name for p in BROKEN.glob("*.json")} == set(EXPECTED) | {"target_connection_seed_verbatim.json"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_examples_are_refused_naming_object_and_field(name):
    result = validate_bodies([BROKEN / name])
    assert [line.split(": ", 1)[1] for line in result.problems] == EXPECTED[name]
    for line in result.problems:
        assert line.startswith(f"{BROKEN / name}#")  # the file and the body's index
        assert " POST /" in line.split(": ", 1)[0]  # and its endpoint


def test_the_seeds_target_connection_is_not_valid_json_and_the_problem_names_line_and_column():
    result = validate_bodies([BROKEN / "target_connection_seed_verbatim.json"])
    assert result.problems == [f"{BROKEN / 'target_connection_seed_verbatim.json'}: line 13, column 51: invalid JSON: "
                               "unterminated string (the string opened at column 26): the line ends before its "
                               "closing quote"]
    assert result.created == []


def test_other_json_errors_name_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "name": "x",\n  "flowSpec": {"id": "a"},,\n}\n')
    [p] = validate_bodies([bad]).problems
    assert p.startswith(f"{bad}: line 3, column 27: invalid JSON: ")
    assert validate_bodies([tmp_path / "missing.json"]).problems == [f"{tmp_path / 'missing.json'}: no such file"]


def test_strict_mode_refuses_the_seeds_string_interval():
    result = validate_bodies([EXAMPLES / "marketing_automation.json"], strict=True)
    assert [line.split(": ", 1)[1] for line in result.problems] == ["scheduleParams.interval: '30' is not an integer"]


def test_a_list_of_bare_bodies_is_recognised_by_shape_and_ordered_by_dependency():
    schema = dict(SEED["POST /schemaregistry/tenant/schemas"]["body"], **{"$id": SEED["POST /catalog/dataSets"]["body"]
                                                                         ["schemaRef"]["id"]})
    bodies = [SEED["POST /conversion/mappingSets"]["body"], SEED["POST /catalog/dataSets"]["body"], schema]
    result = validate_bodies([bodies])
    assert result.ok, result.problems
    assert [c.kind for c in result.created] == ["schemas", "dataSets", "mappingSets"]
    assert result.created[0].id == schema["$id"]  # a schema body's own $id is its id
    assert [c.label for c in result.created] == ["<input 0>#2", "<input 0>#1", "<input 0>#0"]
    generated = validate_bodies([SEED["POST /schemaregistry/tenant/schemas"]["body"]]).ids()[0]
    assert generated.startswith("https://ns.adobe.com/adobe_mcdp_connectors_stg/schemas/") and len(generated) == 103


def test_generated_ids_are_deterministic():
    body = SEED["POST /sourceConnections"]["body"]
    assert validate_bodies([body]).ids() == validate_bodies([body]).ids()
    assert len(validate_bodies([body]).ids()[0]) == 36


def test_endpoints_and_shapes():
    assert endpoint_kind("POST /conversion/mappingSets") == "mappingSets"
    assert endpoint_kind("https://platform.adobe.io/data/foundation/flowservice/flows") == "flows"
    assert endpoint_kind("POST /catalog/dataSets?requestDataSource=true") == "dataSets"
    assert endpoint_kind("GET /flows x") is None and endpoint_kind("POST /segments") is None
    assert [kind_from_shape(SEED[k]["body"]) for k in SEED] == [endpoint_kind(k) for k in SEED]
    assert kind_from_shape({"hello": 1}) is None


def test_unrecognised_bodies_and_endpoints_are_problems_not_crashes():
    result = validate_bodies([{"hello": 1}, [{"endpoint": "POST /segments", "body": {}}], [3], {"POST /flows": "x"}])
    assert result.problems == [
        "<input 0>: cannot tell which endpoint this body is for; "
        "wrap it as {\"endpoint\": \"POST /flows\", \"body\": {...}}",
        "<input 1>#0: endpoint: 'POST /segments' is not one of POST /connections, POST /schemaregistry/tenant/schemas, "
        "POST /catalog/dataSets, POST /sourceConnections, POST /targetConnections, POST /conversion/mappingSets, "
        "POST /flows",
        "<input 2>#0: cannot tell which endpoint this body is for; "
        "wrap it as {\"endpoint\": \"POST /flows\", \"body\": {...}}",
        "<input 3>#0 POST /flows: the body must be a JSON object"]


def test_an_id_used_twice_is_refused():
    item = {"endpoint": "POST /sourceConnections", "id": "same", "body": SEED["POST /sourceConnections"]["body"]}
    result = validate_bodies([[item, item]])
    assert result.ids() == ["same"] and result.problems == [
        "<input 0>#1 POST /sourceConnections 'Marketing automation source connection': id: 'same' already exists in "
        "this sandbox"]


def test_an_empty_sandbox_knows_nothing_of_the_seed():
    bodies = [{"POST /sourceConnections": SEED["POST /sourceConnections"]}]
    problems = validate_bodies(bodies, sandbox=Sandbox()).problems
    assert [p.split(": ")[1] for p in problems] == ["baseConnectionId", "data.schema.id"]
    assert "unknown base connection '2fce94c1-9a93-4971-8e94-c19a93097129'" in problems[0]


# -- the command line -----------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(aep, ["validate", *map(str, args)])


def test_cli_prints_the_created_ids_and_exits_0():
    result = run(EXAMPLES / "marketing_automation.json")
    assert result.exit_code == 0, result.output
    assert f"POST /flows -> {SEED_FLOW}  (Dataflow for marketing automation)" in result.stdout
    assert len(result.stdout.splitlines()) == 6
    assert "note:" in result.stderr and "note:" not in result.stdout


def test_cli_prints_one_line_per_problem_and_exits_2_without_traceback():
    result = run(BROKEN / "flow_interval_10_minute.json", BROKEN / "target_connection_seed_verbatim.json")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "2 problem(s); 5 object(s) would be created"
    assert any("scheduleParams.interval: 10 is below the minimum 15" in line for line in lines)
    assert any("line 13, column 51" in line for line in lines)
    # an exit with its code, not an exception escaping the command (whose traceback would follow)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_cli_strict_and_quiet_flags(tmp_path):
    assert CliRunner().invoke(aep, ["validate", "--strict", str(EXAMPLES / "marketing_automation.json")]).exit_code == 2
    quiet = CliRunner().invoke(aep, ["validate", "-q", str(EXAMPLES / "marketing_automation.json")])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert run(tmp_path / "nope.json").exit_code == 2
    assert CliRunner().invoke(aep, ["validate"]).exit_code == 2  # no file: click's usage error
