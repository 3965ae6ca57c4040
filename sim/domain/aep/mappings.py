"""Mapping sets: how a raw source row becomes an XDM record (``POST /conversion/mappingSets``).

A mapping set targets one XDM schema (``xdmSchema``) and lists mappings
``sourceAttribute -> destinationXdmPath``, each with an ``identity`` flag, an ``identityGroup`` and a
``namespaceCode`` (the identity namespace: ``Email``, ``ECID``, a custom ``HubSpotId`` ...).

Checked when the set is created (:meth:`MappingSet.from_body`), each problem naming the mapping by
index and source attribute (``mappings[2].destinationXdmPath: mapping 2 (sourceAttribute 'Foo'):
...``):

* the destination path must exist in the target schema (close matches are suggested);
* the source attribute must exist in the source's ad-hoc schema, when one is given;
* the types must be compatible (:data:`sim.domain.aep.xdm.COMPATIBLE`: any scalar to string,
  integer to number, date to date-time; ``string -> integer`` is a mismatch);
* an identity mapping needs a ``namespaceCode`` known to the sandbox, and a string destination;
* two mappings may not write the same destination path;
* at most 20 identity mappings (the platform's limit of identities per record).

:meth:`MappingSet.apply` maps rows to nested XDM records plus each record's identities, in
mapping order (the first identity is the record's primary identity). A value that does not fit
its declared source type (``"abc"`` in an integer field) fails that row only, as data prep's
row-level errors do; the batch goes on (:class:`MappedBatch` ``failed``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sim.domain.aep.problems import AepError, Problem, schema_problems
from sim.domain.aep.xdm import COMPATIBLE, AdHocSchema, XdmSchema, convert, set_path

STANDARD_NAMESPACES = ("ECID", "AAID", "Email", "Phone", "Email_LC_SHA256", "Phone_SHA256", "GAID", "IDFA", "TNTID")
MAX_IDENTITIES_PER_RECORD = 20

MAPPING_SET_BODY: dict = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "version": {"type": "integer"},
        "xdmSchema": {"type": "string", "minLength": 1},
        "xdmVersion": {"type": "string"},
        "id": {"type": ["string", "null"]},
        "mappings": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "destinationXdmPath": {"type": "string", "minLength": 1},
                    "sourceAttribute": {"type": "string", "minLength": 1},
                    "identity": {"type": "boolean"},
                    "identityGroup": {"type": ["string", "null"]},
                    "namespaceCode": {"type": ["string", "null"]},
                    "version": {"type": "integer"},
                },
                "required": ["destinationXdmPath", "sourceAttribute"],
            },
        },
    },
    "required": ["xdmSchema", "mappings"],
}


@dataclass(frozen=True)
class FieldMapping:
    """One ``sourceAttribute -> destinationXdmPath`` mapping."""

    source_attribute: str
    destination_path: str
    identity: bool = False
    identity_group: str | None = None
    namespace_code: str | None = None
    version: int = 0


@dataclass
class XdmRecord:
    """A mapped row: the nested XDM ``data``, its ``identities`` [(namespace, value)] (first is
    primary), the row's ``timestamp`` (epoch s, for merge policies) and its index in the batch."""

    data: dict
    identities: list[tuple[str, str]]
    timestamp: float | None = None
    row: int = 0


@dataclass(frozen=True)
class RowError:
    row: int
    source_attribute: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.source_attribute}: {self.message}"


@dataclass
class MappedBatch:
    records: list[XdmRecord] = field(default_factory=list)
    failed: list[RowError] = field(default_factory=list)


def _label(i: int, m: Any) -> str:
    src = m.get("sourceAttribute") if isinstance(m, dict) else None
    return f"mapping {i} (sourceAttribute {src!r})"


def _read(value: Any, source_type: str) -> Any:
    """A raw value checked against its declared source type; raises ValueError if it does not fit."""
    if source_type == "string":
        return value if isinstance(value, str) else str(value)
    if source_type == "integer":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValueError(f"{value!r} is not an integer")
    if source_type == "number":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
    if source_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{value!r} is not a boolean")
    if source_type in ("date", "date-time"):
        if isinstance(value, (date, datetime)):
            return value
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO 8601 {source_type}") from None
            return moment.date() if source_type == "date" and len(value.strip()) <= 10 else moment
        raise ValueError(f"{value!r} is not an ISO 8601 {source_type}")
    return value


def source_problems(mappings: Sequence[FieldMapping], target: XdmSchema, source: AdHocSchema) -> list[Problem]:
    """Problems of ``mappings`` against the raw fields of ``source``: unknown source attribute, type
    mismatch with the destination. (A mapping set body does not name its source; these are
    checked when a dataflow ties the set to a source connection, and at creation if known.)"""
    problems = []
    paths = target.paths
    for i, m in enumerate(mappings):
        where, who = f"mappings[{i}]", f"mapping {i} (sourceAttribute {m.source_attribute!r})"
        src_type = source.fields.get(m.source_attribute)
        if src_type is None:
            close = difflib.get_close_matches(m.source_attribute, list(source.fields), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            problems.append(Problem(f"{where}.sourceAttribute",
                                    f"{who}: not a field of source schema {source.title or source.id!r}{hint}"))
            continue
        dest_type = paths.get(m.destination_path)
        if dest_type is not None and src_type not in COMPATIBLE[dest_type]:
            problems.append(Problem(f"{where}.destinationXdmPath",
                                    f"{who}: type mismatch: source {src_type} cannot be written to "
                                    f"{m.destination_path!r} ({dest_type}); {dest_type} accepts "
                                    f"{', '.join(sorted(COMPATIBLE[dest_type]))}"))
    return problems


@dataclass(frozen=True)
class MappingSet:
    """A validated mapping set bound to its target schema (and the source's ad-hoc schema)."""

    id: str
    target: XdmSchema
    mappings: tuple[FieldMapping, ...]
    source: AdHocSchema | None = None
    version: int = 0

    @classmethod
    def from_body(cls, body: Any, target: XdmSchema, source: AdHocSchema | None = None,
                  namespaces: Iterable[str] = STANDARD_NAMESPACES, id: str = "") -> MappingSet:
        """Validate a ``POST /conversion/mappingSets`` body against ``target`` (the schema its
        ``xdmSchema`` names) and ``source``; :class:`AepError` lists every problem."""
        problems = schema_problems(MAPPING_SET_BODY, body)
        if problems:
            raise AepError(problems)
        if body["xdmSchema"] != target.id:
            problems.append(Problem("xdmSchema", f"{body['xdmSchema']!r} is not the target schema {target.id!r}"))
        known_ns = set(namespaces)
        paths = target.paths
        seen: dict[str, int] = {}
        out = []
        for i, m in enumerate(body["mappings"]):
            where, who = f"mappings[{i}]", _label(i, m)
            src, dest = m["sourceAttribute"], m["destinationXdmPath"]
            dest_type = paths.get(dest)
            if dest_type is None:
                close = difflib.get_close_matches(dest, list(paths), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                problems.append(Problem(f"{where}.destinationXdmPath",
                                        f"{who}: {dest!r} is not a path of target schema "
                                        f"{target.title or target.id!r}{hint}"))
            elif dest in seen:
                problems.append(Problem(f"{where}.destinationXdmPath",
                                        f"{who}: {dest!r} is already written by mapping {seen[dest]}"))
            else:
                seen[dest] = i
            identity = bool(m.get("identity", False))
            ns = m.get("namespaceCode")
            if identity:
                if not ns:
                    problems.append(Problem(f"{where}.namespaceCode",
                                            f"{who}: an identity mapping needs a namespaceCode (e.g. Email, ECID)"))
                elif ns not in known_ns:
                    problems.append(Problem(f"{where}.namespaceCode",
                                            f"{who}: unknown identity namespace {ns!r}; known: "
                                            f"{', '.join(sorted(known_ns))}"))
                if dest_type is not None and dest_type != "string":
                    problems.append(Problem(f"{where}.destinationXdmPath",
                                            f"{who}: an identity must be a string field, {dest!r} is {dest_type}"))
            out.append(FieldMapping(src, dest, identity, m.get("identityGroup"), ns, int(m.get("version", 0))))
        if source is not None:
            problems += source_problems(out, target, source)
        n_ident = sum(f.identity for f in out)
        if n_ident > MAX_IDENTITIES_PER_RECORD:
            problems.append(Problem("mappings", f"{n_ident} identity mappings; a record carries at most "
                                                f"{MAX_IDENTITIES_PER_RECORD} identities"))
        if problems:
            raise AepError(problems)
        return cls(id or str(body.get("id") or ""), target, tuple(out), source, int(body.get("version", 0)))

    def with_source(self, source: AdHocSchema) -> MappingSet:
        """This set bound to a source's ad-hoc schema; :class:`AepError` if they do not fit."""
        problems = source_problems(self.mappings, self.target, source)
        if problems:
            raise AepError(problems)
        return MappingSet(self.id, self.target, self.mappings, source, self.version)

    @property
    def identity_mappings(self) -> list[FieldMapping]:
        return [m for m in self.mappings if m.identity]

    def apply(self, rows: Sequence[MappingABC], timestamps: Sequence[float | None] | None = None) -> MappedBatch:
        """Map ``rows`` (dicts of source attributes) to XDM records; see the module docstring."""
        paths = self.target.paths
        src_types = self.source.fields if self.source is not None else {}
        batch = MappedBatch()
        for r, row in enumerate(rows):
            doc: dict = {}
            identities: list[tuple[str, str]] = []
            error = None
            for m in self.mappings:
                value = row.get(m.source_attribute)
                if value is None or (isinstance(value, str) and value == ""):
                    continue
                dest_type = paths[m.destination_path]
                src_type = src_types.get(m.source_attribute, dest_type)
                try:
                    value = convert(_read(value, src_type), src_type, dest_type)
                except ValueError as exc:
                    error = RowError(r, m.source_attribute, str(exc))
                    break
                set_path(doc, m.destination_path, value)
                if m.identity:
                    identities.append((m.namespace_code, str(value)))  # type: ignore[arg-type]
            if error is not None:
                batch.failed.append(error)
                continue
            ts = None if timestamps is None else timestamps[r]
            batch.records.append(XdmRecord(doc, identities, ts, r))
        return batch
