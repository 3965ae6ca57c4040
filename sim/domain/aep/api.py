"""An API-shaped validator: the JSON bodies of the Flow Service calls, checked as the platform does.

:func:`validate_bodies` takes files (or parsed JSON) holding the bodies of the seed's ``curl``
examples and creates them, in a :class:`Sandbox`, in dependency order::

    POST /connections                      base connection (a source account or the data lake)
    POST /schemaregistry/tenant/schemas    target XDM schema (class + field groups)
    POST /catalog/dataSets                 dataset adhering to a schema
    POST /sourceConnections                source connection (base connection, path, ad-hoc schema)
    POST /targetConnections                target connection (dataset base connection, dataset)
    POST /conversion/mappingSets           mapping set
    POST /flows                            dataflow (flow spec, connections, transformations, schedule)

It returns the created ids, or one problem per line naming the object and the field
(``flow.json#0 POST /flows 'Dataflow …': scheduleParams.interval: 10 is below the minimum 15 for
frequency 'minute'``). A file that is not valid JSON is one problem naming its line and column
(the seed's own target-connection example has an unterminated string).

**What a file may hold**: one body; a list of bodies; an object keyed by endpoint
(``{"POST /sourceConnections": {...}, "POST /flows": [{...}, ...]}``); or envelopes
``{"endpoint": "POST /flows", "id": "…", "body": {...}}`` anywhere a body may stand. A bare body's
endpoint is recognised from its shape (``mappings`` -> mapping set, ``flowSpec`` -> flow, ...).
``id`` is the id the platform returned (the seed's responses give them, and later bodies refer to
them); without one, a deterministic id is derived from the body. All bodies of one call are
created in the order above, whatever their order in the files, so a flow may precede the
connections it names.

:meth:`Sandbox.example` holds what the seed creates outside these calls: the HubSpot base
connection ``2fce94c1-…``, the dataset base connection ``44b1c1e43-…``, the ad-hoc schema of the
HubSpot contacts (``…/80a6e931…``) and of a Marketing Cloud contacts data extension, the flow spec
``CRMToAEP``, and the identity namespaces (standard ones plus ``HubSpotId``, ``CRMID``,
``SFMCSubscriberKey``). ``{TENANT_ID}`` is ``adobe_mcdp_connectors_stg``, the tenant the seed's
mapping set names.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.domain.aep.connections import (
    DATA_LAKE_SPEC,
    HUBSPOT_SPEC,
    BaseConnection,
    Dataset,
    SourceConnection,
    TargetConnection,
)
from sim.domain.aep.dataflow import Dataflow
from sim.domain.aep.flowspec import FLOW_SPECS, FlowSpec
from sim.domain.aep.mappings import STANDARD_NAMESPACES, MappingSet
from sim.domain.aep.problems import AepError, Problem
from sim.domain.aep.xdm import AdHocSchema, XdmSchema, adhoc_from_body, is_adhoc_body

TENANT = "adobe_mcdp_connectors_stg"
HUBSPOT_BASE_CONNECTION = "2fce94c1-9a93-4971-8e94-c19a93097129"
DATASET_BASE_CONNECTION = "44b1c1e43-a5ee-4d86-9c1e-43a5eebd8601"
HUBSPOT_CONTACTS_SCHEMA = f"https://ns.adobe.com/{TENANT}/schemas/80a6e931bd5e00190b72daafb4e1e4f7913a114808be9ac0"
SFMC_CONTACTS_SCHEMA = f"https://ns.adobe.com/{TENANT}/schemas/5fc3d1a0e8b24c6f9a7d0e1b2c3d4e5f6a7b8c9d0e1f2a3b"
CUSTOM_NAMESPACES = ("HubSpotId", "CRMID", "SFMCSubscriberKey")

#: endpoint kind -> (method and path, what it creates), in creation order
ENDPOINTS: dict[str, tuple[str, str]] = {
    "connections": ("POST /connections", "base connection"),
    "schemas": ("POST /schemaregistry/tenant/schemas", "schema"),
    "dataSets": ("POST /catalog/dataSets", "dataset"),
    "sourceConnections": ("POST /sourceConnections", "source connection"),
    "targetConnections": ("POST /targetConnections", "target connection"),
    "mappingSets": ("POST /conversion/mappingSets", "mapping set"),
    "flows": ("POST /flows", "dataflow"),
}
_ORDER = {k: i for i, k in enumerate(ENDPOINTS)}
_ENVELOPE_KEYS = {"endpoint", "body", "id"}


def endpoint_kind(text: str) -> str | None:
    """``"POST /conversion/mappingSets"``, a full URL or ``"mappingSets"`` -> ``"mappingSets"``."""
    words = str(text).strip().split()
    if not words:
        return None
    if len(words) == 2 and words[0].upper() == "POST":
        words = words[1:]
    if len(words) != 1:
        return None
    last = words[0].split("?")[0].rstrip("/").split("/")[-1]
    for kind in ENDPOINTS:
        if last.lower() == kind.lower():
            return kind
    return None


def kind_from_shape(body: Any) -> str | None:
    """The endpoint a bare body is for, recognised from the fields only that endpoint has."""
    if not isinstance(body, dict):
        return None
    raw_params = body.get("params")
    params = raw_params if isinstance(raw_params, dict) else {}
    if "mappings" in body:
        return "mappingSets"
    if "flowSpec" in body or "scheduleParams" in body:
        return "flows"
    if "schemaRef" in body:
        return "dataSets"
    if "allOf" in body or "meta:class" in body:
        return "schemas"
    if "dataSetId" in params:
        return "targetConnections"
    if "baseConnectionId" in body:
        return "sourceConnections"
    if "connectionSpec" in body or "auth" in body:
        return "connections"
    return None


def _id_for(kind: str, body: Any, tenant: str) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    u = uuid.uuid5(uuid.NAMESPACE_URL, f"aep:{kind}:{text}")
    if kind == "mappingSets":
        return u.hex
    if kind == "dataSets":
        return u.hex[:24]
    if kind == "schemas":
        return f"https://ns.adobe.com/{tenant}/schemas/{u.hex}{uuid.uuid5(u, 'x').hex[:16]}"
    return str(u)


@dataclass
class Item:
    """One body to create: where it came from, its endpoint kind and the id it gets."""

    label: str
    kind: str | None
    body: Any
    id: str | None = None

    @property
    def name(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("name") or self.body.get("title") or "")
        return ""

    def describe(self) -> str:
        parts = [self.label]
        if self.kind:
            parts.append(ENDPOINTS[self.kind][0])
        if self.name:
            parts.append(repr(self.name))
        return " ".join(parts)


@dataclass
class Created:
    kind: str
    id: str
    name: str
    label: str

    def __str__(self) -> str:
        return f"{ENDPOINTS[self.kind][0]} -> {self.id}" + (f"  ({self.name})" if self.name else "")


@dataclass
class Validation:
    """The outcome: ``created`` objects, ``problems`` (one line each), ``notes`` (accepted, but said)."""

    created: list[Created] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def ids(self, kind: str | None = None) -> list[str]:
        return [c.id for c in self.created if kind is None or c.kind == kind]


class Sandbox:
    """The objects of one sandbox, by id; :meth:`create` validates a body and adds its object."""

    def __init__(self, tenant: str = TENANT, namespaces: Iterable[str] = STANDARD_NAMESPACES,
                 flow_specs: dict[str, FlowSpec] | None = None, strict: bool = False) -> None:
        self.tenant = tenant
        self.namespaces = set(namespaces)
        self.flow_specs = dict(FLOW_SPECS if flow_specs is None else flow_specs)
        self.strict = strict
        self.base_connections: dict[str, BaseConnection] = {}
        self.schemas: dict[str, XdmSchema | AdHocSchema] = {}
        self.datasets: dict[str, Dataset] = {}
        self.source_connections: dict[str, SourceConnection] = {}
        self.target_connections: dict[str, TargetConnection] = {}
        self.mapping_sets: dict[str, MappingSet] = {}
        self.flows: dict[str, Dataflow] = {}
        self.rejected: dict[str, str] = {}

    @classmethod
    def example(cls, strict: bool = False) -> Sandbox:
        """The sandbox of seeds 002–003 (module docstring)."""
        sb = cls(namespaces=(*STANDARD_NAMESPACES, *CUSTOM_NAMESPACES), strict=strict)
        sb.base_connections[HUBSPOT_BASE_CONNECTION] = BaseConnection(HUBSPOT_BASE_CONNECTION, "HubSpot account",
                                                                      HUBSPOT_SPEC)
        sb.base_connections[DATASET_BASE_CONNECTION] = BaseConnection(DATASET_BASE_CONNECTION,
                                                                      "Dataset base connection", DATA_LAKE_SPEC)
        sb.schemas[HUBSPOT_CONTACTS_SCHEMA] = AdHocSchema(HUBSPOT_CONTACTS_SCHEMA, "HubSpot contacts (ad-hoc)", {
            "Vid": "integer", "Portal_Id": "integer", "Added_At": "integer",
            "Properties_Firstname_Value": "string", "Properties_Lastname_Value": "string",
            "Properties_Email_Value": "string", "Properties_Phone_Value": "string",
            "Properties_Lifecyclestage_Value": "string", "Properties_Lastmodifieddate_Value": "string"})
        sb.schemas[SFMC_CONTACTS_SCHEMA] = AdHocSchema(SFMC_CONTACTS_SCHEMA, "Marketing Cloud contacts data "
                                                                             "extension (ad-hoc)", {
            "SubscriberKey": "string", "EmailAddress": "string", "FirstName": "string", "LastName": "string",
            "LifecycleStage": "string", "LastPurchaseAmount": "number", "ModifiedDate": "string"})
        return sb

    def _lookup(self, kind: str) -> dict:
        tables: dict[str, dict] = {
            "connections": self.base_connections, "schemas": self.schemas, "dataSets": self.datasets,
            "sourceConnections": self.source_connections, "targetConnections": self.target_connections,
            "mappingSets": self.mapping_sets, "flows": self.flows}
        return tables[kind]

    def exists(self, obj_id: str) -> bool:
        return any(obj_id in self._lookup(k) for k in ENDPOINTS)

    def create(self, kind: str, body: Any, obj_id: str | None = None) -> tuple[str, list[str]]:
        """Validate ``body`` for endpoint ``kind`` and add it; returns (id, notes). Raises
        :class:`AepError` (the id is then remembered as rejected, for the bodies that name it)."""
        if not isinstance(body, dict):
            raise AepError([Problem("", "the body must be a JSON object")])
        if obj_id is None and kind == "schemas" and isinstance(body.get("$id"), str):
            obj_id = body["$id"]
        obj_id = obj_id or _id_for(kind, body, self.tenant)
        if self.exists(obj_id):
            raise AepError([Problem("id", f"{obj_id!r} already exists in this sandbox")])
        try:
            obj, notes = self._build(kind, body, obj_id)
        except AepError:
            self.rejected[obj_id] = kind
            raise
        self._lookup(kind)[obj_id] = obj
        return obj_id, notes

    def _build(self, kind: str, body: dict, obj_id: str) -> tuple[Any, list[str]]:
        if kind == "connections":
            return BaseConnection.from_body(body, obj_id), []
        if kind == "schemas":
            if is_adhoc_body(body):
                return adhoc_from_body(body, obj_id), []
            return XdmSchema.from_body(body, obj_id), []
        if kind == "dataSets":
            return Dataset.from_body(body, obj_id, self.schemas), []
        if kind == "sourceConnections":
            return SourceConnection.from_body(body, obj_id, self.base_connections, self.schemas), []
        if kind == "targetConnections":
            tc = TargetConnection.from_body(body, obj_id, self.base_connections, self.schemas, self.datasets)
            return tc, list(tc.notes)
        if kind == "mappingSets":
            ref = body.get("xdmSchema")
            target = self.schemas.get(ref) if isinstance(ref, str) else None
            if not isinstance(target, XdmSchema):
                what = "an ad-hoc (source) schema" if isinstance(target, AdHocSchema) else "not a known schema"
                raise AepError([Problem("xdmSchema", f"{body.get('xdmSchema')!r} is {what}; a mapping set targets "
                                                     "the dataset's XDM schema")])
            return MappingSet.from_body(body, target, None, self.namespaces, obj_id), []
        flow = Dataflow.from_body(body, obj_id, self.source_connections, self.target_connections, self.mapping_sets,
                                  self.flow_specs, self.strict)
        return flow, list(flow.notes)


# -- reading files --------------------------------------------------------------------------------
def _items_of(doc: Any, source: str) -> tuple[list[Item], list[str]]:
    """The bodies a parsed document holds (module docstring), or problems about its shape."""
    items: list[Item] = []
    problems: list[str] = []

    def envelope(obj: Any, label: str, kind: str | None) -> None:
        if isinstance(obj, dict) and "body" in obj and set(obj) <= _ENVELOPE_KEYS:
            if "endpoint" in obj:
                kind = endpoint_kind(obj["endpoint"])
                if kind is None:
                    problems.append(f"{label}: endpoint: {obj['endpoint']!r} is not one of "
                                    f"{', '.join(e for e, _ in ENDPOINTS.values())}")
                    return
            oid = obj.get("id")
            body = obj["body"]
        else:
            oid, body = None, obj
        if kind is None:
            kind = kind_from_shape(body)
        if kind is None:
            problems.append(f"{label}: cannot tell which endpoint this body is for; wrap it as "
                            '{"endpoint": "POST /flows", "body": {...}}')
            return
        items.append(Item(label, kind, body, None if oid is None else str(oid)))

    if isinstance(doc, list):
        for i, obj in enumerate(doc):
            envelope(obj, f"{source}#{i}", None)
    elif isinstance(doc, dict) and doc and all(endpoint_kind(k) for k in doc):
        n = 0
        for key, value in doc.items():
            for obj in (value if isinstance(value, list) else [value]):
                envelope(obj, f"{source}#{n}", endpoint_kind(key))
                n += 1
    else:
        envelope(doc, source, None)
    return items, problems


def json_error(exc: json.JSONDecodeError) -> str:
    """``line L, column C: invalid JSON: what`` (a line break inside a string is an unterminated
    string: the message says where the string starts)."""
    where = f"line {exc.lineno}, column {exc.colno}"
    doc, pos = exc.doc, exc.pos
    if exc.msg.startswith("Invalid control character") and pos < len(doc) and doc[pos] in "\r\n":
        line_start = doc.rfind("\n", 0, pos) + 1
        opened = doc.rfind('"', line_start, pos)
        start = f" (the string opened at column {opened - line_start + 1})" if opened >= 0 else ""
        return f"{where}: invalid JSON: unterminated string{start}: the line ends before its closing quote"
    return f"{where}: invalid JSON: {exc.msg}"


def read_json(path: Path) -> tuple[Any, str | None]:
    """(document, None) or (None, problem naming line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"{path}: no such file"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: cannot read: {exc}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{path}: {json_error(exc)}"


def _relabel(problem: Problem, rejected: dict[str, str]) -> Problem:
    for rid, kind in rejected.items():
        if f"unknown {ENDPOINTS[kind][1]} {rid!r}" in problem.message:
            return Problem(problem.field, f"refers to {ENDPOINTS[kind][1]} {rid!r}, which was rejected above")
    return problem


def validate_bodies(inputs: Iterable[str | Path | dict | list], sandbox: Sandbox | None = None,
                    strict: bool = False) -> Validation:
    """Create every body of ``inputs`` (paths, or parsed JSON documents) in ``sandbox`` (default
    :meth:`Sandbox.example`); see the module docstring. Never raises for bad input."""
    sb = sandbox if sandbox is not None else Sandbox.example(strict=strict)
    out = Validation()
    items: list[Item] = []
    for n, entry in enumerate(inputs):
        if isinstance(entry, (str, Path)):
            doc, problem = read_json(Path(entry))
            if problem:
                out.problems.append(problem)
                continue
            source = str(entry)
        else:
            doc, source = entry, f"<input {n}>"
        got, problems = _items_of(doc, source)
        items += got
        out.problems += problems
    for item in sorted(items, key=lambda it: _ORDER[it.kind]):  # type: ignore[index]
        try:
            obj_id, notes = sb.create(item.kind, item.body, item.id)  # type: ignore[arg-type]
        except AepError as exc:
            for p in exc.problems:
                out.problems.append(f"{item.describe()}: {_relabel(p, sb.rejected)}")
            continue
        out.created.append(Created(item.kind, obj_id, item.name, item.label))  # type: ignore[arg-type]
        out.notes += [f"{item.describe()}: {note}" for note in notes]
    return out
