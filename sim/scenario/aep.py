"""The scenario model of seeds 002–003 (``system: aep_dataflows``): Adobe Experience Platform Flow
Service dataflows from a marketing-automation source (HubSpot-like contacts) or Salesforce
Marketing Cloud (V2) data extensions into an XDM dataset, Real-Time Customer Profile, segments and
an activation (e-mail destination), optionally with streaming web events feeding the same profile.

Sections:

* ``bodies``: the Flow Service objects, exactly the JSON bodies of the API calls (``POST
  /sourceConnections``, ``/targetConnections``, ``/conversion/mappingSets``, ``/flows``, schemas,
  datasets, base connections). Each entry is either a **file path** (a JSON file as ``sim aep
  validate`` reads it: one body, a list, an object keyed by endpoint, or ``{endpoint, id, body}``
  envelopes), relative to the **current directory** of the command, or the same JSON written
  **inline** in the YAML. They are validated as the platform would (:func:`sim.domain.aep.api.
  validate_bodies`): a broken body is a scenario error, one line per problem naming the object and
  the field. ``source_schemas`` adds ad-hoc (raw source) schemas the sandbox should already hold.
* ``schedule``: overrides of every flow's ``scheduleParams`` (frequency, interval, backfill),
  applied to the bodies *before* validation (so ``interval: 10`` with ``minute`` is refused as the
  platform refuses it); what variants and sweeps change.
* ``sources``: one per dataflow: its change model (rows created and updated over time, stamped in
  the Copy delta column), the values of its columns, and its API (``api``, on top of the
  scenario-wide ``api``).
* ``scheduler``: the overlap rule (``on_overlap``) and the run's own durations.
* ``profile``, ``segments``, ``activation``, ``web_events``.

Every number has its unit, a default and the default's source: (doc), (sec) or (assumed); see
``shared/docs/domain.md`` "Numbers".
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from sim.domain.aep.xdm import xdm_condition, xdm_name  # noqa: F401
from sim.scenario.common import Duration, Latency, Model, PositiveDuration, ScenarioBase, Share, _iso_text, latency

XDM_FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "date-time")
Weight = Annotated[float, Field(ge=0, le=1e6)]
Count = Annotated[int, Field(ge=0, le=100_000_000)]


class ApiSettings(Model):
    """A source API client. Every field left out takes the connector's published value (HubSpot or
    Marketing Cloud V2: see :mod:`sim.domain.aep.sources`); a source's own ``api`` overrides the
    scenario-wide one field by field."""

    tier: Literal["starter", "professional", "enterprise"] | None = Field(
        None, description="HubSpot tier: burst 100 (starter) or 190 per 10 s, 250,000 / 650,000 / 1,000,000 "
                          "requests per day (doc); default starter")
    page_size: int | None = Field(None, ge=1, le=2500, description="rows per page call (doc: HubSpot at most 100, "
                                                                   "Marketing Cloud at most 2,500)")
    latency: Latency | None = Field(None, description="duration of one page call (assumed: median 300 ms, "
                                                      "p95 1 s)")
    token_latency: Latency | None = Field(None, description="duration of a token request (assumed: 200 ms / 600 ms)")
    token_lifetime: PositiveDuration | None = Field(
        None, description="access-token lifetime (doc: Marketing Cloud expires_in 1,080 s for a 20-minute "
                          "token, HubSpot OAuth 30 min)")
    static_token: bool | None = Field(None, description="a token that never expires (a HubSpot private app)")
    refresh: Literal["on_401", "proactive"] | None = Field(
        None, description="on_401: the expired call gets 401, then a new token (default); proactive: ask before")
    daily_requests: int | None = Field(None, ge=1, le=1_000_000_000, description="daily request quota (UTC days)")
    burst_requests: int | None = Field(None, ge=1, le=1_000_000_000, description="requests per burst window")
    burst_window: PositiveDuration | None = Field(None, description="burst window (doc: HubSpot 10 s)")
    other_requests_per_day: float | None = Field(
        None, ge=0, le=1e10, description="requests of other apps of the same account against the shared daily "
                                         "quota, spread evenly (assumed: 0)")

    def merged(self, over: ApiSettings | None) -> ApiSettings:
        if over is None:
            return self
        mine = self.model_dump()
        mine.update({k: v for k, v in over.model_dump().items() if v is not None})
        return ApiSettings.model_validate(mine)


_COLUMN_KINDS = ("row_id", "email", "key", "name", "choice", "uniform", "constant", "bad")


def _column_shorthand(value: Any) -> Any:
    """``email`` -> {kind: email}; ``{choice: {a: 1}}`` -> {kind: choice, values: {a: 1}};
    ``{uniform: [0, 9]}`` -> {kind: uniform, low: 0, high: 9}; ``{key: SK}`` -> {kind: key, prefix: SK}."""
    if isinstance(value, str):
        return {"kind": value}
    if isinstance(value, dict) and len(value) == 1 and "kind" not in value:
        (k, v), = value.items()
        if k == "choice":
            return {"kind": "choice", "values": v}
        if k == "uniform" and isinstance(v, (list, tuple)) and len(v) == 2:
            return {"kind": "uniform", "low": v[0], "high": v[1]}
        if k == "key":
            return {"kind": "key", "prefix": v}
        if k == "constant":
            return {"kind": "constant", "value": v}
    return value


class Column(Model):
    """How the values of one source column are made, per row version: ``row_id`` (the row's number),
    ``email`` (``c<row>@<domain>``, the same person in every source), ``key`` (``<prefix><row>``),
    ``name`` (a first name), ``choice`` (one of ``values`` by share, drawn per version), ``uniform``
    (between ``low`` and ``high``; whole numbers for an integer column), ``constant``."""

    kind: Literal["row_id", "email", "key", "name", "choice", "uniform", "constant"]
    prefix: str = Field("", max_length=100)
    domain: str = Field("example.com", max_length=200)
    values: dict[str, Weight] | None = Field(None, max_length=1000)
    low: float = Field(0.0, ge=-1e12, le=1e12)
    high: float = Field(1.0, ge=-1e12, le=1e12)
    value: str | Annotated[float, Field(ge=-1e15, le=1e15)] | None = Field(None, description="constant: the value")

    @model_validator(mode="after")
    def _params(self) -> Column:
        if self.kind == "choice" and (not self.values or sum(self.values.values()) <= 0):
            raise ValueError("a choice column needs values with shares, e.g. {choice: {lead: 0.6, customer: 0.4}}")
        if self.kind == "uniform" and self.high < self.low:
            raise ValueError(f"uniform: high {self.high} is below low {self.low}")
        return self


ColumnSpec = Annotated[Column, BeforeValidator(_column_shorthand)]


class Changes(Model):
    """Rows changing in the source system: a Poisson stream of changes, each creating a row or
    updating an existing one (uniformly chosen), stamped in the flow's delta column."""

    per_hour: float = Field(1000.0, ge=0, le=1e7, description="changes per hour (assumed)")
    daily_profile: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(
        None, min_length=24, max_length=24, description="24 hourly multipliers of per_hour (UTC); none = flat")
    update_share: Share = Field(0.7, description="share of changes that update an existing row; the rest "
                                                 "create a row (assumed)")
    bad_value_share: Share = Field(0.0, description="share of versions written with a value that does not fit "
                                                    "its column's type: the row fails mapping (assumed)")
    missing_identity_share: Share = Field(0.0, description="share of versions whose identity columns are blank: "
                                                           "the profile refuses the record (assumed)")


class Source(Model):
    """One dataflow's source: which flow (in ``bodies``), its rows and how they change, its API."""

    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    flow: str = Field(..., min_length=1, max_length=300, description="the dataflow's id or name in bodies")
    rows: Count = Field(20_000, description="rows in the source at the start (assumed)")
    history: Literal["loaded", "backfill"] = Field(
        "loaded", description="loaded: the flow ran before the start, existing rows are already in the profile; "
                              "backfill: the flow's first run in the horizon copies them (with backfill true)")
    history_span: PositiveDuration = Field(30 * 86400.0, description="existing rows were last modified within "
                                                                     "this span before the start")
    changes: Changes = Field(default_factory=Changes)
    columns: dict[str, ColumnSpec] = Field(default_factory=dict, max_length=1000,
                                           description="column -> how its values are made; the delta column is "
                                                       "filled from the change time; others stay empty")
    api: ApiSettings | None = None


class ScheduleOverride(Model):
    """Applied to every flow's ``scheduleParams`` before validation (left out: the body's value)."""

    frequency: str | None = Field(None, max_length=20, description="once, minute, hour, day, week")
    interval: int | None = Field(None, ge=-1_000_000, le=1_000_000, description="frequency units between runs "
                                                                              "(doc: >= 15 for minute)")
    backfill: bool | None = None
    start_time: int | None = Field(None, ge=0, le=7_258_118_400, description="startTime, epoch seconds")


class Scheduler(Model):
    """The dataflow scheduler and a run's own durations."""

    on_overlap: Literal["wait", "skip"] = Field(
        "wait", description="a run still going when the next is due: wait (the due run queues and starts when the "
                            "running one finishes) or skip (the due run is skipped: dropped skipped_overlap)")
    startup: Latency = Field(default_factory=lambda: latency("30s", "2m"),
                             description="scheduled start -> first API call (assumed: unpublished)")
    write: Latency = Field(default_factory=lambda: latency("1m", "3m"),
                           description="last page -> batch written to the dataset (assumed: unpublished)")
    write_per_row: Duration = Field(0.001, ge=0, le=3600, description="extra write time per row (assumed)")


class Profile(Model):
    """Real-Time Customer Profile: merge policy, and the time from dataset to profile."""

    merge_policy: Literal["timestamp_ordered", "dataset_precedence"] = "timestamp_ordered"
    dataset_order: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=100, description="dataset_precedence: dataset ids or names, first wins")
    latency: Latency = Field(default_factory=lambda: latency("3m", "12m"),
                             description="dataset -> profile update (doc: < 15 min at P95 for streaming B2C; "
                                         "assumed 3 min median and 12 min P95, inside it: sim calibrate checks)")


class EventCondition(Model):
    page: str = Field(..., min_length=1, max_length=200)
    within: PositiveDuration = Field(86400.0, description="the web event happened at most this long ago "
                                                          "(doc: streaming segmentation windows <= 24 h)")


class Segment(Model):
    """A segment over the merged profile: ``condition`` on XDM paths (``loyalty.tier == 'lapsed'``;
    the filter language of insights: ==, !=, <, <=, >, >=, in, and, or, not), and optionally a web
    event of ``event.page`` within ``event.within``. ``streaming``: evaluated at every profile
    update; ``batch``: once a day at ``batch_time`` (after midnight UTC), published after
    ``batch_duration``. A profile entering it is activated once per entry."""

    name: str = Field(..., min_length=1, max_length=100)
    condition: str = Field("", max_length=2000)
    event: EventCondition | None = None
    evaluation: Literal["batch", "streaming"] = "batch"
    batch_time: Duration = Field(0.0, ge=0, lt=86400, description="daily batch evaluation time after midnight UTC "
                                                                   "(assumed)")
    batch_duration: Latency = Field(default_factory=lambda: latency("30m", "1h"),
                                    description="batch evaluation start -> segment published (assumed)")
    activate: bool = Field(True, description="send the entering profiles to the activation")

    @model_validator(mode="after")
    def _condition(self) -> Segment:
        from sim.domain.filters import FilterError, compile_filter

        try:
            compile_filter(xdm_condition(self.condition))
        except FilterError as exc:
            raise ValueError(f"condition: {exc}") from None
        return self


class Activation(Model):
    """The destination profiles are sent to when they enter a segment (an e-mail destination)."""

    destination: str = Field("email", max_length=100)
    latency: Latency = Field(default_factory=lambda: latency("2m", "10m"),
                             description="segment entry -> e-mail sent (assumed)")


class WebEvents(Model):
    """Streaming web events (ExperienceEvents) into the same profile, identified by e-mail for known
    contacts (``c<row>@<domain>``, rows of the first source) or by an ECID for anonymous visitors."""

    enabled: bool = False
    per_hour: float = Field(500.0, ge=0, le=1e7, description="events per hour (assumed)")
    daily_profile: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(None, min_length=24, max_length=24)
    known_share: Share = Field(0.5, description="share of events from known contacts (assumed)")
    pages: dict[str, Weight] = Field(default_factory=lambda: {"pricing": 0.1, "home": 0.6, "blog": 0.3},
                                     max_length=1000)
    domain: str = Field("example.com", max_length=200)
    dataset: str = Field("web events", max_length=300)
    latency: Latency = Field(default_factory=lambda: latency("1m", "15m"),
                             description="event -> profile (doc: < 15 min at P95 for streaming B2C)")


class SourceSchema(Model):
    title: str = Field("", max_length=300)
    fields: dict[str, Literal["string", "integer", "number", "boolean", "date", "date-time"]] = Field(
        ..., min_length=1, max_length=1000)


def _entry_doc(entry: Any, n: int) -> tuple[Any, str | None]:
    """(document, problem) of one ``bodies`` entry (a path relative to the current directory, or JSON)."""
    from sim.domain.aep.api import read_json

    if isinstance(entry, str):
        doc, problem = read_json(Path(entry))
        return doc, (f"bodies[{n}]: {problem}" if problem else None)
    return entry, None


def _patch_schedules(doc: Any, over: ScheduleOverride) -> Any:
    """``doc`` with every flow body's ``scheduleParams`` overridden."""
    changes = {k: v for k, v in (("frequency", over.frequency), ("interval", over.interval),
                                 ("backfill", over.backfill), ("startTime", over.start_time)) if v is not None}
    if not changes:
        return doc

    def walk(obj: Any) -> Any:
        if isinstance(obj, list):
            return [walk(x) for x in obj]
        if isinstance(obj, dict):
            if "flowSpec" in obj and isinstance(obj.get("scheduleParams"), dict):
                out = dict(obj)
                params = dict(obj["scheduleParams"])
                params.update(changes)
                if changes.get("frequency") == "once":
                    params.pop("interval", None)
                out["scheduleParams"] = params
                return out
            return {k: walk(v) for k, v in obj.items()}
        return obj

    return walk(copy.deepcopy(doc))


class AepScenario(ScenarioBase):
    """A scenario of AEP dataflows (see the module docstring)."""

    system: Literal["aep_dataflows"] = "aep_dataflows"
    start: Annotated[str, BeforeValidator(_iso_text)] = Field(
        "2026-01-01T00:00:00Z", description="wall-clock time of t = 0 (the example bodies' startTime)")
    bodies: list[Any] = Field(..., min_length=1, max_length=1000,
                              description="Flow Service JSON bodies: file paths (relative to the current "
                                          "directory) or inline JSON")
    source_schemas: dict[str, SourceSchema] = Field(default_factory=dict, max_length=1000,
                                                    description="ad-hoc schema id -> raw fields, added to the "
                                                                "sandbox before the bodies")
    strict: bool = Field(False, description="refuse numbers written as strings (\"interval\": \"30\")")
    schedule: ScheduleOverride = Field(default_factory=ScheduleOverride)
    api: ApiSettings = Field(default_factory=ApiSettings)
    sources: list[Source] = Field(..., min_length=1, max_length=100)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    profile: Profile = Field(default_factory=Profile)
    segments: list[Segment] = Field(default_factory=list, max_length=100)
    activation: Activation = Field(default_factory=Activation)
    web_events: WebEvents = Field(default_factory=WebEvents)

    _sandbox: Any = PrivateAttr(None)
    _documents: list = PrivateAttr(default_factory=list)
    _notes: list = PrivateAttr(default_factory=list)

    def fault_targets(self) -> set[str]:
        return set()

    @model_validator(mode="after")
    def _bodies(self) -> AepScenario:
        from sim.domain.aep.api import Sandbox, validate_bodies
        from sim.domain.aep.problems import AepError
        from sim.domain.aep.xdm import AdHocSchema

        docs, problems = [], []
        for n, entry in enumerate(self.bodies):
            doc, problem = _entry_doc(entry, n)
            if problem:
                problems.append(problem)
            else:
                docs.append((n, _patch_schedules(doc, self.schedule)))
        sandbox = Sandbox.example(strict=self.strict)
        for sid, spec in self.source_schemas.items():
            try:
                sandbox.schemas[sid] = AdHocSchema(sid, spec.title, dict(spec.fields))
            except AepError as exc:
                problems += [f"source_schemas.{sid}: {p}" for p in exc.problems]
        if not problems:
            result = validate_bodies([d for _, d in docs], sandbox=sandbox, strict=self.strict)
            labels = {f"<input {i}>": (self.bodies[n] if isinstance(self.bodies[n], str) else f"bodies[{n}]")
                      for i, (n, _) in enumerate(docs)}

            def relabel(line: str) -> str:
                for old, new in labels.items():
                    if line.startswith(old):
                        return new + line[len(old):]
                return line

            problems += [relabel(p) for p in result.problems]
            self._notes = [relabel(n) for n in result.notes]
        if problems:
            raise ValueError(f"{len(problems)} problem(s) in the Flow Service bodies, one per line "
                             "(object: field: what is wrong):\n  " + "\n  ".join(problems))
        self._sandbox = sandbox
        self._documents = [d for _, d in docs]
        self._check_sources()
        return self

    def _check_sources(self) -> None:
        flows = self.sandbox.flows
        names = [s.name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"sources: name {dup[0]!r} is used twice")
        used = []
        for i, src in enumerate(self.sources):
            flow = self.flow_of(src)
            if flow is None:
                known = ", ".join(f"{f.id} ({f.name})" for f in flows.values()) or "none"
                raise ValueError(f"sources[{i}].flow: {src.flow!r} is not a dataflow of bodies; dataflows: {known}")
            if flow.id in used:
                raise ValueError(f"sources[{i}].flow: dataflow {flow.id!r} already has a source")
            used.append(flow.id)
            fields = flow.source.schema.fields
            for col in src.columns:
                if col not in fields:
                    raise ValueError(f"sources[{i}].columns.{col}: not a field of the source's schema "
                                     f"{flow.source.schema.title or flow.source.schema.id!r}; fields: "
                                     f"{', '.join(fields)}")
            mapped = {m.source_attribute for m in flow.mapping.mappings}
            if src.changes.bad_value_share > 0 and not any(c in mapped and fields[c] != "string" for c in src.columns):
                raise ValueError(f"sources[{i}].changes.bad_value_share: needs a mapped column that is not a string "
                                 f"among columns (a bad value is a text in a number or date column)")
            from sim.domain.aep.connections import spec_problems

            problems = spec_problems(flow.source.connection_spec_id)
            if problems:
                raise ValueError(f"sources[{i}].flow: {problems[0]}")
        datasets = {ds for f in flows.values() for ds in (f.target.dataset.id, f.target.dataset.name)}
        datasets.add(self.web_events.dataset)
        for i, ds in enumerate(self.profile.dataset_order):
            if ds not in datasets:
                raise ValueError(f"profile.dataset_order[{i}]: {ds!r} is not a dataset of the flows (or the web "
                                 f"events' dataset); known: {', '.join(sorted(datasets))}")
        if self.profile.merge_policy == "dataset_precedence" and not self.profile.dataset_order:
            raise ValueError("profile.dataset_order: dataset_precedence needs the datasets in order of precedence")

    # -- what the system reads -------------------------------------------------------------------
    @property
    def sandbox(self):
        """The validated Flow Service objects (:class:`sim.domain.aep.api.Sandbox`)."""
        return self._sandbox

    @property
    def notes(self) -> list[str]:
        """What validation accepted but said (a number written as a string, a flow without Copy)."""
        return list(self._notes)

    def flow_of(self, source: Source):
        flows = self.sandbox.flows
        if source.flow in flows:
            return flows[source.flow]
        named = [f for f in flows.values() if f.name == source.flow]
        return named[0] if len(named) == 1 else None

    def digest(self) -> str:
        """SHA-256 of the resolved scenario and of the bodies' contents (files included)."""
        text = json.dumps({"scenario": self.model_dump(mode="json"), "bodies": self._documents}, sort_keys=True,
                          separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()
