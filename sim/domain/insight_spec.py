"""Insight definitions as users write them (YAML or Python), validated with clear errors.

.. code-block:: yaml

    name: pricing_hot
    filter: "page == 'pricing' and country in ('FR', 'DE')"
    measure: count            # count | sum:<field> | distinct:<field>
    threshold: 3              # fires when measure >= threshold
    window: 10m               # 1m to 24h, as Data Cloud allows
    window_type: tumbling     # tumbling (default, Data Cloud's WINDOW buckets) | sliding
    cooldown: 10m             # sliding only: minimum distance between two firings of one group
    allowed_lateness: 0s
    group_by: profile_id

The window semantics are those of :mod:`sim.domain.insights`; :meth:`InsightSpec.engine_definition`
gives the engine's definition and :attr:`InsightSpec.compiled_filter` the compiled filter.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sim.core.errors import validate_model
from sim.core.units import parse_duration
from sim.core.yamlfile import QUOTED_NUMBER, is_quoted_number, read_mapping
from sim.domain.filters import Filter, FilterError, compile_filter
from sim.domain.insights import COUNT, Insight

MAX_THRESHOLD = 1e15
MAX_DELAY_S = 366 * 86400.0  # cooldown and allowed lateness: a year at most


def _finite_duration(value: object) -> float:
    """:func:`parse_duration`, refusing what is not a finite number of seconds (``.inf``, a
    number too large for a float) with a message naming the value."""
    try:
        seconds = parse_duration(value)
    except OverflowError:
        raise ValueError("too large a duration; at most a year") from None
    if not math.isfinite(seconds):
        raise ValueError("not a finite duration")
    return seconds


def _number(value: object) -> object:
    """A number as written (pydantic converts it); booleans and non-finite values are refused."""
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true/false")
    if is_quoted_number(value):
        raise ValueError(f"a number is expected, not text ({QUOTED_NUMBER})")
    if isinstance(value, int) and abs(value) > MAX_THRESHOLD:
        raise ValueError(f"too large; at most {MAX_THRESHOLD:.0e}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


Duration = Annotated[float, BeforeValidator(_finite_duration)]
Number = Annotated[float, BeforeValidator(_number)]


class InsightError(ValueError):
    """An insight definition that cannot be used; the message names the key (and column)."""


class InsightSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    filter: str = Field("", description="which events count; empty = all")
    measure: str = Field("count", description="count | sum:<field> | distinct:<field>")
    threshold: Number = Field(gt=0, le=MAX_THRESHOLD)
    window: Duration = Field(ge=60.0, le=86400.0, description="1 min to 24 h (doc)")
    window_type: Literal["tumbling", "sliding"] = "tumbling"
    cooldown: Duration = Field(0.0, ge=0.0, le=MAX_DELAY_S,
                               description="sliding: minimum gap between two firings of a group")
    allowed_lateness: Duration = Field(0.0, ge=0.0, le=MAX_DELAY_S)
    group_by: str = "profile_id"

    @field_validator("filter")
    @classmethod
    def _filter_compiles(cls, expr: str) -> str:
        try:
            compile_filter(expr)
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return expr

    @field_validator("measure")
    @classmethod
    def _measure_form(cls, measure: str) -> str:
        kind, sep, fieldname = measure.partition(":")
        kind, fieldname = kind.strip(), fieldname.strip()
        if kind == COUNT and not sep:
            return COUNT
        if kind in ("sum", "distinct") and fieldname:
            return f"{kind}:{fieldname}"
        raise ValueError(f"{measure!r}: allowed: count, sum:<field>, distinct:<field>")

    @model_validator(mode="after")
    def _cooldown_for_sliding(self) -> InsightSpec:
        if self.window_type == "tumbling" and self.cooldown:
            raise ValueError("cooldown applies to sliding windows only (a tumbling bucket fires once)")
        if self.measure_kind != "sum" and self.threshold != int(self.threshold):
            raise ValueError(f"a {self.measure_kind} threshold is a whole number (got {self.threshold})")
        return self

    @property
    def measure_kind(self) -> str:
        return self.measure.partition(":")[0]

    @property
    def measure_field(self) -> str | None:
        return self.measure.partition(":")[2] or None

    @cached_property
    def compiled_filter(self) -> Filter:
        return compile_filter(self.filter)

    def fields(self) -> set[str]:
        """Event fields the insight reads (filter and measure)."""
        out = set(self.compiled_filter.fields)
        if self.measure_field:
            out.add(self.measure_field)
        return out

    def engine_definition(self) -> Insight:
        return Insight(self.name, self.threshold, self.window, self.window_type, self.cooldown,
                       self.allowed_lateness, self.measure_kind)


WHAT = "an insight is a YAML mapping with name, filter, measure, threshold, window, window_type, ..."


def parse_insight(raw: object, source: str = "insight") -> InsightSpec:
    """Validate an insight mapping; errors name the key and the allowed values."""
    return validate_model(InsightSpec, raw, source, InsightError, WHAT)


def load_insight(path: str | Path) -> InsightSpec:
    """A validated insight definition from a YAML file."""
    return parse_insight(read_mapping(path, InsightError, WHAT), str(path))
