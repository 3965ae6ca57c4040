"""Triggers: the signals that start, steer and end Customer Insights – Journeys journeys.

A **Dataverse trigger** watches one table. It fires "when a customer-related record is created or
updated" (``event``: ``created``, ``updated`` or ``created_or_updated``); on an update it fires when
*any* of its activating ``columns`` changed value (every change, not only an interesting value: the
journey's filter picks the value), and with no columns listed on any changed column. A create fires
the trigger whatever its columns. The trigger names its ``audience`` column (a contact, lead or
account lookup, or the key of a customer table); a change whose audience column is null has no
customer and fires nothing. The :class:`TriggerEvent` carries the customer and *all* the record's
columns (new values), so journeys can branch on and personalise with them.

A **custom trigger** is the code path: a snippet on a website, device or app sends a named event
for a customer with at most 29 attributes (doc); a definition or a payload with a 30th attribute is
rejected as the platform rejects it.

A trigger is created as ``draft`` and becomes usable in live journeys once ``ready_to_use``: a draft
trigger never fires (``include_draft=True`` previews what it would do). :class:`Catalog` holds the
tables and triggers of an environment and checks each trigger against its table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.core.errors import validate_model
from sim.domain.dynamics.dataverse import (
    CUSTOMER_TABLES,
    STANDARD_TABLES,
    Audience,
    ChangeEvent,
    DataverseStore,
    Ref,
    Table,
    TableSpec,
)

MAX_CUSTOM_ATTRIBUTES = 29  # doc: custom triggers carry at most 29 attributes
CustomerType = Literal["contact", "lead", "account"]
AttributeType = Literal["text", "number", "bool", "datetime"]
State = Literal["draft", "ready_to_use"]


class TriggerError(ValueError):
    """A trigger definition or payload the platform would reject; the message names the trigger."""


@dataclass(frozen=True)
class TriggerEvent:
    """A trigger that fired at ``t`` (seconds) for ``audience``.

    ``attributes``: every column of the triggering record (new values), or a custom trigger's
    payload. ``table``/``record_id``/``operation``/``changed`` are ``None``/empty for custom triggers.
    """

    trigger: str
    audience: Audience
    attributes: Mapping[str, Any]
    t: float
    table: str | None = None
    record_id: str | None = None
    operation: str | None = None
    changed: frozenset[str] = frozenset()


class DataverseTrigger(BaseModel):
    """A no-code trigger on a Dataverse table (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["dataverse"] = "dataverse"
    name: str = Field(min_length=1)
    table: str = Field(min_length=1)
    event: Literal["created", "updated", "created_or_updated"] = "created_or_updated"
    audience: str = Field(min_length=1, description="the column holding the customer")
    columns: list[str] = Field(default_factory=list, description="updates of these columns fire it; empty = any")
    state: State = "draft"

    def check(self, table: Table) -> None:
        """Raise :class:`TriggerError` unless the audience and columns exist on ``table``."""
        if self.audience not in table.audience_columns:
            raise TriggerError(f"trigger {self.name!r}: {self.audience!r} is not an audience column of table "
                               f"{table.name}; audience columns: {', '.join(table.audience_columns) or '(none)'}")
        unknown = [c for c in self.columns if c not in table.columns]
        if unknown:
            raise TriggerError(f"trigger {self.name!r}: table {table.name} has no column "
                               f"{', '.join(map(repr, unknown))}; columns: {', '.join(table.columns)}")

    def matches(self, change: ChangeEvent, *, include_draft: bool = False) -> TriggerEvent | None:
        """The event this change fires, or ``None`` (other table or operation, no activating column
        changed, no customer, or a draft trigger)."""
        if self.state != "ready_to_use" and not include_draft:
            return None
        if change.table != self.table:
            return None
        if change.operation == "create":
            if self.event == "updated":
                return None
        elif self.event == "created" or (self.columns and change.changed.isdisjoint(self.columns)) \
                or not change.changed:
            return None
        who = change.record.get(self.audience)
        if isinstance(who, Ref) and who.table in CUSTOMER_TABLES:
            audience = Audience(who.table, who.id)
        elif isinstance(who, str) and self.table in CUSTOMER_TABLES:
            audience = Audience(self.table, who)
        else:
            return None
        return TriggerEvent(self.name, audience, change.record, change.t, change.table, change.record_id,
                            change.operation, change.changed)


_TYPES = {"text": (str,), "number": (int, float), "bool": (bool,), "datetime": (int, float)}


class CustomTrigger(BaseModel):
    """A code trigger: a named event with at most 29 typed attributes, sent from any source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["custom"] = "custom"
    name: str = Field(min_length=1)
    audience: CustomerType = "contact"
    attributes: dict[str, AttributeType] = Field(default_factory=dict)
    state: State = "draft"

    @field_validator("attributes")
    @classmethod
    def _at_most_29(cls, attributes: dict[str, str]) -> dict[str, str]:
        if len(attributes) > MAX_CUSTOM_ATTRIBUTES:
            raise ValueError(f"a custom trigger carries at most {MAX_CUSTOM_ATTRIBUTES} attributes "
                             f"(got {len(attributes)})")
        return attributes

    def emit(self, customer_id: str, attributes: Mapping[str, Any], t: float, *,
             include_draft: bool = False) -> TriggerEvent | None:
        """The event a snippet sends for ``customer_id`` at ``t`` (seconds); ``None`` while draft.
        A payload with more than 29 attributes, an undeclared attribute or a wrong type is rejected."""
        if len(attributes) > MAX_CUSTOM_ATTRIBUTES:
            raise TriggerError(f"trigger {self.name!r}: a custom trigger carries at most "
                               f"{MAX_CUSTOM_ATTRIBUTES} attributes (got {len(attributes)})")
        for key, value in attributes.items():
            kind = self.attributes.get(key)
            if kind is None:
                raise TriggerError(f"trigger {self.name!r} has no attribute {key!r}; "
                                   f"attributes: {', '.join(self.attributes) or '(none)'}")
            if value is None:
                continue
            ok = isinstance(value, _TYPES[kind])
            if ok and kind in ("number", "datetime"):
                ok = not isinstance(value, bool) and math.isfinite(value)
            if not ok:
                raise TriggerError(f"trigger {self.name!r}: attribute {key!r} must be {kind}, got {value!r}")
        if self.state != "ready_to_use" and not include_draft:
            return None
        return TriggerEvent(self.name, Audience(self.audience, customer_id), MappingProxyType(dict(attributes)),
                            float(t))


Trigger = DataverseTrigger | CustomTrigger
WHAT = "a trigger is a YAML mapping with name, table, event, audience, columns, state (or kind: custom)"


def parse_trigger(raw: object, source: str = "trigger") -> Trigger:
    """A validated trigger from a mapping (``kind: dataverse`` by default, or ``custom``)."""
    kind = raw.get("kind", "dataverse") if isinstance(raw, dict) else None
    model = CustomTrigger if kind == "custom" else DataverseTrigger
    return validate_model(model, raw, source, TriggerError, WHAT)


class Catalog:
    """The tables and triggers of one environment: triggers are checked against their tables."""

    def __init__(self, triggers: Iterable[Trigger] = (), tables: Iterable[Table | TableSpec] = ()) -> None:
        self.tables: dict[str, Table] = dict(STANDARD_TABLES)
        self.triggers: dict[str, Trigger] = {}
        for table in tables:
            self.add_table(table)
        for trigger in triggers:
            self.add(trigger)

    def add_table(self, table: Table | TableSpec) -> Table:
        tab = table.table() if isinstance(table, TableSpec) else table
        if tab.name in self.tables:
            raise TriggerError(f"table {tab.name!r} already exists")
        for col in tab.columns.values():
            unknown = [t for t in col.targets if t not in self.tables and t != tab.name]
            if unknown:
                raise TriggerError(f"table {tab.name}: lookup {col.name!r} targets unknown table "
                                   f"{', '.join(map(repr, unknown))}; tables: {', '.join(sorted(self.tables))}")
        self.tables[tab.name] = tab
        return tab

    def add(self, trigger: Trigger) -> Trigger:
        if trigger.name in self.triggers:
            raise TriggerError(f"trigger {trigger.name!r} already exists")
        if isinstance(trigger, DataverseTrigger):
            table = self.tables.get(trigger.table)
            if table is None:
                raise TriggerError(f"trigger {trigger.name!r}: unknown table {trigger.table!r}; "
                                   f"tables: {', '.join(sorted(self.tables))}")
            trigger.check(table)
        self.triggers[trigger.name] = trigger
        return trigger

    def trigger(self, name: str) -> Trigger:
        found = self.triggers.get(name)
        if found is None:
            raise TriggerError(f"unknown trigger {name!r}; triggers: {', '.join(sorted(self.triggers)) or '(none)'}")
        return found

    def publish(self, name: str) -> Trigger:
        """Mark a trigger ready to use (the "Ready to use" button)."""
        ready = self.trigger(name).model_copy(update={"state": "ready_to_use"})
        self.triggers[name] = ready
        return ready

    def attributes(self, name: str) -> tuple[str, ...]:
        """The attribute names a trigger's events carry (its table's columns, or its payload)."""
        trig = self.trigger(name)
        if isinstance(trig, DataverseTrigger):
            return tuple(self.tables[trig.table].columns)
        return tuple(trig.attributes)

    def namespace(self, name: str) -> str | None:
        """The table a trigger's record belongs to (``None`` for custom triggers)."""
        trig = self.trigger(name)
        return trig.table if isinstance(trig, DataverseTrigger) else None

    def evaluate(self, change: ChangeEvent) -> list[TriggerEvent]:
        """The events one change fires, one per ready trigger that matches (in definition order)."""
        out = []
        for trig in self.triggers.values():
            if isinstance(trig, DataverseTrigger):
                event = trig.matches(change)
                if event is not None:
                    out.append(event)
        return out

    def store(self, check_references: bool = True) -> DataverseStore:
        """An empty record store over this catalog's tables."""
        return DataverseStore(self.tables, check_references)
