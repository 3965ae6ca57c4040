"""The seed's example end to end: a case is resolved -> satisfaction survey -> unhappy customers get a
discount e-mail. Records change in a Dataverse store, triggers fire, the journey engine reacts."""

import re
from pathlib import Path

import pytest

from sim.domain.dynamics import (
    DefinitionsError,
    JourneyEngine,
    JourneyError,
    Ref,
    Send,
    StartTimer,
    load_definitions,
    parse_definitions,
)

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dynamics" / "case_resolved_survey.yaml"
DAY = 86400.0


@pytest.fixture
def world():
    defs = load_definitions(SAMPLE)
    store = defs.catalog.store()
    engine = JourneyEngine(defs.journeys["case_resolved_survey"], defs.catalog, profiles=store.profile)
    for cid, name in [("c1", "Ana"), ("c2", "Bo"), ("c3", "Cy")]:
        store.create("contact", {"firstname": name}, t=0.0, record_id=cid)
    return defs.catalog, store, engine


def _change(catalog, engine, change, t):
    """What an actor does with one Dataverse change: evaluate the triggers, feed the journey."""
    effects = []
    for event in catalog.evaluate(change) if change else []:
        effects += engine.on_trigger(event, t)
    return effects


def _open_case(store, cid, t):
    return store.create("incident", {"title": f"Case of {cid}", "statuscode": "Active",
                                     "customerid": Ref("contact", cid)}, t=t, user="agent").record_id


def test_the_sample_loads():
    defs = load_definitions(SAMPLE)
    j = defs.journeys["case_resolved_survey"]
    assert j.entry.trigger == "incident_status_updated" and j.entry.filter == "statuscode == 'Resolved'"
    assert [t.id for t in j.walk()] == ["survey", "satisfaction", "discount_email", "wait_order", "discount_reminder"]


def test_unhappy_customers_get_the_survey_and_a_discount_happy_ones_only_the_survey(world):
    catalog, store, engine = world
    cases = {cid: _open_case(store, cid, 0.0) for cid in ("c1", "c2")}
    # the agent resolves both cases, recording the customer's satisfaction (2 = unhappy, 3 = fine)
    unhappy = _change(catalog, engine, store.update("incident", cases["c1"], {"statuscode": "Resolved",
                                                                              "satisfaction": 2}, t=60.0), 60.0)
    happy = _change(catalog, engine, store.update("incident", cases["c2"], {"statuscode": "Resolved",
                                                                            "satisfaction": 3}, t=70.0), 70.0)
    assert [(e.tile, e.channel, e.message) for e in unhappy if isinstance(e, Send)] == [
        ("survey", "survey", "Hello Ana, your case Case of c1 is resolved. How did we do?"),
        ("discount_email", "email", "Ana, we are sorry about Case of c1: here is 20% off your next order.")]
    assert [e.tile for e in happy if isinstance(e, Send)] == ["survey"]
    assert engine.counts.completed == 1 and engine.counts.in_progress == 1
    (timer,) = [e for e in unhappy if isinstance(e, StartTimer)]
    assert timer.at == 60.0 + 14 * DAY


def test_every_status_change_fires_the_trigger_but_only_resolved_enters(world):
    catalog, store, engine = world
    case = _open_case(store, "c3", 0.0)
    for t, status in [(10.0, "Cancelled"), (20.0, "Active"), (30.0, "Resolved")]:
        _change(catalog, engine, store.update("incident", case, {"statuscode": status}, t=t), t)
    assert (engine.counts.filtered_out, engine.counts.entered) == (2, 1)
    # a later edit of the title is not a status change: no trigger, no journey
    assert _change(catalog, engine, store.update("incident", case, {"title": "x"}, t=40.0), 40.0) == []


def test_an_order_within_the_timeout_reaches_the_goal(world):
    catalog, store, engine = world
    case = _open_case(store, "c1", 0.0)
    _change(catalog, engine, store.update("incident", case, {"statuscode": "Resolved", "satisfaction": 1}, t=0.0), 0.0)
    order = store.create("salesorder", {"name": "Ink", "customerid": Ref("contact", "c1")}, t=DAY)
    outcome = _change(catalog, engine, order, DAY)
    assert [e.outcome for e in outcome] == ["goal_reached"]
    assert engine.advance(30 * DAY) == []


def test_no_order_within_the_timeout_sends_the_reminder(world):
    catalog, store, engine = world
    case = _open_case(store, "c1", 0.0)
    _change(catalog, engine, store.update("incident", case, {"statuscode": "Resolved", "satisfaction": 1}, t=0.0), 0.0)
    late = engine.advance(14 * DAY)
    assert [(type(e).__name__, getattr(e, "tile", None)) for e in late] == [
        ("Send", "discount_reminder"), ("Outcome", None)]
    assert engine.counts.completed == 1
    assert engine.by_tile == {"survey": 1, "satisfaction": 1, "discount_email": 1, "wait_order": 1,
                              "discount_reminder": 1}


def test_definition_errors_name_the_file_section_journey_and_tile():
    with pytest.raises(DefinitionsError, match="triggers\\[0\\]: event: 'changed' is not allowed"):
        parse_definitions({"triggers": [{"name": "t", "table": "incident", "audience": "customerid",
                                         "event": "changed"}]}, "defs.yaml")
    with pytest.raises(DefinitionsError, match=re.escape("defs.yaml: trigger 't': 'title' is not an audience column")):
        parse_definitions({"triggers": [{"name": "t", "table": "incident", "audience": "title"}]}, "defs.yaml")
    with pytest.raises(DefinitionsError, match="unknown section journey; allowed"):
        parse_definitions({"journey": []}, "defs.yaml")
    with pytest.raises(JourneyError, match=r"defs.yaml: journeys\[0\]: journey 'k': tile 'w': unknown tile kind"):
        parse_definitions({"triggers": [{"name": "t", "table": "incident", "audience": "customerid",
                                         "state": "ready_to_use"}],
                           "journeys": [{"name": "k", "entry": {"trigger": "t"},
                                         "tiles": [{"id": "w", "kind": "sleep"}]}]}, "defs.yaml")


def test_custom_tables_in_a_definitions_file():
    defs = parse_definitions({
        "tables": [{"name": "cr_warranty", "columns": {"cr_customer": {"type": "lookup", "targets": ["contact"]},
                                                       "cr_status": {"type": "choice",
                                                                     "choices": ["Open", "Expired"]}}}],
        "triggers": [{"name": "warranty", "table": "cr_warranty", "audience": "cr_customer", "columns": ["cr_status"],
                      "state": "ready_to_use"}],
        "journeys": [{"name": "renew", "entry": {"trigger": "warranty", "filter": "cr_status == 'Expired'"},
                      "tiles": [{"id": "m", "kind": "action", "channel": "email",
                                 "template": "Hi {{contact.firstname}}, warranty {{cr_warranty.cr_warrantyid}}"}]}]})
    assert "cr_warranty" in defs.catalog.tables and "renew" in defs.journeys
