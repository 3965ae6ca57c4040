"""What every scenario shares, whatever its system: the base model (unknown keys are errors),
durations and latency distributions with units, fault windows, and the scenario's header
(system, name, horizon, start, seed, faults, variants).

A scenario is data: a YAML file validated into the model of its ``system`` (see
:mod:`sim.scenario.models`), or the same models built in Python. Durations are strings with a
unit (``"90s"``, ``"10m"``, ``"2h"``, ``"1d"``) or numbers of seconds, held as floats in seconds.
Each field's description ends with the source of its default: (doc) the vendor's documentation,
(sec) a secondary source, (assumed) our assumption; see ``shared/docs/domain.md`` "Numbers".
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from datetime import UTC
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sim.core.units import parse_duration
from sim.core.yamlfile import QUOTED_NUMBER, is_quoted_number

Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base of every scenario section: unknown keys are errors, numbers must be finite and must be
    numbers (``true`` is not 1, and the text ``'4'`` is not 4: a quoted number in YAML is text)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _only_numbers_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        if _wants_number(field.annotation) and _has_bool(value):
            if isinstance(value, bool):
                raise ValueError("expected a number, not a boolean")
            raise ValueError(f"expected numbers, not booleans (got {value!r})")
        if _has_text(value) and _wants_number(field.annotation, field.metadata, text=False):
            why = QUOTED_NUMBER
            if isinstance(value, list):
                k = next(k for k, v in enumerate(value) if is_quoted_number(v))
                raise ValueError(f"expected numbers, not text: item {k} is {value[k]!r} ({why})")
            if isinstance(value, dict):
                k = next(k for k, v in value.items() if is_quoted_number(v))
                raise ValueError(f"expected numbers, not text: {k!r} is {value[k]!r} ({why})")
            raise ValueError(f"expected a number, not text ({why})")
        return value


def _wants_number(annotation: Any, metadata: list | tuple = (), *, text: bool = True) -> bool:
    """Whether a field holds numbers (int or float, possibly in a list or dict, or optional), not
    booleans. ``text=False``: numbers and nothing else (no text beside them in a union, no text
    parsed into a number such as a duration)."""
    if not text and any(isinstance(m, BeforeValidator) for m in metadata):
        return False
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    origin, args = get_origin(annotation), [a for a in get_args(annotation) if a is not type(None)]
    if origin is Annotated:
        return _wants_number(args[0], args[1:], text=text)
    if origin in (list, dict, Union, UnionType):
        if origin is dict and not text:
            args = args[1:]  # the values; keys are text
        return (bool(args) and all(_wants_number(a, text=text) or (text and a is str) for a in args)
                and any(_wants_number(a, text=text) for a in args))
    return False


def _has_text(value: Any) -> bool:
    """Whether ``value`` (or an item or a dict's value of it) is a quoted number."""
    if isinstance(value, list):
        return any(is_quoted_number(v) for v in value)
    if isinstance(value, dict):
        return any(is_quoted_number(v) for v in value.values())
    return is_quoted_number(value)


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list):
        return any(isinstance(v, bool) for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, bool) for v in value.values())
    return False


_Z_MAX = 10.0  # standard normal draws beyond 10 never happen (p ~ 1e-23): a shape's draws stay below this
_LOG_MAX = math.log(sys.float_info.max)
_Z95 = 1.6448536269514722


def _max_ratio(median: float) -> float:
    """The largest p95/median whose log-normal draws up to ``_Z_MAX`` stay finite."""
    return math.exp(min(_Z95 * (_LOG_MAX - math.log(median)) / _Z_MAX, _LOG_MAX))


class Latency(Model):
    """A latency distribution: log-normal with the given median and 95th percentile (seconds);
    constant when ``p95`` equals ``median``."""

    median: Duration
    p95: Duration

    @model_validator(mode="after")
    def _ordered(self) -> Latency:
        if self.p95 < self.median:
            raise ValueError(f"p95 ({self.p95} s) must be >= median ({self.median} s)")
        if self.median == 0 and self.p95 > 0:
            raise ValueError(f"p95 ({self.p95:g} s) has no effect with median 0 (every draw is 0 s); "
                             "allowed: a median above 0, or p95 0 as well")
        sigma = self.sigma
        if sigma > 0 and not (math.isfinite(sigma) and math.log(self.median) + _Z_MAX * sigma <= _LOG_MAX):
            raise ValueError(f"p95 ({self.p95:g} s) and median ({self.median:g} s) are too far apart: the "
                             "log-normal's shape or its draws overflow; allowed: a p95/median ratio of at most "
                             f"{_max_ratio(self.median):.3g}")
        return self

    @property
    def sigma(self) -> float:
        """Log-normal shape: ln(p95 / median) / z_0.95."""
        if self.median <= 0 or self.p95 == self.median:
            return 0.0
        return math.log(self.p95 / self.median) / _Z95


def latency(median: str | float, p95: str | float) -> Latency:
    return Latency(median=median, p95=p95)


class FaultSpec(Model):
    """A fault applied at simulated times (see :mod:`sim.domain.faults`)."""

    target: str = Field(description="an actor of the scenario's system, e.g. crm, webhooks, event_bus (data_cloud)")
    kind: Literal["outage", "error_rate", "slowdown", "allocation_cut"]
    start: Duration = Field(ge=0.0)
    duration: PositiveDuration
    rate: Share | None = Field(None, description="error_rate: failure probability")
    factor: float | None = Field(None, gt=0, le=1000, description="slowdown: service-time multiplier")
    allocation: int | None = Field(None, ge=0, le=1_000_000_000, description="allocation_cut: publishes per hour")

    @model_validator(mode="after")
    def _params(self) -> FaultSpec:
        need = {"error_rate": "rate", "slowdown": "factor", "allocation_cut": "allocation"}.get(self.kind)
        given = [k for k in ("rate", "factor", "allocation") if getattr(self, k) is not None]
        if need and given != [need]:
            raise ValueError(f"a {self.kind} fault takes {need} (and only that)")
        if not need and given:
            raise ValueError(f"an outage takes no {', '.join(given)}")
        return self


def _iso_text(value: Any) -> Any:
    """A YAML timestamp (unquoted ``2026-11-27T00:00:00Z``) as the ISO text it was written as."""
    from datetime import date, datetime

    if isinstance(value, (datetime, date)):
        return value.isoformat().replace("+00:00", "Z")
    return value


SYSTEMS = ("data_cloud", "dynamics_journeys", "aep_dataflows")
CALENDAR = (1970, 2200)  # years a run may cover (wall-clock stamps in payloads must be printable)


class ScenarioBase(Model):
    """A scenario's header, common to every system; each system's model adds its sections."""

    system: str = Field("data_cloud", description=f"the twinned system: {', '.join(SYSTEMS)}")
    name: str = Field(..., min_length=1)
    description: str = ""
    horizon: PositiveDuration
    start: Annotated[str, BeforeValidator(_iso_text)] = Field(
        "2026-11-27T00:00:00Z", description="wall-clock time of t = 0 (ISO 8601; naive times are UTC)")
    seed: int = Field(1, ge=0, lt=2**63, description="default seed when none is given on the command line")
    faults: list[FaultSpec] = Field(default_factory=list, max_length=10_000)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named designs to compare on the same traffic: dotted overrides")

    def fault_targets(self) -> set[str]:
        """The actors faults may name (each system says which)."""
        return set()

    @model_validator(mode="after")
    def _fault_targets(self) -> ScenarioBase:
        targets = self.fault_targets()
        for i, f in enumerate(self.faults):
            if f.target not in targets:
                raise ValueError(f"faults.{i}.target {f.target!r} is not an actor of this scenario; allowed: "
                                 f"{', '.join(sorted(targets)) or 'none'}")
        return self

    @model_validator(mode="after")
    def _start_is_time(self) -> ScenarioBase:
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(self.start.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"start {self.start!r} is not an ISO 8601 time such as 2026-11-27T00:00:00Z") from None
        lo, hi = CALENDAR
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        end = moment.timestamp() + self.horizon
        if not (datetime(lo, 1, 1, tzinfo=UTC).timestamp() <= moment.timestamp()
                and end < datetime(hi + 1, 1, 1, tzinfo=UTC).timestamp()):
            raise ValueError(f"start {self.start!r} + horizon {self.horizon:g} s leaves the calendar the twin "
                             f"handles; start and end must lie in the years {lo} to {hi}")
        return self

    @property
    def start_epoch_s(self) -> float:
        from datetime import datetime

        moment = datetime.fromisoformat(self.start.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (canonical JSON): equal digests, equal scenarios."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
