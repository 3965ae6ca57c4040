"""The flow spec ``CRMToAEP`` and the transformations a dataflow carries.

A flow spec (``GET /flowSpecs?property=name=="CRMToAEP"``, seed 002) publishes, as JSON Schemas,
the parameters of each transformation it accepts and of its schedule:

* **Copy**: ``deltaColumn`` (required) = ``{name (required), dateFormat, timezone}``, the column
  that drives incremental loads (:mod:`sim.domain.aep.delta`);
* **Mapping**: ``mappingId`` and ``mappingVersion`` (a string, ``"0"``), the mapping set applied
  to each row (:mod:`sim.domain.aep.mappings`). The published spec requires nothing here; the
  twin requires ``mappingId`` (a Mapping without one maps nothing) and says so;
* the schedule: :data:`sim.domain.aep.schedules.SCHEDULE_SPEC`.

The transformation specs are kept verbatim from the seed (plus that one ``required``) and checked
with ``jsonschema``. A dataflow may list each transformation at most once; unknown names are
refused with the names the spec allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.domain.aep.delta import DeltaColumn
from sim.domain.aep.problems import AepError, Problem, check_schema, schema_problems
from sim.domain.aep.schedules import SCHEDULE_SPEC

CRM_TO_AEP_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
_DRAFT7 = "http://json-schema.org/draft-07/schema#"

COPY_SPEC: dict = {
    "$schema": _DRAFT7,
    "type": "object",
    "properties": {
        "deltaColumn": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "dateFormat": {"type": "string"},
                           "timezone": {"type": "string"}},
            "required": ["name"],
        }
    },
    "required": ["deltaColumn"],
}

MAPPING_SPEC: dict = {
    "$schema": _DRAFT7,
    "type": "object",
    "description": "defines various params required for different mapping from source to target",
    "properties": {"mappingId": {"type": "string"}, "mappingVersion": {"type": "string"}},
    "required": ["mappingId"],
}

_TRANSFORMATION = {
    "$schema": _DRAFT7,
    "type": "object",
    "properties": {"name": {"type": "string"}, "params": {"type": "object"}},
    "required": ["name", "params"],
}


@dataclass(frozen=True)
class FlowSpec:
    """A flow spec: its id, name, transformation specs (name -> JSON Schema), schedule spec."""

    id: str
    name: str
    version: str
    transformation_specs: dict[str, dict]
    schedule_spec: dict
    provider_id: str = ""


CRM_TO_AEP = FlowSpec(CRM_TO_AEP_ID, "CRMToAEP", "1.0", {"Copy": COPY_SPEC, "Mapping": MAPPING_SPEC},
                      SCHEDULE_SPEC, "0ed90a81-07f4-4586-8190-b40eccef1c5a")
FLOW_SPECS: dict[str, FlowSpec] = {CRM_TO_AEP.id: CRM_TO_AEP}
for _spec in (COPY_SPEC, MAPPING_SPEC, _TRANSFORMATION):
    check_schema(_spec)


@dataclass(frozen=True)
class CopyTransformation:
    delta_column: DeltaColumn


@dataclass(frozen=True)
class MappingTransformation:
    mapping_id: str
    mapping_version: str | None = None


@dataclass(frozen=True)
class Transformations:
    copy: CopyTransformation | None = None
    mapping: MappingTransformation | None = None


_COPY_MISSING = ("required field is missing: Copy needs the delta column {name, dateFormat, timezone} "
                 "that drives incremental loads")


def parse_transformations(items: Any, spec: FlowSpec = CRM_TO_AEP) -> Transformations:
    """The ``transformations`` list of a ``POST /flows`` body; :class:`AepError` names each problem
    as ``transformations[i].params.<field>``."""
    if not isinstance(items, list):
        raise AepError([Problem("transformations", "must be a list of {name, params}")])
    problems: list[Problem] = []
    found: dict[str, Any] = {}
    for i, item in enumerate(items):
        where = f"transformations[{i}]"
        shape = schema_problems(_TRANSFORMATION, item)
        if shape:
            problems += [p.under(where) for p in shape]
            continue
        name, params = item["name"], item["params"]
        if name not in spec.transformation_specs:
            allowed = ", ".join(spec.transformation_specs)
            problems.append(Problem(f"{where}.name", f"{name!r} is not a transformation of flow spec {spec.name}; "
                                                     f"allowed: {allowed}"))
            continue
        if name in found:
            problems.append(Problem(f"{where}.name", f"{name} is listed twice"))
            continue
        errs = schema_problems(spec.transformation_specs[name], params)
        errs = [Problem(p.field, _COPY_MISSING) if name == "Copy" and p.field == "deltaColumn"
                and p.message.startswith("required") else p for p in errs]
        if errs:
            problems += [p.under(f"{where}.params") for p in errs]
            continue
        if name == "Copy":
            try:
                found[name] = CopyTransformation(DeltaColumn.from_params(params["deltaColumn"]))
            except AepError as exc:
                problems += [p.under(f"{where}.params") for p in exc.problems]
        else:
            found[name] = MappingTransformation(params["mappingId"], params.get("mappingVersion"))
    if problems:
        raise AepError(problems)
    return Transformations(found.get("Copy"), found.get("Mapping"))
