"""Shared definitions: a small catalog of triggers and helpers to build journeys and events."""

from __future__ import annotations

from typing import Any

import pytest

from sim.domain.dynamics import Audience, Catalog, CustomTrigger, DataverseTrigger, TriggerEvent, parse_journey

READY = "ready_to_use"


def make_catalog() -> Catalog:
    return Catalog([
        DataverseTrigger(name="status", table="incident", event="updated", audience="customerid",
                         columns=["statuscode"], state=READY),
        DataverseTrigger(name="order_placed", table="salesorder", event="created", audience="customerid", state=READY),
        CustomTrigger(name="purchase", attributes={"total": "number"}, state=READY),
        CustomTrigger(name="unsubscribe", state=READY),
        CustomTrigger(name="email_opened", attributes={"campaign": "text"}, state=READY),
        CustomTrigger(name="not_published", attributes={"x": "text"}),
    ])


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()


def journey(catalog: Catalog, tiles: list[dict], **kw: Any):
    """A journey entering on a resolved case (``status`` trigger, filter Resolved)."""
    raw = {"name": "j", "entry": {"trigger": "status", "filter": "statuscode == 'Resolved'"}, "tiles": tiles, **kw}
    return parse_journey(raw, catalog)


def contact(cid: str) -> Audience:
    return Audience("contact", cid)


def resolved(cid: str, t: float, **attrs: Any) -> TriggerEvent:
    """The status trigger's event for a case of contact ``cid`` (all incident columns present)."""
    record = {"incidentid": f"inc-{cid}", "title": "Printer", "ticketnumber": None, "statuscode": "Resolved",
              "customerid": None, "primarycontactid": None, "satisfaction": None, "prioritycode": None,
              "caseorigincode": None}
    record.update(attrs)
    return TriggerEvent("status", contact(cid), record, t, "incident", record["incidentid"], "update",
                        frozenset({"statuscode"}))


def custom(name: str, cid: str, t: float, **attrs: Any) -> TriggerEvent:
    return TriggerEvent(name, contact(cid), attrs, t)


def profiles(records: dict[str, dict]):
    return lambda who: records.get(who.id)


def kinds(effects: list) -> list[tuple]:
    """Effects as short tuples, for whole-log assertions."""
    out = []
    for e in effects:
        name = type(e).__name__
        if name == "Send":
            out.append(("Send", e.tile, e.t))
        elif name == "StartTimer":
            out.append(("StartTimer", e.tile, e.at))
        elif name == "Outcome":
            out.append(("Outcome", e.outcome, e.t))
        elif name == "ActionFailed":
            out.append(("ActionFailed", e.tile, e.reason, e.t))
        elif name == "CreateRecord":
            out.append(("CreateRecord", e.tile, e.t))
        else:
            out.append((name, e.t))
    return out
