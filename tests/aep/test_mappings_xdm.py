"""XDM schemas and mapping sets: paths, types, identities, and apply(rows)."""

import copy
import json

import pytest

from sim.domain.aep.mappings import MappingSet, source_problems
from sim.domain.aep.problems import AepError
from sim.domain.aep.xdm import CATALOG, COMPATIBLE, EVENT_CLASS, PROFILE_CLASS, AdHocSchema, XdmSchema
from tests.aep.conftest import EXAMPLES

FG = "https://ns.adobe.com/xdm/context/"
SEED = json.loads((EXAMPLES / "marketing_automation.json").read_text())
INCR = {item["endpoint"]: item for item in json.loads((EXAMPLES / "hubspot_incremental.json").read_text())}


@pytest.fixture
def target() -> XdmSchema:
    item = SEED["POST /schemaregistry/tenant/schemas"]
    return XdmSchema.from_body(item["body"], item["id"])


@pytest.fixture
def hubspot() -> AdHocSchema:
    return AdHocSchema("adhoc", "HubSpot contacts", {
        "Vid": "integer", "Portal_Id": "integer", "Added_At": "integer", "Properties_Firstname_Value": "string",
        "Properties_Lastname_Value": "string", "Properties_Email_Value": "string", "Score": "number",
        "Opted_In": "boolean", "Birth": "date"})


def seed_mappings(**edit_first) -> dict:
    body = copy.deepcopy(SEED["POST /conversion/mappingSets"]["body"])
    body["mappings"][0].update(edit_first)
    return body


def mapping_problems(body, target, source=None, namespaces=("Email", "ECID", "HubSpotId")):
    with pytest.raises(AepError) as exc:
        MappingSet.from_body(body, target, source, namespaces)
    return [str(p) for p in exc.value.problems]


# -- schemas --------------------------------------------------------------------------------------
def test_the_seed_target_schema_composes_its_class_and_field_groups_once(target):
    assert target.class_id == PROFILE_CLASS and target.behaviour == "record"
    assert target.field_groups == (FG + "profile-person-details", FG + "profile-personal-details")  # listed twice
    paths = target.paths
    for path, typ in [("_id", "string"), ("person.name.firstName", "string"), ("personalEmail.address", "string"),
                      ("repositoryCreatedBy", "string"), ("person.birthDate", "date")]:
        assert paths[path] == typ
    assert "workEmail.address" not in paths and "web.webPageDetails.name" not in paths


def test_unknown_and_misplaced_field_groups_are_refused_naming_the_entry():
    with pytest.raises(AepError) as exc:
        XdmSchema.from_body({"title": "t", "meta:class": PROFILE_CLASS, "allOf": [
            {"$ref": PROFILE_CLASS}, {"$ref": FG + "profile-hobbies"}, {"$ref": FG + "experienceevent-web"}]})
    fields = [p.field for p in exc.value.problems]
    assert fields == ["allOf[1].$ref", "allOf[2].$ref"]
    assert "does not fit class 'XDM Individual Profile'" in str(exc.value)


def test_a_schema_needs_one_known_class():
    with pytest.raises(AepError, match="meta:class: required field is missing"):
        XdmSchema.from_body({"allOf": [{"$ref": FG + "profile-person-details"}]})
    with pytest.raises(AepError, match="one class"):
        XdmSchema.from_body({"allOf": [{"$ref": PROFILE_CLASS}, {"$ref": EVENT_CLASS}]})
    event = XdmSchema.from_body({"allOf": [{"$ref": EVENT_CLASS}, {"$ref": FG + "experienceevent-web"}]})
    assert event.behaviour == "time-series" and event.paths["timestamp"] == "date-time"


def test_every_catalog_type_is_an_xdm_type_and_compatibility_is_reflexive():
    for comp in CATALOG.values():
        assert set(comp.fields.values()) <= set(COMPATIBLE)
    assert all(t in COMPATIBLE[t] for t in COMPATIBLE)
    assert "integer" in COMPATIBLE["number"] and "number" not in COMPATIBLE["integer"]


# -- mapping sets ---------------------------------------------------------------------------------
def test_the_seed_mapping_set_is_accepted_against_the_seed_schemas(target, hubspot):
    ms = MappingSet.from_body(SEED["POST /conversion/mappingSets"]["body"], target, hubspot, id="m1")
    assert [m.destination_path for m in ms.mappings] == ["person.name.firstName", "person.name.lastName",
                                                         "repositoryCreatedBy", "_id"]
    assert ms.identity_mappings == [] and ms.version == 0 and ms.id == "m1"


def test_an_unknown_destination_path_names_the_mapping_and_suggests(target):
    [p] = mapping_problems(seed_mappings(destinationXdmPath="person.name.nickName"), target)
    assert p.startswith("mappings[0].destinationXdmPath: mapping 0 (sourceAttribute 'Properties_Firstname_Value'): "
                        "'person.name.nickName' is not a path of target schema")
    assert "did you mean person.name.firstName" in p


def test_a_type_mismatch_names_the_mapping_both_sides(target, hubspot):
    [p] = mapping_problems(seed_mappings(destinationXdmPath="person.birthYear"), target, hubspot)
    assert p.startswith("mappings[0].destinationXdmPath: mapping 0 (sourceAttribute 'Properties_Firstname_Value'): "
                        "type mismatch: source string cannot be written to 'person.birthYear' (integer)")
    body = seed_mappings(destinationXdmPath="person.birthYear", sourceAttribute="Vid")  # integer -> integer
    assert MappingSet.from_body(body, target, hubspot)
    body = seed_mappings(destinationXdmPath="person.birthDate", sourceAttribute="Birth")  # date -> date
    assert MappingSet.from_body(body, target, hubspot)
    [p] = mapping_problems(seed_mappings(destinationXdmPath="person.birthDate", sourceAttribute="Added_At"),
                           target, hubspot)
    assert "source integer cannot be written to 'person.birthDate' (date)" in p


def test_source_attributes_are_checked_against_the_ad_hoc_schema(target, hubspot):
    [p] = mapping_problems(seed_mappings(sourceAttribute="Properties_FirstName_Value"), target, hubspot)
    assert p.startswith("mappings[0].sourceAttribute: mapping 0 (sourceAttribute 'Properties_FirstName_Value'): "
                        "not a field of source schema") and "did you mean Properties_Firstname_Value" in p


def test_an_identity_needs_a_known_namespace_and_a_string_field(target):
    [p] = mapping_problems(seed_mappings(identity=True), target)
    assert p == ("mappings[0].namespaceCode: mapping 0 (sourceAttribute 'Properties_Firstname_Value'): "
                 "an identity mapping needs a namespaceCode (e.g. Email, ECID)")
    [p] = mapping_problems(seed_mappings(identity=True, namespaceCode="Emial"), target)
    assert "unknown identity namespace 'Emial'; known: ECID, Email, HubSpotId" in p
    assert MappingSet.from_body(seed_mappings(identity=True, namespaceCode="Email"), target,
                                namespaces=["Email"]).identity_mappings
    [p] = mapping_problems(seed_mappings(identity=True, namespaceCode="Email",
                                         destinationXdmPath="personalEmail.primary"),
                           target)
    assert "an identity must be a string field, 'personalEmail.primary' is boolean" in p


def test_two_mappings_may_not_write_one_path_and_at_most_20_identities(target):
    body = seed_mappings(destinationXdmPath="_id")
    [p] = mapping_problems(body, target)
    assert p.startswith("mappings[3].destinationXdmPath: mapping 3 (sourceAttribute 'Portal_Id'): '_id' is already "
                        "written by mapping 0")
    paths = [p for p, t in target.paths.items() if t == "string"]

    def with_identities(n):
        return {"xdmSchema": target.id, "mappings": [
            {"sourceAttribute": f"a{i}", "destinationXdmPath": paths[i], "identity": True, "namespaceCode": "Email"}
            for i in range(n)]}
    assert len(MappingSet.from_body(with_identities(20), target, namespaces=["Email"]).identity_mappings) == 20
    assert mapping_problems(with_identities(21), target, namespaces=["Email"]) == \
        ["mappings: 21 identity mappings; a record carries at most 20 identities"]


def test_the_body_shape_and_the_target_schema_are_checked(target):
    assert mapping_problems({"xdmSchema": target.id, "mappings": []}, target) == ["mappings: must not be empty"]
    assert mapping_problems({"mappings": [{"sourceAttribute": "x"}]}, target) == [
        "mappings[0].destinationXdmPath: required field is missing", "xdmSchema: required field is missing"]
    assert mapping_problems(seed_mappings() | {"xdmSchema": "other"}, target) == \
        [f"xdmSchema: 'other' is not the target schema {target.id!r}"]


def test_source_problems_can_be_checked_later(target, hubspot):
    ms = MappingSet.from_body(seed_mappings(sourceAttribute="Nope"), target)
    assert [p.field for p in source_problems(ms.mappings, target, hubspot)] == ["mappings[0].sourceAttribute"]
    with pytest.raises(AepError):
        ms.with_source(hubspot)


# -- apply ----------------------------------------------------------------------------------------
def test_apply_builds_nested_records_with_identities_in_mapping_order():
    body = INCR["POST /conversion/mappingSets"]["body"]
    tgt = XdmSchema.from_body(INCR["POST /schemaregistry/tenant/schemas"]["body"], body["xdmSchema"])
    src = AdHocSchema("s", "s", {"Vid": "integer", "Properties_Email_Value": "string",
                                 "Properties_Firstname_Value": "string", "Properties_Lastname_Value": "string",
                                 "Properties_Phone_Value": "string"})
    ms = MappingSet.from_body(body, tgt, src, namespaces=["Email", "HubSpotId"])
    batch = ms.apply([
        {"Vid": 501, "Properties_Email_Value": "ann@x.com", "Properties_Firstname_Value": "Ann",
         "Properties_Lastname_Value": "Lee", "Properties_Phone_Value": None},
        {"Vid": "502", "Properties_Email_Value": "", "Properties_Firstname_Value": "Bo"},
        {"Vid": "five", "Properties_Email_Value": "c@x.com"},
    ], timestamps=[10.0, 20.0, 30.0])
    first, second = batch.records
    assert first.data == {"personalEmail": {"address": "ann@x.com"}, "userAccount": {"ID": "501"}, "_id": "501",
                          "person": {"name": {"firstName": "Ann", "lastName": "Lee"}}}
    assert first.identities == [("Email", "ann@x.com"), ("HubSpotId", "501")] and first.timestamp == 10.0
    assert second.identities == [("HubSpotId", "502")] and second.row == 1  # empty e-mail: no identity
    assert [str(e) for e in batch.failed] == ["row 2: Vid: 'five' is not an integer"]


def test_apply_converts_scalars_to_string_destinations(target):
    src = AdHocSchema("s", "s", {"Portal_Id": "integer", "Added_At": "integer", "Properties_Firstname_Value": "string",
                                 "Properties_Lastname_Value": "string"})
    ms = MappingSet.from_body(SEED["POST /conversion/mappingSets"]["body"], target, src)
    [rec] = ms.apply([{"Portal_Id": 62515.0, "Added_At": 1767225600000, "Properties_Firstname_Value": "Zoé"}]).records
    assert rec.data == {"_id": "62515", "repositoryCreatedBy": "1767225600000",
                        "person": {"name": {"firstName": "Zoé"}}}
    assert rec.identities == []  # the seed's mapping marks no identity
