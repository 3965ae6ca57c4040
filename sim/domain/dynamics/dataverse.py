"""Dataverse tables and records: what a Dataverse trigger watches.

A Dataverse *table* (entity) has typed *columns*. A record is created or updated by a person in a
Dynamics 365 app, a row added in Power Apps, or a call through the Dataverse SDK/API; each such
operation that really changes something yields one :class:`ChangeEvent` naming the table, the
record, the operation, the columns that changed with their old and new values, the acting user and
the time (seconds). Updating a column with the value it already has is **not** a change: an update
that changes nothing yields no event, and the event of a partial no-op lists only the columns that
really changed.

Column types: ``id`` (the primary key, text, immutable), ``text``, ``int`` (optionally bounded),
``float``, ``bool``, ``choice`` (one label of a fixed list: Dataverse stores an integer option
value, the twin keeps its label), ``datetime`` (seconds) and ``lookup`` (a :class:`Ref` to a record
of one of the column's target tables; a *customer* column such as ``incident.customerid`` targets
both contact and account). Every column but the key may be null (``None``).

The *audience* columns of a table are the ones that can hold the customer a journey talks to: its
lookups whose targets are all customer tables (contact, lead, account), and the table's own key when
the table is itself a customer table. The standard tables here are a small, faithful subset of
Dataverse's ``incident`` (Case), ``contact``, ``lead``, ``account`` and ``salesorder``; the case's
state and status reason are simplified into one ``statuscode`` column (Active/Resolved/Cancelled).
Custom tables are declared with :class:`TableSpec` (YAML or Python).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CUSTOMER_TABLES = ("contact", "lead", "account")
ColumnType = Literal["id", "text", "int", "float", "bool", "choice", "datetime", "lookup"]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class DataverseError(ValueError):
    """An operation the platform would reject: unknown table, column or record, or a wrong type."""


@dataclass(frozen=True)
class Ref:
    """A lookup value: the record ``id`` of ``table``."""

    table: str
    id: str

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class Audience:
    """The customer a trigger or journey is about: a contact, lead or account ``id``."""

    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Column:
    """One typed column; ``targets`` for lookups, ``choices`` for choices, bounds for numbers."""

    name: str
    type: ColumnType
    targets: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        if self.type == "lookup":
            return f"a lookup to {' or '.join(self.targets)}"
        if self.type == "choice":
            return f"one of {', '.join(repr(c) for c in self.choices)}"
        bounds = ""
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            bounds = f" in [{lo}, {hi}]"
        names = {"id": "a text id", "text": "text", "int": "a whole number", "float": "a number",
                 "bool": "True or False", "datetime": "a time in seconds"}
        return names[self.type] + bounds

    def coerce(self, value: Any) -> Any:
        """``value`` as stored, or ``None``; raises :class:`ValueError` saying what is expected."""
        if value is None:
            return None
        t = self.type
        ok = True
        if t in ("id", "text", "choice"):
            ok = isinstance(value, str) and (t != "choice" or value in self.choices)
        elif t == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif t in ("float", "datetime"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            value = float(value) if ok else value
        elif t == "bool":
            ok = isinstance(value, bool)
        elif t == "lookup":
            if isinstance(value, str) and len(self.targets) == 1:
                value = Ref(self.targets[0], value)
            ok = isinstance(value, Ref) and value.table in self.targets
        if ok and t in ("int", "float") and ((self.minimum is not None and value < self.minimum)
                                             or (self.maximum is not None and value > self.maximum)):
            ok = False
        if not ok:
            raise ValueError(f"expected {self.describe()}, got {value!r}")
        return value


@dataclass(frozen=True)
class Table:
    """A Dataverse table: its logical name, primary key and columns (the key included)."""

    name: str
    primary_key: str
    columns: Mapping[str, Column]

    @classmethod
    def build(cls, name: str, columns: Iterable[Column], primary_key: str | None = None) -> Table:
        key = primary_key or f"{name}id"
        cols = {key: Column(key, "id")}
        for c in columns:
            if c.name in cols:
                raise DataverseError(f"table {name}: column {c.name!r} declared twice")
            cols[c.name] = c
        return cls(name, key, MappingProxyType(cols))

    @property
    def audience_columns(self) -> tuple[str, ...]:
        """Columns that can hold the customer: customer lookups, and the key of a customer table."""
        own = (self.primary_key,) if self.name in CUSTOMER_TABLES else ()
        return own + tuple(c.name for c in self.columns.values() if c.type == "lookup" and c.targets
                           and all(target in CUSTOMER_TABLES for target in c.targets))

    def column(self, name: str) -> Column:
        col = self.columns.get(name)
        if col is None:
            raise DataverseError(f"table {self.name} has no column {name!r}; columns: {', '.join(self.columns)}")
        return col

    def coerce(self, name: str, value: Any) -> Any:
        try:
            return self.column(name).coerce(value)
        except DataverseError:
            raise
        except ValueError as exc:
            raise DataverseError(f"{self.name}.{name}: {exc}") from None


def _c(name: str, type_: ColumnType, *targets_or_choices: str, minimum: float | None = None,
       maximum: float | None = None) -> Column:
    if type_ == "lookup":
        return Column(name, type_, targets=targets_or_choices)
    return Column(name, type_, choices=targets_or_choices, minimum=minimum, maximum=maximum)


STANDARD_TABLES: Mapping[str, Table] = MappingProxyType({t.name: t for t in (
    Table.build("contact", [
        _c("firstname", "text"), _c("lastname", "text"), _c("emailaddress1", "text"),
        _c("mobilephone", "text"), _c("parentcustomerid", "lookup", "account"),
        _c("statecode", "choice", "Active", "Inactive")]),
    Table.build("lead", [
        _c("firstname", "text"), _c("lastname", "text"), _c("emailaddress1", "text"),
        _c("companyname", "text"), _c("subject", "text"),
        _c("statuscode", "choice", "New", "Contacted", "Qualified", "Disqualified"),
        _c("parentcontactid", "lookup", "contact"), _c("parentaccountid", "lookup", "account")]),
    Table.build("account", [
        _c("name", "text"), _c("emailaddress1", "text"), _c("telephone1", "text"),
        _c("primarycontactid", "lookup", "contact")]),
    Table.build("incident", [
        _c("title", "text"), _c("ticketnumber", "text"),
        _c("statuscode", "choice", "Active", "Resolved", "Cancelled"),
        _c("customerid", "lookup", "contact", "account"), _c("primarycontactid", "lookup", "contact"),
        _c("satisfaction", "int", minimum=1, maximum=5),
        _c("prioritycode", "choice", "High", "Normal", "Low"),
        _c("caseorigincode", "choice", "Phone", "Email", "Web")]),
    Table.build("salesorder", [
        _c("name", "text"), _c("ordernumber", "text"),
        _c("statuscode", "choice", "New", "Pending", "In Progress", "Fulfilled", "Invoiced", "Cancelled"),
        _c("customerid", "lookup", "contact", "account"), _c("totalamount", "float", minimum=0)]),
)})


class ColumnSpec(BaseModel):
    """A custom column as written in YAML (``type`` alone may be given as a plain string)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text", "int", "float", "bool", "choice", "datetime", "lookup"]
    targets: list[str] = Field(default_factory=list, description="lookup: the tables it points to")
    choices: list[str] = Field(default_factory=list, description="choice: the allowed labels")
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, raw: Any) -> Any:
        return {"type": raw} if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.type == "lookup" and not self.targets:
            raise ValueError("a lookup column needs targets (e.g. [contact])")
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice column needs choices")
        if self.targets and self.type != "lookup":
            raise ValueError("targets apply to lookup columns only")
        if self.choices and self.type != "choice":
            raise ValueError("choices apply to choice columns only")
        return self


class TableSpec(BaseModel):
    """A custom table: ``name``, optional ``primary_key`` (default ``<name>id``) and ``columns``.

    .. code-block:: yaml

        name: cr4f2_warranty
        columns:
          cr4f2_status: {type: choice, choices: [Open, Expired]}
          cr4f2_customer: {type: lookup, targets: [contact]}
          cr4f2_months: {type: int, minimum: 0}
          cr4f2_title: text
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    primary_key: str | None = None
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    def table(self) -> Table:
        return Table.build(self.name, (Column(n, c.type, tuple(c.targets), tuple(c.choices), c.minimum, c.maximum)
                                       for n, c in self.columns.items()), self.primary_key)


@dataclass(frozen=True)
class ChangeEvent:
    """One create or update that changed something (times in seconds).

    ``changed`` lists the columns whose value changed (on create: the columns given a non-null
    value), ``old``/``new`` their values before and after, ``record`` every column after the change.
    """

    table: str
    record_id: str
    operation: Literal["create", "update"]
    changed: frozenset[str]
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    record: Mapping[str, Any]
    user: str
    t: float


@dataclass
class DataverseStore:
    """The records of a Dataverse environment, by table and id.

    ``check_references``: a lookup must point to an existing record, as Dataverse requires.
    Record ids given by the caller are kept; otherwise ``<table>-<n>`` (deterministic).
    """

    tables: Mapping[str, Table] = field(default_factory=lambda: dict(STANDARD_TABLES))
    check_references: bool = True
    _rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, init=False, repr=False)
    _next: int = field(default=0, init=False, repr=False)

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise DataverseError(f"unknown table {name!r}; tables: {', '.join(sorted(self.tables))}")
        return table

    def get(self, table: str, record_id: str) -> Mapping[str, Any]:
        """All columns of one record (read-only)."""
        rows = self._rows.get(self.table(table).name, {})
        if record_id not in rows:
            raise DataverseError(f"table {table} has no record {record_id!r}")
        return MappingProxyType(rows[record_id])

    def exists(self, table: str, record_id: str) -> bool:
        return record_id in self._rows.get(table, {})

    def find(self, ref: Ref) -> Mapping[str, Any] | None:
        """The record a lookup points to, or ``None``."""
        row = self._rows.get(ref.table, {}).get(ref.id)
        return None if row is None else MappingProxyType(row)

    def profile(self, customer: Audience) -> Mapping[str, Any] | None:
        """The customer's own record (for ``{{contact.firstname}}``), or ``None``."""
        return self.find(Ref(customer.type, customer.id))

    def _values(self, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            value = table.coerce(name, value)
            if isinstance(value, Ref) and self.check_references and not self.exists(value.table, value.id):
                raise DataverseError(f"{table.name}.{name}: no {value.table} record {value.id!r}")
            out[name] = value
        return out

    def load(self, table: str, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Records that exist before anything watches the table (a migration, the state at the
        start of a run): ``(record id, values)`` pairs, checked like :meth:`create` but with no
        change event; each distinct value is checked once. Returns the number of records."""
        tab = self.table(table)
        rows_of = self._rows.setdefault(tab.name, {})
        checked: dict[tuple[str, Any], Any] = {}
        blank = dict.fromkeys(tab.columns)
        n = 0
        for record_id, values in rows:
            tab.coerce(tab.primary_key, record_id)
            if record_id in rows_of:
                raise DataverseError(f"table {tab.name} already has a record {record_id!r}")
            row = dict(blank)
            for name, value in values.items():
                key = (name, value)
                try:
                    row[name] = checked[key]
                except KeyError:
                    row[name] = checked[key] = self._values(tab, {name: value})[name]
            row[tab.primary_key] = record_id
            rows_of[record_id] = row
            n += 1
        return n

    def create(self, table: str, values: Mapping[str, Any], *, t: float, user: str = "system",
               record_id: str | None = None) -> ChangeEvent:
        """Create a record at ``t`` (seconds) as ``user``; its event lists the non-null columns."""
        tab = self.table(table)
        given = dict(values)
        key_value = given.pop(tab.primary_key, None)
        if record_id is not None and key_value is not None and key_value != record_id:
            raise DataverseError(f"{tab.name}: record id {record_id!r} and {tab.primary_key} {key_value!r} differ")
        record_id = record_id if record_id is not None else key_value
        coerced = self._values(tab, given)
        if record_id is None:
            self._next += 1
            record_id = f"{tab.name}-{self._next:06d}"
        tab.coerce(tab.primary_key, record_id)
        rows = self._rows.setdefault(tab.name, {})
        if record_id in rows:
            raise DataverseError(f"table {tab.name} already has a record {record_id!r}")
        row = dict.fromkeys(tab.columns)
        row.update(coerced)
        row[tab.primary_key] = record_id
        rows[record_id] = row
        new = {k: v for k, v in row.items() if v is not None}
        return ChangeEvent(tab.name, record_id, "create", frozenset(new), _EMPTY, MappingProxyType(new),
                           MappingProxyType(dict(row)), user, float(t))

    def update(self, table: str, record_id: str, values: Mapping[str, Any], *, t: float,
               user: str = "system") -> ChangeEvent | None:
        """Update columns at ``t``; ``None`` when no column changed value (a no-op is no change)."""
        tab = self.table(table)
        rows = self._rows.get(tab.name, {})
        if record_id not in rows:
            raise DataverseError(f"table {tab.name} has no record {record_id!r}")
        if tab.primary_key in values:
            raise DataverseError(f"{tab.name}.{tab.primary_key}: the primary key cannot be updated")
        coerced = self._values(tab, values)
        row = rows[record_id]
        changed = {k: v for k, v in coerced.items() if row[k] != v}
        if not changed:
            return None
        old = {k: row[k] for k in changed}
        row.update(changed)
        return ChangeEvent(tab.name, record_id, "update", frozenset(changed), MappingProxyType(old),
                           MappingProxyType(changed), MappingProxyType(dict(row)), user, float(t))
