"""Incremental (delta) loads: which source rows a dataflow run copies.

The *Copy* transformation names a **delta column** (``deltaColumn``: ``name``, ``dateFormat``
such as ``yyyy-MM-dd HH:mm:ss``, ``timezone``): a last-modified timestamp of each source row.
Each run copies the rows whose delta column advanced since the previous run.

**The rule** (what :meth:`DeltaCopy.select` does). Write ``d`` for a row's delta value *at the
column's resolution* (1 s for ``yyyy-MM-dd HH:mm:ss``: the source can only be asked about whole
seconds) and ``r`` for the run's start. The run's **cut** is ``floor(r)`` at that resolution, and
the run copies the rows with

    ``lower <= d < cut``,  then the new high-water mark is ``cut``,

where ``lower`` is the previous run's high-water mark; on the first run it is ``-inf`` with
``backfill`` (the whole history) and ``floor(startTime)`` without it (only changes from the
schedule's start on). Consequences, each tested:

* **No row read twice**: the windows ``[hwm_k, cut_k)`` of successive runs are disjoint.
* **No row missed**: they are contiguous, and a row with ``d < cut`` was written before
  ``cut <= r``, so it is visible when the run reads, whatever the order of same-instant events.
* **Equal timestamps at the high-water mark**: a row stamped exactly ``cut`` (written in the very
  second the run started, possibly after the read) belongs to the *next* run, never to both and
  never to neither. Using ``max(d seen)`` as the mark instead would either re-read (``>=``) or
  lose (``>``) rows stamped with that value but committed after the read.
* **Rows updated during a run** (a paged read sees a newer version of a row than the run's start)
  have ``d >= cut``: the run leaves them, the next run copies them. The older version they
  replace is superseded, not lost: the latest state of every row always arrives.
* The price is freshness: a change waits for the first run starting at least one resolution unit
  after it (at most one unit more than the schedule's own wait).
* A **failed run** must not commit its mark: the caller keeps the previous ``hwm``, and the next
  run copies the same window again (the platform retries a failed window; nothing is lost).
* The delta column is **fixed after the first run** (the platform's rule; the mark would mean
  nothing for another column): :func:`delta_column_change_problem` says so when a flow update
  changes it after a run.
* A row whose delta value is missing (None, empty) cannot be placed in any window: it is never
  copied by an incremental load; :meth:`DeltaCopy.select` reports how many were left that way.
* Local-time delta columns: values are read in ``timezone``; in a zone with daylight saving the
  repeated autumn hour maps its second pass onto the first, so rows written then may fall
  behind the mark and be missed — as they would be on the platform. Prefer ``UTC``.

**Flows without a Copy transformation** (the seed's own ``POST /flows`` carries only *Mapping*):
there is no delta column, so there is nothing to compare with a high-water mark; each run is a
**full reload** (``mode == "full"``): it copies every row visible at the run, whatever
``backfill`` says, and the mark stays ``None``. Unchanged rows are read again on every run (the
dataset grows by a full copy per run; the profile upserts them, so the profile does not grow, but
API calls and ingestion volume do). :meth:`DeltaCopy.select` behaves accordingly.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from sim.domain.aep.problems import AepError, Problem

DEFAULT_DATE_FORMAT = "yyyy-MM-dd HH:mm:ss"
_TOKENS = [("yyyy", "%Y", None), ("MM", "%m", None), ("dd", "%d", 86400.0), ("HH", "%H", 3600.0),
           ("mm", "%M", 60.0), ("ss", "%S", 1.0), ("SSS", "%f", 0.001)]
_TOKEN_RE = re.compile(r"yyyy|MM|dd|HH|mm|ss|SSS|'[^']*'|[-/:. T]")


@functools.lru_cache(maxsize=64)
def _translate(fmt: str) -> tuple[str, float]:
    """A Java ``DateTimeFormatter`` pattern -> (strptime pattern, resolution in seconds)."""
    out, pos, seen, resolution = "", 0, set(), math.inf
    for match in _TOKEN_RE.finditer(fmt):
        if match.start() != pos:
            break
        tok = match.group(0)
        pos = match.end()
        for java, py, res in _TOKENS:
            if tok == java:
                out += py
                seen.add(java)
                if res is not None:
                    resolution = min(resolution, res)
                break
        else:
            out += tok.strip("'").replace("%", "%%") if tok.startswith("'") else tok
    if pos != len(fmt) or not {"yyyy", "MM", "dd"} <= seen:
        raise ValueError(f"{fmt!r} is not a supported date format; use e.g. {DEFAULT_DATE_FORMAT!r} "
                         "(tokens yyyy MM dd HH mm ss SSS, separators - / : . space, 'quoted' text)")
    return out, resolution


@dataclass(frozen=True)
class DeltaColumn:
    """The ``deltaColumn`` of a Copy transformation (raises :class:`AepError` when unreadable)."""

    name: str
    date_format: str = DEFAULT_DATE_FORMAT
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        problems = []
        if not self.name:
            problems.append(Problem("deltaColumn.name", "must not be empty"))
        try:
            _translate(self.date_format)
        except ValueError as exc:
            problems.append(Problem("deltaColumn.dateFormat", str(exc)))
        try:
            _ = self.zone  # raises for an unknown zone
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("deltaColumn.timezone", f"unknown time zone {self.timezone!r} (IANA names such as "
                                                            "'UTC', 'Europe/Paris')"))
        if problems:
            raise AepError(problems)

    @classmethod
    def from_params(cls, spec: Mapping) -> DeltaColumn:
        return cls(spec.get("name", ""), spec.get("dateFormat") or DEFAULT_DATE_FORMAT, spec.get("timezone") or "UTC")

    @property
    def zone(self):
        return UTC if self.timezone.upper() in ("UTC", "GMT", "Z") else ZoneInfo(self.timezone)

    @property
    def resolution_s(self) -> float:
        return _translate(self.date_format)[1]

    def format(self, epoch_s: float) -> str:
        """An epoch time as the source writes it in this column (truncated to the resolution)."""
        pattern, _ = _translate(self.date_format)
        text = datetime.fromtimestamp(epoch_s, self.zone).strftime(pattern)
        return text[:-3] if pattern.endswith("%f") else text

    def parse(self, text: str) -> float:
        """A delta value written in ``dateFormat`` and ``timezone`` -> epoch seconds."""
        pattern, _ = _translate(self.date_format)
        moment = datetime.strptime(text.strip(), pattern)
        return moment.replace(tzinfo=self.zone).timestamp()

    def truncate(self, epoch_s: float) -> float:
        """``epoch_s`` floored to the column's resolution, in its time zone."""
        res = self.resolution_s
        if res <= 60:
            return math.floor(epoch_s / res + 1e-9) * res
        return self.parse(self.format(epoch_s))

    def values(self, raw: Sequence[Any]) -> np.ndarray:
        """Delta values (epoch numbers, datetimes or text in ``dateFormat``) as truncated epoch
        seconds; missing values are NaN."""
        out = np.full(len(raw), np.nan)
        res = self.resolution_s
        for i, v in enumerate(raw):
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            if isinstance(v, str):
                out[i] = self.parse(v)
            elif isinstance(v, datetime):
                out[i] = self.truncate((v if v.tzinfo else v.replace(tzinfo=self.zone)).timestamp())
            else:
                f = float(v)
                if not math.isnan(f):
                    out[i] = math.floor(f / res + 1e-9) * res if res <= 60 else self.truncate(f)
        return out


@dataclass
class Selection:
    """What one run copies: the rows, the mark to commit on success, and the rows left unplaced."""

    rows: list
    high_water_mark: float | None
    window: tuple[float, float]
    no_delta_value: int = 0

    def __iter__(self):
        """``rows, new_hwm = copy.select(...)`` unpacks as a pair."""
        return iter((self.rows, self.high_water_mark))


class DeltaCopy:
    """The copy step of a dataflow: incremental with a delta column, else full reload."""

    def __init__(self, column: DeltaColumn | None, backfill: bool = True, start_time: float = 0.0) -> None:
        self.column = column
        self.backfill = backfill
        self.start_time = float(start_time)

    @property
    def mode(self) -> str:
        return "full" if self.column is None else "incremental"

    def window(self, high_water_mark: float | None, run_start: float) -> tuple[float, float]:
        """``[lower, cut)`` of delta values a run starting at ``run_start`` copies."""
        if self.column is None:
            return (-math.inf, math.inf)
        cut = self.column.truncate(run_start)
        if high_water_mark is not None:
            lower = high_water_mark
        else:
            lower = -math.inf if self.backfill else self.column.truncate(self.start_time)
        return lower, max(cut, lower)

    def select_mask(self, delta_values: np.ndarray, high_water_mark: float | None,
                    run_start: float) -> tuple[np.ndarray, float | None]:
        """Vector form: which of the truncated epoch ``delta_values`` (NaN = missing) the run copies,
        and the new high-water mark."""
        values = np.asarray(delta_values, dtype=float)
        if self.column is None:
            return np.ones(len(values), dtype=bool), None
        lower, cut = self.window(high_water_mark, run_start)
        with np.errstate(invalid="ignore"):
            mask = (values >= lower) & (values < cut)
        return mask, cut

    def select(self, rows: Sequence[Mapping], high_water_mark: float | None, run_start: float) -> Selection:
        """The rows (mappings holding the delta column) a run starting at ``run_start`` copies."""
        if self.column is None:
            return Selection(list(rows), None, self.window(None, run_start))
        values = self.column.values([row.get(self.column.name) for row in rows])
        mask, cut = self.select_mask(values, high_water_mark, run_start)
        chosen = [row for row, keep in zip(rows, mask) if keep]
        return Selection(chosen, cut, self.window(high_water_mark, run_start), int(np.isnan(values).sum()))


def delta_column_change_problem(before: DeltaColumn | None, after: DeltaColumn | None,
                                runs_done: int) -> Problem | None:
    """Changing a flow's delta column is refused once the flow has run (None when allowed)."""
    if runs_done > 0 and before != after:
        return Problem("transformations.Copy.params.deltaColumn", f"fixed after the first run: the flow has run "
                                                                  f"{runs_done} time(s) with {before!r}")
    return None
