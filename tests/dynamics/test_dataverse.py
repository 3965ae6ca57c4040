"""Dataverse records: typed columns, change events, no-op updates and clear errors."""

import re

import pytest

from sim.domain.dynamics.dataverse import STANDARD_TABLES, DataverseError, DataverseStore, Ref, TableSpec


@pytest.fixture
def store() -> DataverseStore:
    s = DataverseStore()
    s.create("contact", {"firstname": "Ana", "lastname": "Lima"}, t=0.0, record_id="c1")
    s.create("account", {"name": "Acme"}, t=0.0, record_id="a1")
    return s


def test_create_lists_the_non_null_columns_and_keeps_user_and_time(store):
    """A create event: operation create, changed = the columns given a value (and the key)."""
    ev = store.create("incident", {"title": "Printer", "customerid": Ref("contact", "c1"), "satisfaction": None},
                      t=12.5, user="agent-7", record_id="inc1")
    assert (ev.table, ev.record_id, ev.operation, ev.user, ev.t) == ("incident", "inc1", "create", "agent-7", 12.5)
    assert ev.changed == {"incidentid", "title", "customerid"}
    assert ev.old == {}
    assert ev.record["satisfaction"] is None and ev.record["statuscode"] is None
    assert set(ev.record) == set(STANDARD_TABLES["incident"].columns)


def test_update_reports_only_the_columns_that_changed_with_old_and_new_values(store):
    store.create("incident", {"title": "Printer", "statuscode": "Active", "customerid": Ref("contact", "c1")},
                 t=0.0, record_id="inc1")
    ev = store.update("incident", "inc1", {"statuscode": "Resolved", "title": "Printer"}, t=60.0, user="agent")
    assert ev.operation == "update"
    assert ev.changed == {"statuscode"}
    assert dict(ev.old) == {"statuscode": "Active"} and dict(ev.new) == {"statuscode": "Resolved"}
    assert ev.record["title"] == "Printer" and ev.record["statuscode"] == "Resolved"
    assert store.get("incident", "inc1")["statuscode"] == "Resolved"


def test_updating_a_column_with_its_current_value_is_not_a_change(store):
    store.create("incident", {"statuscode": "Active"}, t=0.0, record_id="inc1")
    assert store.update("incident", "inc1", {"statuscode": "Active"}, t=1.0) is None
    assert store.update("incident", "inc1", {"satisfaction": None}, t=1.0) is None  # null -> null
    assert store.update("incident", "inc1", {"statuscode": "Cancelled"}, t=2.0) is not None


def test_setting_a_column_back_to_null_is_a_change(store):
    store.create("incident", {"satisfaction": 3}, t=0.0, record_id="inc1")
    ev = store.update("incident", "inc1", {"satisfaction": None}, t=1.0)
    assert ev is not None and dict(ev.old) == {"satisfaction": 3} and dict(ev.new) == {"satisfaction": None}


def test_record_ids_are_deterministic_when_not_given():
    a, b = DataverseStore(), DataverseStore()
    ids_a = [a.create("contact", {}, t=0).record_id for _ in range(3)]
    ids_b = [b.create("contact", {}, t=0).record_id for _ in range(3)]
    assert ids_a == ids_b and len(set(ids_a)) == 3


@pytest.mark.parametrize("table, values, message", [
    ("incidnt", {}, "unknown table 'incidnt'; tables: account, contact, incident, lead, salesorder"),
    ("incident", {"satisfction": 2}, "table incident has no column 'satisfction'; columns: incidentid, title"),
    ("incident", {"satisfaction": "high"}, "incident.satisfaction: expected a whole number in [1, 5], got 'high'"),
    ("incident", {"satisfaction": True}, "incident.satisfaction: expected a whole number"),
    ("incident", {"statuscode": "Closed"}, "incident.statuscode: expected one of 'Active', 'Resolved', 'Cancelled'"),
    ("incident", {"customerid": Ref("lead", "c1")}, "incident.customerid: expected a lookup to contact or account"),
    ("incident", {"customerid": Ref("contact", "nobody")}, "incident.customerid: no contact record 'nobody'"),
    ("salesorder", {"totalamount": float("nan")}, "salesorder.totalamount: expected a number"),
    ("contact", {"firstname": 7}, "contact.firstname: expected text, got 7"),
])
def test_wrong_tables_columns_and_types_are_clear_errors(store, table, values, message):
    with pytest.raises(DataverseError) as err:
        store.create(table, values, t=0.0)
    assert message in str(err.value)


@pytest.mark.parametrize("value, ok", [(0, False), (1, True), (5, True), (6, False)])
def test_satisfaction_bounds_both_sides(store, value, ok):
    if ok:
        assert store.create("incident", {"satisfaction": value}, t=0).record["satisfaction"] == value
    else:
        with pytest.raises(DataverseError, match=r"in \[1, 5\]"):
            store.create("incident", {"satisfaction": value}, t=0)


def test_update_errors_name_the_record_and_key(store):
    with pytest.raises(DataverseError, match="table contact has no record 'c9'"):
        store.update("contact", "c9", {"firstname": "x"}, t=0)
    with pytest.raises(DataverseError, match="primary key cannot be updated"):
        store.update("contact", "c1", {"contactid": "c2"}, t=0)
    with pytest.raises(DataverseError, match="already has a record 'c1'"):
        store.create("contact", {}, t=0, record_id="c1")


def test_the_key_may_be_given_as_a_value(store):
    assert store.create("contact", {"contactid": "c7"}, t=0).record_id == "c7"
    with pytest.raises(DataverseError, match="differ"):
        store.create("contact", {"contactid": "c8"}, t=0, record_id="c9")


def test_single_target_lookup_accepts_a_plain_id(store):
    ev = store.create("incident", {"primarycontactid": "c1"}, t=0)
    assert ev.record["primarycontactid"] == Ref("contact", "c1")


def test_references_can_be_left_unchecked():
    s = DataverseStore(check_references=False)
    assert s.create("incident", {"customerid": Ref("contact", "ghost")}, t=0).record["customerid"].id == "ghost"


def test_audience_columns_of_standard_tables():
    assert STANDARD_TABLES["incident"].audience_columns == ("customerid", "primarycontactid")
    assert STANDARD_TABLES["contact"].audience_columns == ("contactid", "parentcustomerid")
    assert STANDARD_TABLES["lead"].audience_columns == ("leadid", "parentcontactid", "parentaccountid")
    assert STANDARD_TABLES["salesorder"].audience_columns == ("customerid",)


def test_custom_table_from_a_spec():
    spec = TableSpec.model_validate({"name": "cr4f2_warranty", "columns": {
        "cr4f2_title": "text",
        "cr4f2_status": {"type": "choice", "choices": ["Open", "Expired"]},
        "cr4f2_customer": {"type": "lookup", "targets": ["contact"]},
        "cr4f2_order": {"type": "lookup", "targets": ["salesorder"]},
        "cr4f2_months": {"type": "int", "minimum": 0}}})
    table = spec.table()
    assert table.primary_key == "cr4f2_warrantyid"
    assert table.audience_columns == ("cr4f2_customer",)  # a lookup to an order is no audience
    s = DataverseStore({**STANDARD_TABLES, table.name: table}, check_references=False)
    assert s.create("cr4f2_warranty", {"cr4f2_status": "Open", "cr4f2_months": 0}, t=0).changed \
        == {"cr4f2_warrantyid", "cr4f2_status", "cr4f2_months"}
    with pytest.raises(DataverseError, match=re.escape("cr4f2_warranty.cr4f2_months")):
        s.create("cr4f2_warranty", {"cr4f2_months": -1}, t=0)


@pytest.mark.parametrize("column, message", [
    ({"type": "lookup"}, "a lookup column needs targets"),
    ({"type": "choice"}, "a choice column needs choices"),
    ({"type": "text", "choices": ["a"]}, "choices apply to choice columns only"),
    ("date", "Input should be"),
])
def test_bad_custom_columns_are_rejected(column, message):
    with pytest.raises(ValueError, match=message):
        TableSpec.model_validate({"name": "t", "columns": {"c": column}})
