"""The dataflow schedule (``PeriodicSchedule``): when each run of a dataflow starts.

The flow spec publishes the schedule's rules as a JSON Schema (seed 002, ``scheduleSpec.spec``);
:data:`SCHEDULE_SPEC` is that schema brought up to the documented rules (domain.md "Numbers"):

* ``startTime``: epoch **seconds**, integer, required;
* ``endTime``: epoch seconds, optional; no run starts at or after it (it must be after startTime);
* ``frequency``: ``once``, ``minute``, ``hour``, ``day`` or ``week`` (required);
* ``interval``: integer, at least **15** when frequency is ``minute`` and at least 1 otherwise;
  required except for ``once``, where it must be absent;
* ``backfill``: boolean, default true (the first run ingests the whole history);
* no other field (a misspelt ``startime`` is an error, not silently ignored).

Those rules are checked by the ``jsonschema`` library against :data:`SCHEDULE_SPEC` — no
hand-written copy of them — and every violation becomes a :class:`~sim.domain.aep.problems.Problem`
naming the field. Two checks a draft-07 schema cannot say are Python: ``endTime > startTime`` and
a ``startTime`` that is plainly milliseconds (above 10^11, the year 5138).

**Numbers written as strings** (``"interval": "30"``, as in the seed's own ``POST /flows``
example, while the published schema says integer): by default they are **coerced**, as the
platform's lenient JSON reader does, when the string is plain decimal digits (``"30"``, not
``"30.5"``, ``" 30"``, ``"-1"`` or ``"<START TIME>"``); each coercion is reported in
:attr:`PeriodicSchedule.notes` (never silent). ``strict=True`` rejects them instead, naming the
field ("'30' is not an integer"). The coerced value then faces the same rules (``"10"`` with
``minute`` is still refused).

Run times are ``startTime + k * interval * unit`` (unit 60 s, 3600 s, 86400 s, 604800 s) for
``k = 0, 1, ...``, in epoch seconds and fixed units (UTC; no calendar or daylight-saving shift),
inside the half-open window ``[startTime, min(endTime, until))``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.domain.aep.problems import AepError, Problem, check_schema, schema_problems

FREQUENCIES = ("once", "minute", "hour", "day", "week")
UNIT_S = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
MIN_INTERVAL = {"minute": 15, "hour": 1, "day": 1, "week": 1}
MILLIS_THRESHOLD = 10**11
_DIGITS = re.compile(r"[0-9]+")
_NUMERIC_FIELDS = ("startTime", "endTime", "interval")


def _is_freq(name: str) -> dict:
    return {"properties": {"frequency": {"const": name}}, "required": ["frequency"]}


SCHEDULE_SPEC: dict = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "startTime": {"description": "epoch time", "type": "integer"},
        "endTime": {"description": "epoch time", "type": "integer"},
        "interval": {"type": "integer"},
        "frequency": {"type": "string", "enum": list(FREQUENCIES)},
        "backfill": {"type": "boolean", "default": True},
    },
    "required": ["startTime", "frequency"],
    "additionalProperties": False,
    "allOf": [
        {"if": _is_freq("once"), "then": {"not": {"required": ["interval"]}}, "else": {"required": ["interval"]}},
        {"if": _is_freq("minute"),
         "then": {"properties": {"interval": {"minimum": MIN_INTERVAL["minute"]}}},
         "else": {"properties": {"interval": {"minimum": 1}}}},
    ],
}
check_schema(SCHEDULE_SPEC)

_LABELS = {
    "allOf[1].then.properties.interval.minimum": " for frequency 'minute'",
    "allOf[1].else.properties.interval.minimum": " (a positive number of frequency units)",
    "allOf[0].then.not": ("interval", "not allowed with frequency 'once' (it runs one time)"),
}


def coerce_numbers(params: dict, strict: bool = False) -> tuple[dict, list[str]]:
    """``params`` with digit-only strings of ``startTime``/``endTime``/``interval`` read as integers
    (unless ``strict``), and the notes saying so (module docstring)."""
    out = dict(params)
    notes: list[str] = []
    if strict:
        return out, notes
    for key in _NUMERIC_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            out[key] = int(value)
            notes.append(f"{key}: the string {value!r} was read as the integer {int(value)} "
                         f"(the schema says integer; strict mode refuses it)")
    return out, notes


def schedule_problems(params: Any, strict: bool = False) -> tuple[list[Problem], dict, list[str]]:
    """(problems, coerced params, notes) of a ``scheduleParams`` object."""
    if not isinstance(params, dict):
        return [Problem("", "scheduleParams must be an object")], {}, []
    coerced, notes = coerce_numbers(params, strict)
    problems = schema_problems(SCHEDULE_SPEC, coerced, _LABELS)
    start, end = coerced.get("startTime"), coerced.get("endTime")
    ints = [v for v in (start, end) if isinstance(v, int) and not isinstance(v, bool)]
    for key, value in (("startTime", start), ("endTime", end)):
        if value in ints and value >= MILLIS_THRESHOLD:
            problems.append(Problem(key, f"{value} looks like epoch milliseconds; epoch seconds expected "
                                         f"(e.g. {value // 1000})"))
    if len(ints) == 2 and isinstance(start, int) and isinstance(end, int) and end <= start:
        problems.append(Problem("endTime", f"{end} is not after startTime {start}"))
    return problems, coerced, notes


@dataclass(frozen=True)
class PeriodicSchedule:
    """A validated schedule (module docstring); construction raises :class:`AepError`."""

    start_time: int
    frequency: str
    interval: int | None = None
    end_time: int | None = None
    backfill: bool = True
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        problems, _, _ = schedule_problems(self.to_params(), strict=True)
        if problems:
            raise AepError(problems)

    def to_params(self) -> dict:
        """The ``scheduleParams`` body of this schedule."""
        out: dict[str, Any] = {"startTime": self.start_time, "frequency": self.frequency}
        if self.interval is not None:
            out["interval"] = self.interval
        if self.end_time is not None:
            out["endTime"] = self.end_time
        out["backfill"] = self.backfill
        return out

    @classmethod
    def from_params(cls, params: Any, strict: bool = False) -> PeriodicSchedule:
        """From a ``scheduleParams`` body; raises :class:`AepError` with one problem per rule broken."""
        problems, coerced, notes = schedule_problems(params, strict)
        if problems:
            raise AepError(problems)
        return cls(int(coerced["startTime"]), coerced["frequency"],
                   None if coerced.get("interval") is None else int(coerced["interval"]),
                   None if coerced.get("endTime") is None else int(coerced["endTime"]),
                   bool(coerced.get("backfill", True)), tuple(notes))

    @property
    def period_s(self) -> int | None:
        """Seconds between runs (None for ``once``)."""
        return None if self.frequency == "once" else self.interval * UNIT_S[self.frequency]  # type: ignore[operator]

    def run_times(self, until_epoch: float) -> np.ndarray:
        """Start times (epoch seconds, int64) of the runs in ``[startTime, min(endTime, until))``."""
        limit = until_epoch if self.end_time is None else min(until_epoch, self.end_time)
        if self.start_time >= limit:
            return np.empty(0, dtype=np.int64)
        if self.period_s is None:
            return np.array([self.start_time], dtype=np.int64)
        n = int(np.ceil((limit - self.start_time) / self.period_s))
        return self.start_time + self.period_s * np.arange(n, dtype=np.int64)

    def next_run(self, after_epoch: float) -> int | None:
        """The first run start strictly after ``after_epoch`` (None when the schedule is over)."""
        if after_epoch < self.start_time:
            t = self.start_time
        elif self.period_s is None:
            return None
        else:
            t = self.start_time + (int((after_epoch - self.start_time) // self.period_s) + 1) * self.period_s
        return t if self.end_time is None or t < self.end_time else None
