"""Journey definitions (YAML or Python), checked against the triggers and tables they use.

.. code-block:: yaml

    name: case_resolved_survey
    entry: {trigger: incident_status_updated, filter: "statuscode == 'Resolved'"}
    reentry: always            # never | always | {after: 30d} (since the customer's last entry)
    concurrent: false          # may a customer still in the journey start another instance
    goal: {trigger: order_placed, ends_journey: true}
    exit: {trigger: case_reopened}
    tiles:
      - {id: survey, kind: action, channel: survey, template: "Hello {{contact.firstname}} ..."}
      - id: satisfaction
        kind: attribute_condition          # on the entry trigger's record (or `trigger:` an awaited one)
        branches:
          - {name: unhappy, condition: "satisfaction <= 2", tiles: [{id: discount, kind: action, ...}]}
        otherwise: []
      - {id: pause, kind: wait, duration: 1d}
      - id: wait_order
        kind: wait_for_trigger
        trigger: order_placed
        timeout: 7d                        # required
        triggered: [...]                   # the trigger happened in time
        timed_out: [...]                   # it did not

Tile kinds: ``action`` (``channel`` email/sms/push/survey and a ``template``), ``create_record``
(``table`` and ``values``, text values may be templates), ``wait`` (``duration``),
``wait_for_trigger`` and ``attribute_condition``. Branches are nested tile lists; when a branch
ends, the customer continues with the tile after the branching tile. Every tile has an ``id``,
unique in the journey. Filters and conditions use :mod:`sim.domain.filters` over the trigger's
attributes; templates use :mod:`sim.domain.dynamics.templates`.

:func:`check_journey` rejects, with one line per problem naming the journey and the tile: an unknown
trigger, a draft trigger (it must be ``ready_to_use`` before a live journey uses it), a filter or
condition on a column the trigger does not carry, a wait for a trigger without a timeout, a
placeholder the tile cannot know, a record in an unknown table or column.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from sim.core.units import parse_duration
from sim.core.yamlfile import read_mapping
from sim.domain.dynamics.dataverse import DataverseError
from sim.domain.dynamics.templates import Template, TemplateError, compile_template
from sim.domain.dynamics.triggers import Catalog, DataverseTrigger, TriggerError
from sim.domain.filters import Filter, FilterError, compile_filter

Duration = Annotated[float, BeforeValidator(parse_duration)]
CHANNELS = ("email", "sms", "push", "survey")
TILE_KINDS = ("action", "create_record", "wait", "wait_for_trigger", "attribute_condition")
_TILE_LISTS = ("tiles", "triggered", "timed_out", "otherwise")


class JourneyError(ValueError):
    """A journey that cannot go live; one line per problem, naming the journey and the tile."""


def _filter(expr: str) -> str:
    try:
        compile_filter(expr)
    except FilterError as exc:
        raise ValueError(str(exc)) from None
    return expr


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerUse(_Model):
    """A trigger used as entry or exit, with an optional filter on its attributes."""

    trigger: str = Field(min_length=1)
    filter: str = ""

    @field_validator("filter")
    @classmethod
    def _filter_compiles(cls, expr: str) -> str:
        return _filter(expr)

    @cached_property
    def compiled(self) -> Filter:
        return compile_filter(self.filter)


class Goal(TriggerUse):
    """The journey goal; when ``ends_journey`` the customer leaves with outcome ``goal_reached``."""

    ends_journey: bool = True


class ReentryAfter(_Model):
    after: Duration = Field(gt=0, description="seconds since the customer's last entry")


class _Tile(_Model):
    id: str = Field(min_length=1)


class ActionTile(_Tile):
    kind: Literal["action"]
    channel: Literal["email", "sms", "push", "survey"]
    template: str

    @field_validator("template")
    @classmethod
    def _compiles(cls, text: str) -> str:
        try:
            compile_template(text)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        return text

    @cached_property
    def compiled(self) -> Template:
        return compile_template(self.template)


class CreateRecordTile(_Tile):
    kind: Literal["create_record"]
    table: str = Field(min_length=1)
    values: dict[str, Any] = Field(default_factory=dict)

    @cached_property
    def templates(self) -> dict[str, Template]:
        """Text values compiled as templates (plain text is a template without placeholders)."""
        return {k: compile_template(v) for k, v in self.values.items() if isinstance(v, str)}


class WaitTile(_Tile):
    kind: Literal["wait"]
    duration: Duration = Field(ge=0, description="seconds")


class WaitForTriggerTile(_Tile):
    kind: Literal["wait_for_trigger"]
    trigger: str = Field(min_length=1)
    filter: str = ""
    timeout: Duration | None = Field(None, description="seconds; required")
    triggered: list[Tile] = Field(default_factory=list)
    timed_out: list[Tile] = Field(default_factory=list)

    @field_validator("filter")
    @classmethod
    def _filter_compiles(cls, expr: str) -> str:
        return _filter(expr)

    @cached_property
    def compiled(self) -> Filter:
        return compile_filter(self.filter)


class Branch(_Model):
    name: str = Field(min_length=1)
    condition: str = Field(min_length=1)
    tiles: list[Tile] = Field(default_factory=list)

    @field_validator("condition")
    @classmethod
    def _filter_compiles(cls, expr: str) -> str:
        return _filter(expr)

    @cached_property
    def compiled(self) -> Filter:
        return compile_filter(self.condition)


class AttributeConditionTile(_Tile):
    kind: Literal["attribute_condition"]
    trigger: str | None = Field(None, description="whose attributes; default the entry trigger")
    branches: list[Branch] = Field(min_length=1)
    otherwise: list[Tile] = Field(default_factory=list)


Tile = Annotated[ActionTile | CreateRecordTile | WaitTile | WaitForTriggerTile | AttributeConditionTile,
                 Field(discriminator="kind")]


class Journey(_Model):
    """A trigger-based journey (see the module docstring)."""

    name: str = Field(min_length=1)
    entry: TriggerUse
    tiles: list[Tile] = Field(default_factory=list)
    goal: Goal | None = None
    exit: TriggerUse | None = None
    reentry: Literal["never", "always"] | ReentryAfter = "always"
    concurrent: bool = Field(False, description="assumed: a customer in progress does not start another instance")

    @field_validator("reentry", mode="before")
    @classmethod
    def _reentry_form(cls, raw: Any) -> Any:
        if raw in ("never", "always") or isinstance(raw, ReentryAfter):
            return raw
        if isinstance(raw, dict):
            try:
                return ReentryAfter.model_validate(raw)
            except ValidationError as err:
                problem = err.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise ValueError(f"{where}: {problem['msg'].removeprefix('Value error, ')}") from None
        raise ValueError(f"{raw!r} is not allowed; allowed: never, always, {{after: <duration>}}")

    def walk(self) -> Iterator[Tile]:
        """Every tile, depth first."""
        def visit(tiles: list) -> Iterator[Tile]:
            for tile in tiles:
                yield tile
                if isinstance(tile, WaitForTriggerTile):
                    yield from visit(tile.triggered)
                    yield from visit(tile.timed_out)
                elif isinstance(tile, AttributeConditionTile):
                    for branch in tile.branches:
                        yield from visit(branch.tiles)
                    yield from visit(tile.otherwise)
        return visit(self.tiles)


for _m in (WaitForTriggerTile, Branch, AttributeConditionTile, Journey):
    _m.model_rebuild()


# ---------------------------------------------------------------- structural errors (pydantic)

def _where(raw: Any, loc: tuple) -> tuple[str | None, str]:
    """(tile id, remaining dotted field path) for a pydantic error location in the raw mapping."""
    node, tile, rest, parent = raw, None, [], None
    for n, part in enumerate(loc, start=1):
        if n == len(loc) and isinstance(part, str) and not (isinstance(node, dict) and part in node):
            rest.append(str(part))  # a missing or unknown field
        elif isinstance(node, dict) and part in node:
            node, parent = node[part], part
            rest.append(str(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if parent in _TILE_LISTS and isinstance(node, dict):
                tile = str(node.get("id") or f"{parent}[{part}]")
                rest = []
            else:
                rest.append(str(part))
        # other parts (a union's tag) do not index the raw data
    return tile, ".".join(rest)


def _structural_errors(err: ValidationError, raw: dict, source: str) -> str:
    name = raw.get("name")
    lines = []
    for e in err.errors():
        tile, path = _where(raw, tuple(e["loc"]))
        kind, ctx = e["type"], e.get("ctx", {})
        if kind == "union_tag_invalid":
            msg = f"unknown tile kind {ctx.get('tag')!r}; kinds: {', '.join(TILE_KINDS)}"
            path = ""
        elif kind == "union_tag_not_found":
            msg = f"a tile needs a kind; kinds: {', '.join(TILE_KINDS)}"
            path = ""
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "literal_error":
            msg = f"{e['input']!r} is not allowed; allowed: {ctx.get('expected', '')}"
        else:
            msg = e["msg"].removeprefix("Value error, ")
        lines.append(_line(source, name, tile, f"{path}: {msg}" if path else msg))
    return "\n".join(lines)


def _line(source: str, journey: object, tile: str | None, message: str) -> str:
    where = f"journey {journey!r}" if journey else "journey"
    if tile:
        where += f": tile {tile!r}"
    return f"{source}: {where}: {message}"


# ---------------------------------------------------------------- semantic checks (catalog)

class _Checker:
    def __init__(self, journey: Journey, catalog: Catalog, source: str) -> None:
        self.j, self.catalog, self.source = journey, catalog, source
        self.errors: list[str] = []

    def error(self, tile: str | None, message: str) -> None:
        self.errors.append(_line(self.source, self.j.name, tile, message))

    def trigger(self, where: str | None, name: str, prefix: str = "") -> bool:
        """Known and ready: ``True``; otherwise an error line."""
        try:
            trig = self.catalog.trigger(name)
        except TriggerError as exc:
            self.error(where, f"{prefix}{exc}")
            return False
        if trig.state != "ready_to_use":
            self.error(where, f"{prefix}trigger {name!r} is draft; it must be ready_to_use before a live journey "
                              "uses it")
        return True

    def fields(self, where: str | None, what: str, flt: Filter, trigger: str, prefix: str = "") -> None:
        attrs = self.catalog.attributes(trigger)
        missing = sorted(flt.fields - set(attrs))
        if missing:
            owner = self.catalog.namespace(trigger)
            has = f"table {owner}" if owner else f"custom trigger {trigger!r}"
            self.error(where, f"{prefix}{what} {flt.expression!r} uses {', '.join(map(repr, missing))}, which "
                              f"{has} does not have; it has: {', '.join(attrs)}")

    def context(self, trigger: str) -> dict[str, tuple[str, ...]]:
        """Namespaces a trigger's event puts into the personalisation context."""
        attrs = self.catalog.attributes(trigger)
        out = {trigger: attrs}
        table = self.catalog.namespace(trigger)
        if table:
            out[table] = attrs
        return out

    def run(self) -> list[str]:
        j = self.j
        seen: set[str] = set()
        for tile in j.walk():
            if tile.id in seen:
                self.error(tile.id, "tile id used twice; ids are unique in a journey")
            seen.add(tile.id)
        entry_ok = self.trigger(None, j.entry.trigger, "entry: ")
        if entry_ok:
            self.fields(None, "filter", j.entry.compiled, j.entry.trigger, "entry: ")
        for label, use in (("goal", j.goal), ("exit", j.exit)):
            if use is not None and self.trigger(None, use.trigger, f"{label}: "):
                self.fields(None, "filter", use.compiled, use.trigger, f"{label}: ")
        if not entry_ok:
            return self.errors
        available = dict(self.context(j.entry.trigger))
        for customer in self.audience_types(j.entry.trigger):
            available.setdefault(customer, tuple(self.catalog.tables[customer].columns))
        self.tiles(j.tiles, available, {j.entry.trigger})
        return self.errors

    def audience_types(self, trigger: str) -> tuple[str, ...]:
        trig = self.catalog.trigger(trigger)
        if not isinstance(trig, DataverseTrigger):
            return (trig.audience,)
        table = self.catalog.tables[trig.table]
        if trig.audience == table.primary_key:
            return (table.name,)
        return table.columns[trig.audience].targets

    def template(self, tile: str, tpl: Template, available: dict[str, tuple[str, ...]], what: str) -> None:
        for ns, attr in tpl.placeholders:
            if ns not in available:
                self.error(tile, f"{what}: {{{{{ns}.{attr}}}}}: {ns!r} is not known here; known: "
                                 f"{', '.join(sorted(available))}")
            elif attr not in available[ns]:
                self.error(tile, f"{what}: {{{{{ns}.{attr}}}}}: {ns} has no attribute {attr!r}")

    def tiles(self, tiles: list, available: dict[str, tuple[str, ...]], triggers: set[str]) -> None:
        for tile in tiles:
            if isinstance(tile, ActionTile):
                self.template(tile.id, tile.compiled, available, "template")
            elif isinstance(tile, CreateRecordTile):
                self.create_record(tile, available)
            elif isinstance(tile, WaitForTriggerTile):
                if tile.timeout is None:
                    self.error(tile.id, "a wait_for_trigger needs a timeout (how long to wait before the "
                                        "timed_out branch)")
                elif tile.timeout <= 0:
                    self.error(tile.id, "timeout must be greater than 0")
                known = self.trigger(tile.id, tile.trigger)
                if known:
                    self.fields(tile.id, "filter", tile.compiled, tile.trigger)
                    self.tiles(tile.triggered, {**available, **self.context(tile.trigger)}, triggers | {tile.trigger})
                self.tiles(tile.timed_out, available, triggers)
            elif isinstance(tile, AttributeConditionTile):
                source = tile.trigger or self.j.entry.trigger
                if source not in triggers:
                    self.error(tile.id, f"branches on trigger {source!r}, which is neither the entry trigger nor "
                                        "awaited before this tile on its path")
                for branch in tile.branches:
                    if source in triggers:
                        self.fields(tile.id, f"branch {branch.name!r}: condition", branch.compiled, source)
                    self.tiles(branch.tiles, available, triggers)
                self.tiles(tile.otherwise, available, triggers)

    def create_record(self, tile: CreateRecordTile, available: dict[str, tuple[str, ...]]) -> None:
        table = self.catalog.tables.get(tile.table)
        if table is None:
            self.error(tile.id, f"unknown table {tile.table!r}; tables: {', '.join(sorted(self.catalog.tables))}")
            return
        for column, value in tile.values.items():
            if column not in table.columns:
                self.error(tile.id, f"table {table.name} has no column {column!r}; columns: "
                                    f"{', '.join(table.columns)}")
                continue
            template = tile.templates.get(column)
            if template is not None and template.placeholders:
                if table.columns[column].type not in ("text", "choice", "lookup", "id"):
                    self.error(tile.id, f"values.{column}: a template gives text; column {column!r} is "
                                        f"{table.columns[column].describe()}")
                self.template(tile.id, template, available, f"values.{column}")
                continue
            try:
                table.coerce(column, value)
            except DataverseError as exc:
                self.error(tile.id, f"values.{column}: {exc}")


def check_journey(journey: Journey, catalog: Catalog, source: str = "journey") -> Journey:
    """``journey`` if it can go live with ``catalog``'s triggers and tables; else :class:`JourneyError`."""
    errors = _Checker(journey, catalog, source).run()
    if errors:
        raise JourneyError("\n".join(errors))
    return journey


WHAT = "a journey is a YAML mapping with name, entry, tiles, goal, exit, reentry"


def parse_journey(raw: object, catalog: Catalog, source: str = "journey") -> Journey:
    """A validated, checked journey from a mapping; every problem is one line naming journey and tile."""
    if not isinstance(raw, dict):
        raise JourneyError(f"{source}: {WHAT}")
    try:
        journey = Journey.model_validate(raw)
    except ValidationError as err:
        raise JourneyError(_structural_errors(err, raw, source)) from None
    return check_journey(journey, catalog, source)


def load_journey(path: str | Path, catalog: Catalog) -> Journey:
    return parse_journey(read_mapping(path, JourneyError, WHAT), catalog, str(path))

