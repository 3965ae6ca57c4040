"""The dataflow (``POST /flows``): source connection + target connection + flow spec +
transformations + schedule, and what one run of it does to a batch of source rows.

Checked when created (:meth:`Dataflow.from_body`), beyond each part's own rules:

* one source and one target connection, both known (``CRMToAEP`` moves one source object into
  one dataset);
* a **Mapping** transformation is required (the source is raw, ad-hoc fields; without a mapping
  nothing lands in the target schema); its ``mappingId`` must be a known mapping set, its
  ``mappingVersion`` (a string) the set's version, its ``xdmSchema`` the target connection's
  schema, and its source attributes and types must fit the source connection's ad-hoc schema;
* the Copy ``deltaColumn.name`` must be a field of the source's ad-hoc schema;
* ``scheduleParams`` against the flow spec's schedule spec (:mod:`sim.domain.aep.schedules`).

A run (:meth:`Dataflow.run`): select the rows (:class:`~sim.domain.aep.delta.DeltaCopy`:
incremental with a Copy delta column, **full reload** without one — see that module), then map
them (:meth:`~sim.domain.aep.mappings.MappingSet.apply`). The caller (an actor) owns the time:
it reads the rows through a source API model (:mod:`sim.domain.aep.sources`), calls :meth:`run`
with the run's start, writes the records to the dataset and the profile, and commits the
returned high-water mark only when the run succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.domain.aep.connections import SourceConnection, TargetConnection
from sim.domain.aep.delta import DeltaColumn, DeltaCopy, Selection
from sim.domain.aep.flowspec import FLOW_SPECS, FlowSpec, parse_transformations
from sim.domain.aep.mappings import MappedBatch, MappingSet
from sim.domain.aep.problems import AepError, Problem, schema_problems
from sim.domain.aep.schedules import PeriodicSchedule

_ID_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1}
FLOW_BODY: dict = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "flowSpec": {"type": "object", "properties": {"id": {"type": "string"}, "version": {"type": "string"}},
                     "required": ["id"]},
        "sourceConnectionIds": _ID_LIST,
        "targetConnectionIds": _ID_LIST,
        "transformations": {"type": "array"},
        "scheduleParams": {"type": "object"},
    },
    "required": ["name", "flowSpec", "sourceConnectionIds", "targetConnectionIds", "transformations",
                 "scheduleParams"],
}

_DELTA_TYPES = ("string", "date-time", "date", "integer", "number")


@dataclass
class RunOutput:
    """One run: the selection (rows, new mark, window), the mapped batch."""

    selection: Selection
    batch: MappedBatch

    @property
    def high_water_mark(self) -> float | None:
        return self.selection.high_water_mark


@dataclass(frozen=True)
class Dataflow:
    id: str
    name: str
    flow_spec: FlowSpec
    source: SourceConnection
    target: TargetConnection
    mapping: MappingSet
    schedule: PeriodicSchedule
    delta_column: DeltaColumn | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def load_mode(self) -> str:
        """``incremental`` (Copy with a delta column) or ``full`` (reload every row each run)."""
        return self.copier.mode

    @property
    def copier(self) -> DeltaCopy:
        return DeltaCopy(self.delta_column, self.schedule.backfill, self.schedule.start_time)

    def run_times(self, until_epoch: float):
        return self.schedule.run_times(until_epoch)

    def run(self, rows: Sequence[Mapping], high_water_mark: float | None, run_start: float) -> RunOutput:
        """Select and map the ``rows`` visible to a run starting at ``run_start`` (epoch s)."""
        copier = self.copier
        selection = copier.select(rows, high_water_mark, run_start)
        if self.delta_column is not None:
            stamps = list(self.delta_column.values([r.get(self.delta_column.name) for r in selection.rows]))
        else:
            stamps = None
        return RunOutput(selection, self.mapping.apply(selection.rows, stamps))

    @classmethod
    def from_body(cls, body: Any, id: str, source_connections: Mapping[str, SourceConnection],
                  target_connections: Mapping[str, TargetConnection], mapping_sets: Mapping[str, MappingSet],
                  flow_specs: Mapping[str, FlowSpec] = FLOW_SPECS, strict: bool = False) -> Dataflow:
        """Validate a ``POST /flows`` body; :class:`AepError` lists every problem (module docstring).
        ``strict`` refuses numbers written as strings in ``scheduleParams``."""
        problems = schema_problems(FLOW_BODY, body)
        if problems:
            raise AepError(problems)
        notes: list[str] = []
        spec = flow_specs.get(body["flowSpec"]["id"])
        if spec is None:
            known = ", ".join(f"{s.id} ({s.name})" for s in flow_specs.values())
            problems.append(Problem("flowSpec.id", f"unknown flow spec {body['flowSpec']['id']!r}; known: {known}"))
        src_id, tgt_id = body["sourceConnectionIds"][0], body["targetConnectionIds"][0]
        source = source_connections.get(src_id)
        target = target_connections.get(tgt_id)
        if source is None:
            problems.append(Problem("sourceConnectionIds[0]", f"unknown source connection {src_id!r}"))
        if target is None:
            problems.append(Problem("targetConnectionIds[0]", f"unknown target connection {tgt_id!r}"))
        transformations = None
        if spec is not None:
            try:
                transformations = parse_transformations(body["transformations"], spec)
            except AepError as exc:
                problems += exc.problems
        mapping = None
        if transformations is not None:
            idx = {t.get("name"): i for i, t in enumerate(body["transformations"]) if isinstance(t, dict)}
            if transformations.mapping is None:
                problems.append(Problem("transformations", "a Mapping transformation (mappingId, mappingVersion) is "
                                                           "required: the source's raw fields must be mapped to the "
                                                           "target schema"))
            else:
                where = f"transformations[{idx['Mapping']}].params"
                mt = transformations.mapping
                mapping = mapping_sets.get(mt.mapping_id)
                if mapping is None:
                    problems.append(Problem(f"{where}.mappingId", f"unknown mapping set {mt.mapping_id!r}"))
                else:
                    if mt.mapping_version is not None and mt.mapping_version != str(mapping.version):
                        problems.append(Problem(f"{where}.mappingVersion",
                                                f"{mt.mapping_version!r}: mapping set {mapping.id!r} is at version "
                                                f"{mapping.version}"))
                    if target is not None and mapping.target.id != target.schema.id:
                        problems.append(Problem(f"{where}.mappingId", f"mapping set {mapping.id!r} maps to "
                                                                      f"{mapping.target.id!r}, not to the target "
                                                                      f"connection's schema {target.schema.id!r}"))
                    elif source is not None:
                        try:
                            mapping = mapping.with_source(source.schema)
                        except AepError as exc:
                            problems += [Problem(f"{where}.mappingId", f"mapping set {mapping.id!r}, {p.field}: "
                                                                       f"{p.message}") for p in exc.problems]
            if transformations.copy is not None and source is not None:
                col = transformations.copy.delta_column
                typ = source.schema.fields.get(col.name)
                where = f"transformations[{idx['Copy']}].params.deltaColumn.name"
                if typ is None:
                    problems.append(Problem(where, f"{col.name!r} is not a field of source schema "
                                                   f"{source.schema.title or source.schema.id!r}"))
                elif typ not in _DELTA_TYPES:
                    problems.append(Problem(where, f"{col.name!r} is {typ}; a delta column holds a timestamp"))
        schedule = None
        try:
            schedule = PeriodicSchedule.from_params(body["scheduleParams"], strict=strict)
        except AepError as exc:
            problems += [p.under("scheduleParams") for p in exc.problems]
        if problems:
            raise AepError(problems)
        notes += [f"scheduleParams.{n}" for n in schedule.notes]  # type: ignore[union-attr]
        if transformations.copy is None:  # type: ignore[union-attr]
            notes.append("transformations: no Copy with a delta column: every run is a full reload of the source")
        return cls(id, body["name"], spec, source, target, mapping, schedule,  # type: ignore[arg-type]
                   transformations.copy.delta_column if transformations.copy else None,  # type: ignore[union-attr]
                   tuple(notes))
