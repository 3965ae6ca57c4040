"""Dataverse and custom trigger semantics: what fires, for whom, with which attributes."""

import pytest

from sim.domain.dynamics.dataverse import DataverseStore, Ref, TableSpec
from sim.domain.dynamics.triggers import (
    MAX_CUSTOM_ATTRIBUTES,
    Audience,
    Catalog,
    CustomTrigger,
    DataverseTrigger,
    TriggerError,
    parse_trigger,
)


def _status_trigger(**kw) -> DataverseTrigger:
    base = {"name": "incident_status_updated", "table": "incident", "event": "updated", "audience": "customerid",
                "columns": ["statuscode"], "state": "ready_to_use"}
    return DataverseTrigger(**{**base, **kw})


@pytest.fixture
def store() -> DataverseStore:
    s = DataverseStore()
    s.create("account", {"name": "Acme"}, t=0, record_id="a1")
    s.create("contact", {"firstname": "Ana", "parentcustomerid": "a1"}, t=0, record_id="c1")
    s.create("lead", {"firstname": "Lu", "parentcontactid": "c1"}, t=0, record_id="l1")
    s.create("incident", {"title": "Printer", "statuscode": "Active", "customerid": Ref("contact", "c1")},
             t=0, record_id="inc1")
    return s


def test_fires_on_every_change_of_the_activating_column_not_only_the_interesting_value(store):
    """The seed's note: the trigger captures every change of Status, the journey filters Resolved."""
    trig = _status_trigger()
    fired = []
    for t, status in enumerate(["Resolved", "Active", "Cancelled"], start=1):
        fired.append(trig.matches(store.update("incident", "inc1", {"statuscode": status}, t=t)))
    assert [e.attributes["statuscode"] for e in fired] == ["Resolved", "Active", "Cancelled"]
    assert all(e.trigger == "incident_status_updated" and e.operation == "update" for e in fired)


def test_a_change_of_another_column_does_not_fire(store):
    trig = _status_trigger()
    assert trig.matches(store.update("incident", "inc1", {"title": "Printer jam"}, t=1)) is None
    both = store.update("incident", "inc1", {"title": "x", "statuscode": "Resolved"}, t=2)
    assert trig.matches(both) is not None


def test_a_no_op_update_fires_nothing(store):
    assert store.update("incident", "inc1", {"statuscode": "Active"}, t=1) is None


def test_no_columns_means_any_column(store):
    trig = _status_trigger(columns=[])
    assert trig.matches(store.update("incident", "inc1", {"title": "y"}, t=1)) is not None


@pytest.mark.parametrize("event, on_create, on_update", [
    ("created", True, False), ("updated", False, True), ("created_or_updated", True, True)])
def test_create_versus_update_events(store, event, on_create, on_update):
    trig = _status_trigger(event=event)
    created = store.create("incident", {"statuscode": "Active", "customerid": Ref("contact", "c1")}, t=1)
    updated = store.update("incident", created.record_id, {"statuscode": "Resolved"}, t=2)
    assert (trig.matches(created) is not None) == on_create
    assert (trig.matches(updated) is not None) == on_update


def test_a_create_fires_whatever_the_activating_columns(store):
    trig = _status_trigger(event="created_or_updated")
    created = store.create("incident", {"title": "no status yet", "customerid": Ref("contact", "c1")}, t=1)
    assert trig.matches(created) is not None


def test_other_tables_do_not_fire(store):
    trig = _status_trigger(columns=[])
    assert trig.matches(store.update("contact", "c1", {"firstname": "Ana Maria"}, t=1)) is None


def test_the_event_carries_the_customer_and_every_column_with_new_values(store):
    ev = _status_trigger().matches(store.update("incident", "inc1", {"statuscode": "Resolved", "satisfaction": 2},
                                                t=30.0, user="agent"))
    assert ev.audience == Audience("contact", "c1")
    assert ev.t == 30.0 and ev.table == "incident" and ev.record_id == "inc1"
    assert ev.attributes["title"] == "Printer" and ev.attributes["satisfaction"] == 2
    assert ev.changed == {"statuscode", "satisfaction"}


@pytest.mark.parametrize("table, audience, record, expected", [
    ("incident", "customerid", None, Audience("account", "a1")),      # polymorphic customer: account
    ("contact", "contactid", "c1", Audience("contact", "c1")),        # the customer table's own key
    ("contact", "parentcustomerid", "c1", Audience("account", "a1")),
    ("lead", "leadid", "l1", Audience("lead", "l1")),
    ("lead", "parentcontactid", "l1", Audience("contact", "c1")),
])
def test_audience_resolution(store, table, audience, record, expected):
    trig = DataverseTrigger(name="t", table=table, audience=audience, state="ready_to_use")
    if table == "incident":
        ev = store.create("incident", {"customerid": Ref("account", "a1")}, t=1)
    else:
        ev = store.update(table, record, {"firstname": "Changed"}, t=1)
    assert trig.matches(ev).audience == expected


def test_a_record_without_a_customer_fires_nothing(store):
    trig = _status_trigger(audience="primarycontactid")
    assert trig.matches(store.update("incident", "inc1", {"statuscode": "Resolved"}, t=1)) is None
    store.update("incident", "inc1", {"primarycontactid": "c1"}, t=2)
    assert trig.matches(store.update("incident", "inc1", {"statuscode": "Active"}, t=3)) is not None


def test_a_draft_trigger_never_fires_until_ready(store):
    catalog = Catalog([_status_trigger(state="draft")])
    change = store.update("incident", "inc1", {"statuscode": "Resolved"}, t=1)
    assert catalog.evaluate(change) == []
    assert catalog.trigger("incident_status_updated").matches(change, include_draft=True) is not None
    catalog.publish("incident_status_updated")
    assert [e.trigger for e in catalog.evaluate(change)] == ["incident_status_updated"]


@pytest.mark.parametrize("kw, message", [
    ({"audience": "title"}, "'title' is not an audience column of table incident; audience columns: customerid"),
    ({"columns": ["status"]}, "table incident has no column 'status'"),
    ({"table": "ticket"}, "unknown table 'ticket'"),
])
def test_catalog_checks_triggers_against_their_table(kw, message):
    with pytest.raises(TriggerError, match=message):
        Catalog([_status_trigger(**kw)])


def test_triggers_on_custom_tables():
    spec = TableSpec.model_validate({"name": "cr_warranty", "columns": {
        "cr_status": {"type": "choice", "choices": ["Open", "Expired"]},
        "cr_customer": {"type": "lookup", "targets": ["contact"]}}})
    catalog = Catalog([DataverseTrigger(name="warranty_expired", table="cr_warranty", event="updated",
                                        audience="cr_customer", columns=["cr_status"], state="ready_to_use")],
                      tables=[spec])
    store = catalog.store()
    store.create("contact", {}, t=0, record_id="c1")
    w = store.create("cr_warranty", {"cr_status": "Open", "cr_customer": "c1"}, t=0)
    events = catalog.evaluate(store.update("cr_warranty", w.record_id, {"cr_status": "Expired"}, t=5))
    assert [(e.trigger, e.audience) for e in events] == [("warranty_expired", Audience("contact", "c1"))]


def _attrs(n: int) -> dict[str, str]:
    return {f"a{i}": "text" for i in range(n)}


def test_custom_trigger_with_29_attributes_is_accepted_and_30_rejected():
    assert MAX_CUSTOM_ATTRIBUTES == 29
    trig = CustomTrigger(name="cart_abandoned", attributes=_attrs(29), state="ready_to_use")
    ev = trig.emit("c1", {f"a{i}": "x" for i in range(29)}, t=3.0)
    assert ev.audience == Audience("contact", "c1") and len(ev.attributes) == 29 and ev.table is None
    with pytest.raises(TriggerError, match="at most 29 attributes"):
        parse_trigger({"kind": "custom", "name": "big", "attributes": _attrs(30)})


def test_custom_trigger_payload_rules():
    trig = CustomTrigger(name="purchase", attributes={"total": "number", "sku": "text"}, state="ready_to_use")
    with pytest.raises(TriggerError, match="at most 29 attributes"):
        trig.emit("c1", {f"a{i}": 1 for i in range(30)}, t=0)
    with pytest.raises(TriggerError, match="has no attribute 'colour'; attributes: total, sku"):
        trig.emit("c1", {"colour": "red"}, t=0)
    with pytest.raises(TriggerError, match="'total' must be number"):
        trig.emit("c1", {"total": "12"}, t=0)
    with pytest.raises(TriggerError, match="'total' must be number"):
        trig.emit("c1", {"total": True}, t=0)
    assert trig.emit("c1", {"total": 12.5}, t=0).attributes == {"total": 12.5}
    assert trig.model_copy(update={"state": "draft"}).emit("c1", {"total": 1}, t=0) is None


def test_parse_trigger_errors_name_the_field():
    with pytest.raises(TriggerError, match="trigger: event: 'modified' is not allowed; allowed: created, updated"):
        parse_trigger({"name": "x", "table": "incident", "audience": "customerid", "event": "modified"})
    with pytest.raises(TriggerError, match="audience: required field is missing"):
        parse_trigger({"name": "x", "table": "incident"})
