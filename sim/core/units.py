"""Durations and timestamps.

Every time in the twin is a float number of **seconds** since the start of the run. Scenario files
write durations as strings with a unit (``"500ms"``, ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"``, or
compounds such as ``"1h30m"``) or as plain numbers of seconds.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
ALLOWED = "a number of seconds or a string such as '500ms', '90s', '10m', '2h', '1d', '1h30m'"
MAX_DURATION_S = 100 * 365 * 86400.0  # longer than any calendar a scenario can use


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; raise :class:`DurationError` naming the allowed forms."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; expected {ALLOWED}")
    if isinstance(value, int) and abs(value) > MAX_DURATION_S:  # before float(): a huge int overflows it
        return _bounded(value, math.inf) if value > 0 else _bounded(value, -1.0)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise DurationError(f"{value!r} is not a duration; expected a finite number of seconds")
        if value < 0:
            raise DurationError(f"{value!r} is negative; a duration must be positive (or 0)")
        return _bounded(value, float(value))
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a duration; expected {ALLOWED}")
    text = value.strip()
    if text.startswith("-"):
        try:
            parse_duration(text[1:])
        except DurationError:
            pass
        else:
            raise DurationError(f"{value!r} is negative; a duration must be positive (or 0)")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * UNITS_S[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise DurationError(f"{value!r} is not a duration; expected {ALLOWED}")
    return _bounded(value, total)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def _bounded(value: object, seconds: float) -> float:
    if seconds < 0:
        raise DurationError(f"{_shown(value)} is negative; a duration must be positive (or 0)")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise DurationError(f"{_shown(value)} is too long; a duration is at most "
                            f"{MAX_DURATION_S / 86400 / 365:g} years ({MAX_DURATION_S:g} s)")
    return seconds



def parse_timestamp(value: str | int | float) -> float:
    """An instant as epoch seconds: a number (epoch seconds) or ISO 8601 text (``Z`` and offsets
    honoured; a naive timestamp is read as UTC). Raises ValueError naming the value otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (isinstance(value, int) and abs(value) > 1e15) or not math.isfinite(value):
            raise ValueError(f"{_shown(value)} is not a finite time")
        return float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
        raise ValueError(f"{text!r} is not a finite time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither epoch seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
