"""XDM schemas: the raw (ad-hoc) schema of a source and the target schema of a dataset.

Experience Data Model (XDM) schemas are composed: a **class** gives the behaviour (a record,
``https://ns.adobe.com/xdm/context/profile``, or a time series,
``https://ns.adobe.com/xdm/context/experienceevent``) and its own fields; **field groups** add
fields and say which class they fit. A schema is then a set of valid *paths*
(``person.name.firstName``, ``personalEmail.address``, ``_id``) each with a type. The catalogue
below is small but real in shape: the paths and types are those of the public XDM field groups
(Demographic Details = ``profile-person-details``, Personal Contact Details =
``profile-personal-details``, ...), trimmed to the fields a marketing-automation source fills.

An **ad-hoc schema** describes the raw source fields one level deep (``Properties_Firstname_Value``:
string); source connections point to one (seed 002, "Création d'une classe XDM ad hoc").

Types are XDM's: ``string``, ``integer``, ``number``, ``boolean``, ``date``, ``date-time``,
``object``, ``array``. :data:`COMPATIBLE` says which source type may feed which destination type
(the widenings data prep does on its own: any scalar to string, integer to number, date to
date-time); anything else is a type mismatch that the mapping set reports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sim.domain.aep.problems import AepError, Problem

XDM_TYPES = ("string", "integer", "number", "boolean", "date", "date-time", "object", "array")

PROFILE_CLASS = "https://ns.adobe.com/xdm/context/profile"
EVENT_CLASS = "https://ns.adobe.com/xdm/context/experienceevent"
ADHOC_CLASS = "https://ns.adobe.com/xdm/data/adhoc"

#: destination type -> source types that may feed it
COMPATIBLE: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "integer", "number", "boolean", "date", "date-time"}),
    "integer": frozenset({"integer"}),
    "number": frozenset({"integer", "number"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date"}),
    "date-time": frozenset({"date", "date-time"}),
    "object": frozenset({"object"}),
    "array": frozenset({"array"}),
}

_RECORD_FIELDS = {  # xdm/data/record + xdm/common/auditable, mixed into every record class
    "_id": "string",
    "createdByBatchID": "string",
    "modifiedByBatchID": "string",
    "repositoryCreatedBy": "string",
    "repositoryLastModifiedBy": "string",
    "_repo.createDate": "date-time",
    "_repo.modifyDate": "date-time",
    "identityMap": "object",
}


@dataclass(frozen=True)
class XdmComponent:
    """A class or field group: its ``$id``, title, kind, the classes it fits and its paths."""

    id: str
    title: str
    kind: str  # "class" | "fieldgroup"
    fields: dict[str, str]
    intended_for: tuple[str, ...] = ()  # field groups: classes it may extend ("" = any)


def _fg(name: str, title: str, fields: dict[str, str], cls: str = PROFILE_CLASS) -> XdmComponent:
    return XdmComponent(f"https://ns.adobe.com/xdm/context/{name}", title, "fieldgroup", fields, (cls,))


CATALOG: dict[str, XdmComponent] = {c.id: c for c in [
    XdmComponent(PROFILE_CLASS, "XDM Individual Profile", "class", {
        **_RECORD_FIELDS, "profileStitchID": "string", "userAccount.ID": "string"}),
    XdmComponent(EVENT_CLASS, "XDM ExperienceEvent", "class", {
        **_RECORD_FIELDS, "timestamp": "date-time", "eventType": "string", "producedBy": "string"}),
    _fg("profile-person-details", "Demographic Details", {
        "person.name.firstName": "string", "person.name.lastName": "string", "person.name.middleName": "string",
        "person.name.fullName": "string", "person.name.courtesyTitle": "string", "person.birthDate": "date",
        "person.birthYear": "integer", "person.gender": "string"}),
    _fg("profile-personal-details", "Personal Contact Details", {
        "personalEmail.address": "string", "personalEmail.primary": "boolean", "personalEmail.status": "string",
        "mobilePhone.number": "string", "homePhone.number": "string", "homeAddress.street1": "string",
        "homeAddress.city": "string", "homeAddress.postalCode": "string", "homeAddress.country": "string",
        "homeAddress.countryCode": "string"}),
    _fg("profile-work-details", "Business Contact Details", {
        "workEmail.address": "string", "workPhone.number": "string", "workAddress.city": "string",
        "workAddress.country": "string", "organizations.name": "string"}),
    _fg("profile-consents", "Consents and Preferences", {
        "consents.marketing.email.val": "string", "consents.marketing.preferred": "string",
        "consents.collect.val": "string"}),
    _fg("profile-loyalty-details", "Loyalty Details", {
        "loyalty.loyaltyID": "string", "loyalty.tier": "string", "loyalty.points": "number",
        "loyalty.joinDate": "date-time"}),
    _fg("experienceevent-web", "Web Details", {
        "web.webPageDetails.name": "string", "web.webPageDetails.URL": "string",
        "web.webReferrer.URL": "string"}, EVENT_CLASS),
    _fg("experienceevent-directmarketing", "Direct Marketing Details", {
        "directMarketing.opens.value": "number", "directMarketing.clicks.value": "number",
        "directMarketing.sends.value": "number", "directMarketing.unsubscribes.value": "number",
        "directMarketing.mailingName": "string"}, EVENT_CLASS),
]}

FIELD_GROUPS = tuple(c.id for c in CATALOG.values() if c.kind == "fieldgroup")


@dataclass(frozen=True)
class XdmSchema:
    """A target schema: class + field groups + optional tenant fields (``_tenant.xxx``)."""

    id: str
    title: str
    class_id: str
    field_groups: tuple[str, ...] = ()
    tenant_fields: dict[str, str] = field(default_factory=dict)

    @property
    def behaviour(self) -> str:
        return "time-series" if self.class_id == EVENT_CLASS else "record"

    @property
    def paths(self) -> dict[str, str]:
        """Every valid leaf path of the schema and its type."""
        out = dict(CATALOG[self.class_id].fields)
        for fg in self.field_groups:
            out.update(CATALOG[fg].fields)
        out.update(self.tenant_fields)
        return out

    def type_of(self, path: str) -> str | None:
        return self.paths.get(path)

    @classmethod
    def compose(cls, id: str, title: str, class_id: str, field_groups: list[str] | tuple[str, ...] = (),
                tenant_fields: dict[str, str] | None = None, where: list[str] | None = None) -> XdmSchema:
        """Build and check a schema; :class:`AepError` names each unknown or misplaced component
        (``where[i]`` is the field path of field group ``i``; default ``field_groups[i]``)."""
        problems = []
        if class_id not in CATALOG or CATALOG[class_id].kind != "class":
            classes = ", ".join(c.id for c in CATALOG.values() if c.kind == "class")
            problems.append(Problem("meta:class", f"unknown XDM class {class_id!r}; known: {classes}"))
        seen: list[str] = []
        for i, fg in enumerate(field_groups):
            comp = CATALOG.get(fg)
            label = where[i] if where else f"field_groups[{i}]"
            if comp is None or comp.kind != "fieldgroup":
                problems.append(Problem(label, f"unknown field group {fg!r}; known: {', '.join(FIELD_GROUPS)}"))
            elif class_id in CATALOG and class_id not in comp.intended_for:
                problems.append(Problem(label, f"field group {comp.title!r} does not fit class "
                                                            f"{CATALOG[class_id].title!r}"))
            elif fg not in seen:  # the seed lists personal-details twice: composed once, as the platform does
                seen.append(fg)
        for path, typ in (tenant_fields or {}).items():
            if not path.startswith("_"):
                problems.append(Problem(f"tenant_fields.{path}", "tenant fields live under _<tenant>."))
            if typ not in XDM_TYPES:
                problems.append(Problem(f"tenant_fields.{path}",
                                        f"unknown type {typ!r}; allowed: {', '.join(XDM_TYPES)}"))
        if problems:
            raise AepError(problems)
        return cls(id, title, class_id, tuple(seen), dict(tenant_fields or {}))

    @classmethod
    def from_body(cls, body: dict, id: str | None = None) -> XdmSchema:
        """From a ``POST /schemaregistry/tenant/schemas`` body (``allOf`` of ``$ref``; the class is
        ``meta:class``, or the ``allOf`` entry that is a class)."""
        entries = body.get("allOf", [])
        refs = [entry.get("$ref") if isinstance(entry, dict) else None for entry in entries]
        tenant: dict[str, str] = {}
        problems = []
        for i, (entry, r) in enumerate(zip(entries, refs)):
            if isinstance(r, str):
                continue
            if isinstance(entry, dict) and isinstance(entry.get("properties"), dict):
                problems += _tenant_fields(entry["properties"], "", f"allOf[{i}].properties", tenant)
            else:
                problems.append(Problem(f"allOf[{i}]", "each entry needs a $ref (or tenant fields as properties)"))
        if isinstance(body.get("properties"), dict):
            problems += _tenant_fields(body["properties"], "", "properties", tenant)
        class_id = body.get("meta:class")
        ref_classes = [r for r in refs if isinstance(r, str) and r in CATALOG and CATALOG[r].kind == "class"]
        if class_id is None:
            class_id = ref_classes[0] if ref_classes else None
        if class_id is None:
            problems.append(Problem("meta:class", "required field is missing (or an allOf $ref to a class)"))
        for r in ref_classes:
            if r != class_id:
                problems.append(Problem("allOf", f"a schema has one class: {r!r} and {class_id!r}"))
        if problems:
            raise AepError(problems)
        groups = [(i, r) for i, r in enumerate(refs) if isinstance(r, str) and r not in ref_classes]
        title = str(body.get("title", ""))
        sid = id or body.get("$id") or f"https://ns.adobe.com/tenant/schemas/{_digest(body, 48)}"
        return cls.compose(sid, title, class_id, [r for _, r in groups], tenant,  # type: ignore[arg-type]
                           where=[f"allOf[{i}].$ref" for i, _ in groups])


def _tenant_fields(props: dict, prefix: str, where: str, out: dict[str, str]) -> list[Problem]:
    """Custom (tenant) fields of a schema body, ``{"_tenant": {"type": "object", "properties":
    {"lifecycleStage": {"type": "string"}}}}`` -> ``out["_tenant.lifecycleStage"] = "string"``."""
    problems = []
    for name, spec in props.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        if not prefix and not path.startswith("_"):
            problems.append(Problem(f"{where}.{name}", "custom fields live under _<tenant> (e.g. _mytenant)"))
            continue
        if not isinstance(spec, dict):
            problems.append(Problem(f"{where}.{name}", "a field is an object with a type"))
        elif isinstance(spec.get("properties"), dict):
            problems += _tenant_fields(spec["properties"], path, f"{where}.{name}.properties", out)
        elif spec.get("type") in XDM_TYPES and spec.get("type") != "object":
            out[path] = spec["type"] if spec.get("format") != "date-time" else "date-time"
        else:
            problems.append(Problem(f"{where}.{name}.type", f"{spec.get('type')!r}; allowed: "
                                                           f"{', '.join(t for t in XDM_TYPES if t != 'object')}"))
    return problems


@dataclass(frozen=True)
class AdHocSchema:
    """The raw fields of a source (one level, as the ad-hoc class describes them) and their types."""

    id: str
    title: str
    fields: dict[str, str]

    def __post_init__(self) -> None:
        bad = [Problem(f"fields.{k}", f"unknown type {t!r}; allowed: {', '.join(XDM_TYPES)}")
               for k, t in self.fields.items() if t not in XDM_TYPES]
        if bad:
            raise AepError(bad)


def _digest(body: Any, n: int) -> str:
    import json

    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def convert(value: Any, source_type: str, dest_type: str) -> Any:
    """``value`` of a source field as the destination type wants it (see :data:`COMPATIBLE`).

    Scalars become strings as data prep writes them (``True`` -> ``"true"``, integers without a
    decimal point); epoch numbers are not dates: a date source must hold ISO text or a date."""
    if value is None:
        return None
    if dest_type == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer() and source_type == "integer":
            return str(int(value))
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return str(value)
    if dest_type == "number":
        return float(value)
    if dest_type == "integer":
        return int(value)
    if dest_type in ("date", "date-time") and isinstance(value, (datetime, date)):
        if dest_type == "date-time" and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
        return value.isoformat()
    return value


def set_path(doc: dict, path: str, value: Any) -> None:
    """Write ``value`` at dotted ``path`` of the nested dict ``doc`` (creating objects on the way)."""
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def get_path(doc: dict, path: str, default: Any = None) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def flatten(doc: dict, prefix: str = "") -> dict[str, Any]:
    """The leaves of a nested XDM record as ``{dotted path: value}``."""
    out: dict[str, Any] = {}
    for k, v in doc.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and k != "identityMap":
            out.update(flatten(v, path))
        else:
            out[path] = v
    return out


_PATH = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_QUOTED = re.compile(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def xdm_name(path: str) -> str:
    """An XDM path as a filter field name: ``loyalty.tier`` -> ``loyalty__tier``."""
    return path.replace(".", "__")


def xdm_condition(condition: str) -> str:
    """A segment condition with its dotted XDM paths (outside quotes) made filter field names."""
    parts = _QUOTED.split(condition or "")
    return "".join(p if i % 2 else _PATH.sub(lambda m: xdm_name(m.group(1)), p) for i, p in enumerate(parts))


def is_adhoc_body(body: dict) -> bool:
    """Whether a schema body is an ad-hoc schema (``meta:class`` or an ``allOf`` $ref to the ad-hoc class)."""
    refs = [e.get("$ref") for e in body.get("allOf", []) if isinstance(e, dict)]
    return body.get("meta:class") == ADHOC_CLASS or ADHOC_CLASS in refs


def adhoc_from_body(body: dict, id: str) -> AdHocSchema:
    """An ad-hoc schema from a ``POST /schemaregistry/tenant/schemas`` body on the ad-hoc class:
    its raw fields are the ``properties`` of the body or of an ``allOf`` entry, either at the top or
    under the one namespace object the platform generates (``{"_6fd1...": {"type": "object",
    "properties": {"Vid": {"type": "integer"}}}}``); each field's name is its leaf name."""
    props: dict = {}
    for entry in body.get("allOf", []):
        if isinstance(entry, dict) and isinstance(entry.get("properties"), dict):
            props.update(entry["properties"])
    if isinstance(body.get("properties"), dict):
        props.update(body["properties"])
    if len(props) == 1:
        (name, spec), = props.items()
        if name.startswith("_") and isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            props = spec["properties"]
    fields, problems = {}, []
    for name, spec in props.items():
        typ = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and typ == "string" and spec.get("format") in ("date-time", "date"):
            typ = spec["format"]
        if typ not in XDM_TYPES or typ in ("object", "array"):
            problems.append(Problem(f"properties.{name}.type", f"{typ!r}: an ad-hoc field is one of string, "
                                                               "integer, number, boolean, date, date-time"))
        else:
            fields[str(name)] = typ
    if not fields and not problems:
        problems.append(Problem("properties", "an ad-hoc schema lists its raw fields in properties"))
    if problems:
        raise AepError(problems)
    return AdHocSchema(id, str(body.get("title", "")), fields)
