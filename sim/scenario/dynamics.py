"""The scenario model of seed 001 (``system: dynamics_journeys``): Dynamics 365 Customer Insights –
Journeys acting on Dataverse record changes.

Sections: ``customers`` (the contacts and accounts of the org), ``definitions`` (custom tables,
Dataverse triggers and journeys, as in :mod:`sim.domain.dynamics.definitions`), ``sources`` (who
changes Dataverse records: agents in apps, Power Apps inserts, SDK/API integrations and bulk jobs),
``dataverse`` (service protection of the SDK/API path), ``trigger_processing`` (the published
2,500 triggers/min and its latency), ``channels`` (email, SMS, push, survey) and ``responses``
(what customers do after a message: the records that reach journey goals). Every parameter has
its unit, its default and the default's source, (doc) or (assumed) (see :mod:`sim.scenario.common`).

A **value** of a column (in ``values``, ``set``) is a scalar (``Resolved``, ``3``, ``null``) or a
distribution: ``{choice: {Resolved: 0.9, Cancelled: 0.1}}`` (labels with shares, normalised),
``{uniform: [20, 200]}`` (a number in the range; whole numbers for an int column) or
``{generate: firstname}`` (firstname, lastname, email, mobile, company, code); each mapping form
takes ``blank: share`` (that share of records get null).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from sim.scenario.common import Duration, Latency, Model, PositiveDuration, ScenarioBase, Share, latency

CHANNELS = ("email", "sms", "push", "survey")
GENERATORS = ("firstname", "lastname", "email", "mobile", "company", "code")
Scalar = bool | int | float | str | None


# ------------------------------------------------------------------------------ column values

class Choice(Model):
    """A label drawn with the given shares (normalised to 1)."""

    choice: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(min_length=1, description="label -> share")
    blank: Share = Field(0.0, description="share of records given null")

    @field_validator("choice", mode="before")
    @classmethod
    def _labels_as_text(cls, raw: Any) -> Any:
        # YAML reads `1: 0.2` with an int key; labels are kept as text and coerced per column
        if isinstance(raw, dict):
            return {str(k) if not isinstance(k, bool) else str(k).lower(): v for k, v in raw.items()}
        return raw

    @model_validator(mode="after")
    def _some_weight(self) -> Choice:
        if sum(self.choice.values()) <= 0:
            raise ValueError("choice: the shares must not all be 0")
        return self


class Uniform(Model):
    """A number drawn uniformly in ``[low, high]`` (whole numbers for an int column)."""

    uniform: tuple[float, float]
    blank: Share = Field(0.0, description="share of records given null")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.uniform[1] < self.uniform[0]:
            raise ValueError("uniform: [low, high] with low <= high")
        return self


class Generate(Model):
    """A generated text: a first or last name, an e-mail, a mobile number, a company or a code."""

    generate: Literal["firstname", "lastname", "email", "mobile", "company", "code"]
    blank: Share = Field(0.0, description="share of records given null")


Value = Choice | Uniform | Generate | Scalar


# ------------------------------------------------------------------------------ sections

class Customers(Model):
    """The customers of the org: contacts (the audience of journeys) and their accounts. Names,
    e-mail addresses and mobile numbers are drawn from the ``customers`` random stream."""

    contacts: int = Field(5000, ge=1, le=10_000_000, description="contacts in Dataverse at t = 0 (assumed)")
    accounts: int = Field(500, ge=1, le=10_000_000, description="accounts the contacts belong to (assumed)")
    email_share: Share = Field(0.97, description="share of contacts with an e-mail address; the others "
                                                 "cannot get e-mail or surveys (assumed)")
    mobile_share: Share = Field(0.8, description="share of contacts with a mobile number; the others "
                                                 "cannot get SMS (assumed)")
    firstname_blank: Share = Field(0.01, description="share of contacts without a first name: a template "
                                                     "with {{contact.firstname}} fails for them (assumed)")


class Step(Model):
    """A later change of a source's record: ``after`` the previous change (or, with ``agents``, the
    agent's work time once an agent takes it), with probability ``prob`` (a record that does not
    take a step takes none of the later ones), the columns in ``set`` change."""

    after: Latency = Field(description="delay since the previous change, or the agent's work time (assumed)")
    prob: Share = Field(1.0, description="share of records taking this step (assumed)")
    agents: int | None = Field(None, ge=1, description="the step is agent work in an app, first come first "
                                                       "served on this many agents; none: a plain delay")
    set: dict[str, Value] = Field(min_length=1, description="column -> value")


class Bulk(Model):
    """An SDK/API job that updates every backlog record of the source, starting at ``at``."""

    at: Duration = Field(description="start of the job (seconds from t = 0)")
    set: dict[str, Value] = Field(min_length=1, description="column -> value")
    users: int = Field(1, ge=1, le=1000, description="application users the job spreads its requests over (assumed)")
    requests_per_s: float = Field(20.0, gt=0, le=1e6, description="requests per second per user the job sends, before "
                                                          "throttling (assumed)")


class Source(Model):
    """One source of Dataverse changes (see the module docstring for values)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    via: Literal["app", "power_apps", "sdk"] = Field(
        "app", description="app: people in a Dynamics 365 app; power_apps: rows added in Power Apps; sdk: an "
                           "integration through the Dataverse SDK/API, throttled per user (doc)")
    table: str = Field(min_length=1, description="the Dataverse table whose records it creates")
    per_hour: float = Field(0.0, ge=0, le=1e8, description="records created per hour, Poisson (assumed)")
    daily_profile: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(
        None, min_length=24, max_length=24,
        description="24 hourly multipliers of per_hour (hour 0 = midnight UTC); none = flat")
    values: dict[str, Value] = Field(default_factory=dict, description="column -> value on create")
    customer: str | None = Field(None, description="the lookup column given a random existing contact (e.g. "
                                                   "customerid); none: the record is itself the customer (a lead)")
    steps: list[Step] = Field(default_factory=list)
    users: int = Field(1, ge=1, le=1000, description="sdk: application users the requests are spread over (assumed)")
    backlog: int = Field(0, ge=0, le=50_000_000, description="records existing at t = 0, created silently (no trigger)")
    bulk: Bulk | None = Field(None, description="an SDK job updating the backlog records")


class ServiceProtection(Model):
    """Dataverse service protection limits on the SDK/API path, per user. Over a limit the request
    gets 429 Too Many Requests with Retry-After; the client waits that long and sends it again.
    Agents in apps and Power Apps inserts are not throttled here."""

    requests_per_window: int = Field(6000, ge=1, le=1_000_000_000,
                                     description="requests per user per sliding window (doc: 6,000)")
    window: PositiveDuration = Field(300.0, description="the sliding window (doc: 5 minutes)")
    max_concurrent: int = Field(52, ge=1, le=1_000_000, description="concurrent requests per user (doc: 52)")
    request_time: Latency = Field(default_factory=lambda: latency(0.1, 0.4),
                                  description="time one request takes (assumed)")


class Dataverse(Model):
    service_protection: ServiceProtection = Field(default_factory=ServiceProtection)


class TriggerProcessing(Model):
    """Trigger processing of Customer Insights – Journeys: triggers wait in a backlog and are taken
    in cycles, up to the capacity; then reach the journey's first step after ``latency``."""

    capacity_per_min: float = Field(2500.0, gt=0, le=1e9,
                                    description="triggers processed per minute (doc: up to 2,500)")
    cycle: PositiveDuration = Field(10.0, description="triggers are taken from the backlog at cycle boundaries "
                                                      "(assumed)")
    latency: Latency = Field(default_factory=lambda: latency(40.0, 180.0),
                             description="taken to the journey's first step (assumed, so that the default sits "
                                         "inside the doc's P90 < 3 min, P95 < 5 min)")
    max_backlog_age: PositiveDuration = Field(900.0, description="a trigger that waited longer than this for "
                                                                 "capacity is dropped, trigger_overload (assumed)")


def _channel(name: str, doc: str, rate: float, burst: int, median: float, p95: float, bounce: float,
             error: float) -> type[Model]:
    """A channel's model, with that channel's defaults (every default assumed)."""
    from pydantic import create_model

    return create_model(
        name, __base__=Model, __doc__=doc,
        rate_limit_per_s=(float, Field(rate, gt=0, description="messages per second (assumed)")),
        burst=(int, Field(burst, ge=1, description="token-bucket depth, messages (assumed)")),
        latency=(Latency, Field(default_factory=lambda: latency(median, p95), description="send to inbox (assumed)")),
        bounce_rate=(Share, Field(bounce, description="share bounced: dropped `bounced` (assumed)")),
        error_rate=(Share, Field(error, description="share refused by the provider: dropped `provider_error` "
                                                    "(assumed)")))


_CHANNEL_DOC = ("A sending channel: a rate limit (token bucket; messages wait their turn), the time from send to the "
                "inbox, bounces and provider errors.")
EmailChannel = _channel("EmailChannel", _CHANNEL_DOC, 100.0, 500, 5.0, 60.0, 0.02, 0.002)
SmsChannel = _channel("SmsChannel", _CHANNEL_DOC, 10.0, 20, 3.0, 20.0, 0.01, 0.005)
PushChannel = _channel("PushChannel", _CHANNEL_DOC, 50.0, 200, 1.0, 5.0, 0.05, 0.001)
SurveyChannel = _channel("SurveyChannel", _CHANNEL_DOC, 50.0, 200, 5.0, 60.0, 0.02, 0.002)


class Channels(Model):
    email: EmailChannel = Field(default_factory=EmailChannel)  # type: ignore[valid-type]
    sms: SmsChannel = Field(default_factory=SmsChannel)  # type: ignore[valid-type]
    push: PushChannel = Field(default_factory=PushChannel)  # type: ignore[valid-type]
    survey: SurveyChannel = Field(default_factory=SurveyChannel)  # type: ignore[valid-type]


class Response(Model):
    """What customers do after a message of ``tile`` reached their inbox: with probability
    ``prob``, ``after`` a delay, they create a record in ``table`` (``customer``: the lookup column
    that points to them). This is how journey goals get reached."""

    tile: str = Field(min_length=1, description="an action tile id")
    journey: str | None = Field(None, description="the journey of the tile (none: any journey with that tile)")
    prob: Share = Field(description="share of customers who respond (assumed)")
    after: Latency = Field(description="inbox to the record (assumed)")
    table: str = Field(min_length=1)
    values: dict[str, Value] = Field(default_factory=dict)
    customer: str = Field(min_length=1, description="the lookup column given the customer")


# ------------------------------------------------------------------------------ checks

def _check_values(catalog, table_name: str, values: dict, where: str) -> None:
    """Every column exists on the table and every label or scalar fits its type."""
    from sim.domain.dynamics import DataverseError

    table = catalog.tables.get(table_name)
    if table is None:
        raise ValueError(f"{where}: unknown table {table_name!r}; tables: {', '.join(sorted(catalog.tables))}")
    for column, value in values.items():
        if column not in table.columns:
            raise ValueError(f"{where}: table {table_name} has no column {column!r}; columns: "
                             f"{', '.join(table.columns)}")
        col = table.columns[column]
        if column == table.primary_key:
            raise ValueError(f"{where}.{column}: the primary key is given by the twin")
        try:
            if isinstance(value, Choice):
                for label in value.choice:
                    table.coerce(column, column_label(col, label))
            elif isinstance(value, Uniform):
                if col.type not in ("int", "float", "datetime"):
                    raise ValueError(f"uniform applies to number columns; {column!r} is {col.describe()}")
                for bound in value.uniform:
                    table.coerce(column, round(bound) if col.type == "int" else bound)
            elif isinstance(value, Generate):
                if col.type != "text":
                    raise ValueError(f"generate gives text; {column!r} is {col.describe()}")
            elif col.type == "lookup":
                raise ValueError(f"{column!r} is {col.describe()}; lookups are set by `customer`")
            else:
                table.coerce(column, value)
        except DataverseError as exc:
            raise ValueError(f"{where}.{column}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where}.{column}: {exc}") from None


def column_label(column, label: str):
    """A choice label (kept as text) as the column's type: ``"2"`` -> 2 for an int column."""
    if column.type == "int":
        try:
            return int(label)
        except ValueError:
            return label
    if column.type in ("float", "datetime"):
        try:
            return float(label)
        except ValueError:
            return label
    if column.type == "bool":
        return {"true": True, "false": False}.get(label.lower(), label)
    return label


def _customer_column(catalog, table_name: str, column: str | None, where: str) -> None:
    table = catalog.tables[table_name]
    if column is None:
        if table_name not in ("contact", "lead", "account"):
            raise ValueError(f"{where}: customer is required for table {table_name} (the lookup column that holds "
                             f"the customer; audience columns: {', '.join(table.audience_columns) or 'none'})")
        return
    col = table.columns.get(column)
    if col is None or col.type != "lookup" or "contact" not in col.targets:
        lookups = [c.name for c in table.columns.values() if c.type == "lookup" and "contact" in c.targets]
        raise ValueError(f"{where}: customer {column!r} is not a lookup to contact on table {table_name}; "
                         f"allowed: {', '.join(lookups) or 'none'}")


# ------------------------------------------------------------------------------ the scenario

class DynamicsScenario(ScenarioBase):
    """Seed 001: Dataverse record changes -> triggers -> journeys -> channels. Its sections sit at the
    top level of the scenario file."""

    system: Literal["dynamics_journeys"] = "dynamics_journeys"
    customers: Customers = Field(default_factory=Customers)
    definitions: dict[str, Any] = Field(description="custom tables, triggers and journeys "
                                                    "(see sim.domain.dynamics.definitions)")
    dataverse: Dataverse = Field(default_factory=Dataverse)
    sources: list[Source] = Field(default_factory=list)
    trigger_processing: TriggerProcessing = Field(default_factory=TriggerProcessing)
    channels: Channels = Field(default_factory=Channels)
    responses: list[Response] = Field(default_factory=list)
    _defs: Any = PrivateAttr(default=None)

    @field_validator("definitions")
    @classmethod
    def _definitions_parse(cls, raw: dict[str, Any]) -> dict[str, Any]:
        from sim.domain.dynamics import DefinitionsError, JourneyError, parse_definitions

        try:
            parse_definitions(raw, "definitions")
        except (DefinitionsError, JourneyError) as exc:
            lines = [line.removeprefix("definitions: ") for line in str(exc).splitlines()]
            raise ValueError("\n".join(lines)) from None
        return raw

    @field_validator("sources")
    @classmethod
    def _sources_fit(cls, sources: list[Source], info: ValidationInfo) -> list[Source]:
        defs = _parsed(info)
        if defs is None:
            return sources
        names = [s.name for s in sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"source names must differ; repeated: {', '.join(dup)}")
        for i, s in enumerate(sources):
            where = f"{i} ({s.name})"
            _check_values(defs.catalog, s.table, s.values, f"{where}: values")
            _customer_column(defs.catalog, s.table, s.customer, where)
            for k, step in enumerate(s.steps):
                _check_values(defs.catalog, s.table, step.set, f"{where}: steps.{k}.set")
            if s.bulk is not None:
                if s.backlog == 0:
                    raise ValueError(f"{where}: bulk updates the backlog records; give backlog > 0")
                _check_values(defs.catalog, s.table, s.bulk.set, f"{where}: bulk.set")
        return sources

    @field_validator("responses")
    @classmethod
    def _responses_fit(cls, responses: list[Response], info: ValidationInfo) -> list[Response]:
        from sim.domain.dynamics.journeys import ActionTile

        defs = _parsed(info)
        if defs is None:
            return responses
        for i, r in enumerate(responses):
            where = f"{i} (tile {r.tile})"
            journeys = [defs.journeys[r.journey]] if r.journey in defs.journeys else \
                list(defs.journeys.values()) if r.journey is None else []
            if r.journey is not None and not journeys:
                raise ValueError(f"{where}: unknown journey {r.journey!r}; journeys: {', '.join(defs.journeys)}")
            tiles = [t for j in journeys for t in j.walk() if isinstance(t, ActionTile)]
            if r.tile not in {t.id for t in tiles}:
                raise ValueError(f"{where}: no action tile {r.tile!r}; action tiles: "
                                 f"{', '.join(sorted({t.id for t in tiles})) or 'none'}")
            _check_values(defs.catalog, r.table, r.values, f"{where}: values")
            table = defs.catalog.tables[r.table]
            col = table.columns.get(r.customer)
            if col is None or col.type != "lookup":
                lookups = [c.name for c in table.columns.values() if c.type == "lookup"]
                raise ValueError(f"{where}: customer {r.customer!r} is not a lookup column of {r.table}; "
                                 f"lookups: {', '.join(lookups) or 'none'}")
        return responses

    def fault_targets(self) -> set[str]:
        return {"trigger_processing", *CHANNELS}

    @model_validator(mode="after")
    def _dynamics_rules(self) -> DynamicsScenario:
        for i, f in enumerate(self.faults):
            if f.kind == "allocation_cut":
                raise ValueError(f"faults.{i}: allocation_cut does not apply to {f.target}; kinds: outage, "
                                 "error_rate (channels), slowdown")
            if f.target == "trigger_processing" and f.kind == "error_rate":
                raise ValueError(f"faults.{i}: trigger_processing takes outage and slowdown faults")
        return self

    def parsed(self):
        """The definitions as a :class:`~sim.domain.dynamics.Definitions` (catalog and journeys)."""
        if self._defs is None:
            from sim.domain.dynamics import parse_definitions

            self._defs = parse_definitions(self.definitions, "definitions")
        return self._defs


def _parsed(info: ValidationInfo):
    raw = info.data.get("definitions")
    if raw is None:
        return None
    from sim.domain.dynamics import parse_definitions

    return parse_definitions(raw, "definitions")
