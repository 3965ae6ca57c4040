"""Connections and datasets: where a dataflow reads and where it writes.

* A **base connection** is an authenticated account: of a source (HubSpot, Salesforce Marketing
  Cloud, with that connector's **connection spec**) or of the data lake (the *dataset base
  connection*, connection spec :data:`DATA_LAKE_SPEC`).
* A **source connection** = a source base connection + a source path (``Hubspot.Contacts``, a
  data extension) + the data format (``parquet_xdm``) + the ad-hoc schema of the raw fields.
* A **dataset** (``POST /catalog/dataSets``) adheres to one XDM schema.
* A **target connection** = the **dataset base connection** + a dataset + the schema. Using the
  source's base connection here is the error the seed warns about ("veillez à utiliser la valeur
  de connexion de base du jeu de données ... plutôt que l'ID de connexion de votre connecteur
  source tiers"): refused, naming both ids. Its ``data.schema.id`` must be the dataset's schema.

Retired connectors are refused with the reason and the replacement: the original Salesforce
Marketing Cloud source (V1, connection spec ``ea1c2a08-…``) was retired in January 2026 with no
migration; a base or source connection on it is an error naming the V2 source — never a silent
fallback to V2.

The seed's own target-connection body names the *source's* connection spec (``cc6a4487-…``)
where later versions of the documentation name the data-lake spec: the twin accepts it with a
note, since the seed's example must pass and the base connection decides what is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.domain.aep.problems import AepError, Problem, schema_problems
from sim.domain.aep.xdm import AdHocSchema, XdmSchema

DATA_LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"  # doc: fixed id of the data lake
HUBSPOT_SPEC = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"  # seed 002
SFMC_V1_SPEC = "ea1c2a08-b722-11eb-8529-0242ac130003"  # doc: the original (V1) source
SFMC_V2_SPEC = "5f6c0b2e-7d1a-4c3b-9e8f-0a1b2c3d4e02"  # assumed: the V2 id is not published in the seeds


@dataclass(frozen=True)
class ConnectionSpec:
    id: str
    name: str
    kind: str  # "source" | "data_lake"
    retired: str | None = None  # when, if retired
    replacement: str | None = None


CONNECTION_SPECS: dict[str, ConnectionSpec] = {s.id: s for s in [
    ConnectionSpec(DATA_LAKE_SPEC, "Data Lake", "data_lake"),
    ConnectionSpec(HUBSPOT_SPEC, "HubSpot", "source"),
    ConnectionSpec(SFMC_V1_SPEC, "Salesforce Marketing Cloud (V1)", "source", "January 2026", SFMC_V2_SPEC),
    ConnectionSpec(SFMC_V2_SPEC, "Salesforce Marketing Cloud (V2)", "source"),
]}


def spec_problems(spec_id: Any, field_path: str = "connectionSpec.id") -> list[Problem]:
    """Unknown or retired connection spec -> problems (the retirement names its replacement)."""
    spec = CONNECTION_SPECS.get(spec_id)
    if spec is None:
        known = ", ".join(f"{s.id} ({s.name})" for s in CONNECTION_SPECS.values() if not s.retired)
        return [Problem(field_path, f"unknown connection spec {spec_id!r}; known: {known}")]
    if spec.retired:
        new = CONNECTION_SPECS[spec.replacement] if spec.replacement else None
        instead = f"; re-implement with the {new.name} source (connection spec {new.id})" if new else ""
        return [Problem(field_path, f"the {spec.name} source was retired in {spec.retired} and has no migration"
                                    f"{instead}")]
    return []


_DRAFT7 = "http://json-schema.org/draft-07/schema#"


def _obj(props: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": props, "required": required}


_SPEC_REF = _obj({"id": {"type": "string", "minLength": 1}, "version": {"type": "string"}}, ["id"])
_SCHEMA_REF = _obj({"id": {"type": "string", "minLength": 1}, "version": {"type": "string"}}, ["id"])

BASE_CONNECTION_BODY = {**_obj({"name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
                                "auth": {"type": "object"}, "connectionSpec": _SPEC_REF},
                               ["name", "connectionSpec"]), "$schema": _DRAFT7}
SOURCE_CONNECTION_BODY = {**_obj({
    "name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
    "baseConnectionId": {"type": "string", "minLength": 1},
    "data": _obj({"format": {"type": "string", "enum": ["parquet_xdm", "tabular"]}, "schema": _SCHEMA_REF},
                 ["format", "schema"]),
    "params": _obj({"path": {"type": "string", "minLength": 1}}, ["path"]),
    "connectionSpec": _SPEC_REF,
}, ["name", "baseConnectionId", "data", "params", "connectionSpec"]), "$schema": _DRAFT7}
TARGET_CONNECTION_BODY = {**_obj({
    "name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
    "baseConnectionId": {"type": "string", "minLength": 1},
    "data": _obj({"format": {"type": "string", "enum": ["parquet_xdm"]}, "schema": _SCHEMA_REF}, ["format", "schema"]),
    "params": _obj({"dataSetId": {"type": "string", "minLength": 1}}, ["dataSetId"]),
    "connectionSpec": _SPEC_REF,
}, ["name", "baseConnectionId", "data", "params", "connectionSpec"]), "$schema": _DRAFT7}
DATASET_BODY = {**_obj({"name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
                        "schemaRef": _obj({"id": {"type": "string", "minLength": 1},
                                           "contentType": {"type": "string"}}, ["id"])},
                       ["name", "schemaRef"]), "$schema": _DRAFT7}


@dataclass(frozen=True)
class BaseConnection:
    id: str
    name: str
    connection_spec_id: str

    @property
    def spec(self) -> ConnectionSpec:
        return CONNECTION_SPECS[self.connection_spec_id]

    @property
    def is_dataset_base(self) -> bool:
        return self.spec.kind == "data_lake"

    @classmethod
    def from_body(cls, body: Any, id: str) -> BaseConnection:
        problems = schema_problems(BASE_CONNECTION_BODY, body)
        if not problems:
            problems = spec_problems(body["connectionSpec"]["id"])
        if problems:
            raise AepError(problems)
        return cls(id, body["name"], body["connectionSpec"]["id"])


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    schema_id: str
    profile_enabled: bool = True

    @classmethod
    def from_body(cls, body: Any, id: str, schemas: Mapping[str, Any]) -> Dataset:
        problems = schema_problems(DATASET_BODY, body)
        if not problems:
            sid = body["schemaRef"]["id"]
            schema = schemas.get(sid)
            if schema is None:
                problems.append(Problem("schemaRef.id", f"unknown schema {sid!r}"))
            elif not isinstance(schema, XdmSchema):
                problems.append(Problem("schemaRef.id", f"{sid!r} is an ad-hoc (source) schema; a dataset "
                                                        "adheres to a target XDM schema"))
        if problems:
            raise AepError(problems)
        return cls(id, body["name"], body["schemaRef"]["id"])


@dataclass(frozen=True)
class SourceConnection:
    id: str
    name: str
    base_connection_id: str
    path: str
    format: str
    schema: AdHocSchema
    connection_spec_id: str

    @classmethod
    def from_body(cls, body: Any, id: str, base_connections: Mapping[str, BaseConnection],
                  schemas: Mapping[str, Any]) -> SourceConnection:
        problems = schema_problems(SOURCE_CONNECTION_BODY, body)
        if problems:
            raise AepError(problems)
        spec_id = body["connectionSpec"]["id"]
        problems += spec_problems(spec_id)
        base = base_connections.get(body["baseConnectionId"])
        if base is None:
            problems.append(Problem("baseConnectionId", f"unknown base connection {body['baseConnectionId']!r}"))
        elif base.is_dataset_base:
            problems.append(Problem("baseConnectionId", f"{base.id!r} is a dataset base connection; a source "
                                                        "connection reads through the source's base connection"))
        elif base.connection_spec_id != spec_id and not problems:
            problems.append(Problem("connectionSpec.id", f"{spec_id!r} is not the connection spec of base connection "
                                                         f"{base.id!r} ({base.spec.name}: {base.connection_spec_id})"))
        sid = body["data"]["schema"]["id"]
        schema = schemas.get(sid)
        if schema is None:
            problems.append(Problem("data.schema.id", f"unknown schema {sid!r} (create the ad-hoc schema of the "
                                                      "source fields first)"))
        elif not isinstance(schema, AdHocSchema):
            problems.append(Problem("data.schema.id", f"{sid!r} is a target XDM schema; a source connection "
                                                      "describes the raw fields with an ad-hoc schema"))
        if problems:
            raise AepError(problems)
        assert isinstance(schema, AdHocSchema)  # checked above
        return cls(id, body["name"], body["baseConnectionId"], body["params"]["path"], body["data"]["format"],
                   schema, spec_id)


@dataclass(frozen=True)
class TargetConnection:
    id: str
    name: str
    base_connection_id: str
    dataset: Dataset
    schema: XdmSchema
    connection_spec_id: str
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_body(cls, body: Any, id: str, base_connections: Mapping[str, BaseConnection],
                  schemas: Mapping[str, Any], datasets: Mapping[str, Dataset]) -> TargetConnection:
        problems = schema_problems(TARGET_CONNECTION_BODY, body)
        if problems:
            raise AepError(problems)
        notes = []
        base_id = body["baseConnectionId"]
        base = base_connections.get(base_id)
        dataset_bases = [b.id for b in base_connections.values() if b.is_dataset_base]
        if base is None:
            problems.append(Problem("baseConnectionId", f"unknown base connection {base_id!r}"))
        elif not base.is_dataset_base:
            hint = f" (e.g. {dataset_bases[0]!r})" if dataset_bases else ""
            problems.append(Problem("baseConnectionId", f"{base_id!r} is the base connection of the source "
                                                        f"{base.spec.name}; a target connection must use the "
                                                        f"dataset base connection{hint}"))
        spec_id = body["connectionSpec"]["id"]
        spec = CONNECTION_SPECS.get(spec_id)
        if spec is None or spec.retired:
            problems += spec_problems(spec_id)
        elif spec.kind != "data_lake":
            notes.append(f"connectionSpec.id: {spec_id} is the {spec.name} source spec; the data lake spec is "
                         f"{DATA_LAKE_SPEC} (accepted, as in the seed's example)")
        ds_id = body["params"]["dataSetId"]
        dataset = datasets.get(ds_id)
        if dataset is None:
            problems.append(Problem("params.dataSetId", f"unknown dataset {ds_id!r}"))
        sid = body["data"]["schema"]["id"]
        schema = schemas.get(sid)
        if schema is None:
            problems.append(Problem("data.schema.id", f"unknown schema {sid!r}"))
        elif not isinstance(schema, XdmSchema):
            problems.append(Problem("data.schema.id", f"{sid!r} is an ad-hoc (source) schema; the target is "
                                                      "the dataset's XDM schema"))
        elif dataset is not None and dataset.schema_id != sid:
            problems.append(Problem("data.schema.id", f"{sid!r} is not the schema of dataset {ds_id!r} "
                                                      f"({dataset.schema_id!r})"))
        if problems:
            raise AepError(problems)
        return cls(id, body["name"], base_id, dataset, schema, spec_id, tuple(notes))  # type: ignore[arg-type]
