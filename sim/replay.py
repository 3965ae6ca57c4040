"""Replaying a user's event log through insight definitions (``sim insights replay``).

Events are read from a CSV file in chunks of :data:`CHUNK` rows and each chunk is evaluated by
every insight's :class:`~sim.domain.insights.InsightEngine` in arrival (file) order; firings are
written as they happen, so memory is bounded by the chunk and the live windows (expired window
state is evicted).

* The event time column holds epoch seconds or ISO 8601 (naive times are UTC).
* The group is the ``--group-column`` value, or, with identity rules, the unified profile resolved
  from the rules' namespace columns as the events stream in: an event carrying several identifiers
  links them (rule ``event``), merges combine the profiles' window state in every engine.
* Rows that cannot be used are rejected with their line numbers: malformed CSV rows, unreadable
  or missing times, a blank group (or no identifier with rules). A matching event whose ``sum``
  field is not a number is counted in that insight's ``bad_values`` and not measured.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.domain.identity import GraphLimits, IdentityGraph, RuleSet
from sim.domain.identity import normalize
from sim.domain.insight_spec import InsightSpec
from sim.domain.insights import SUM, InsightEngine
from sim.io.csvrows import BadInputError, BadRow, CsvRows, OnBadRow

CHUNK = 100_000
FIRING_COLUMNS = ["insight", "group", "fired_at", "window_start", "measure"]


@dataclass
class InsightTally:
    name: str
    matching: int = 0
    late: int = 0            # every late event (the watermark is shared by matching and not)
    late_matching: int = 0   # late events that matched the filter: the ones the insight lost
    firings: int = 0
    bad_values: int = 0
    max_state: int = 0


@dataclass
class ReplayResult:
    events: int = 0
    rejected: list[BadRow] = field(default_factory=list)
    insights: list[InsightTally] = field(default_factory=list)
    profiles: int | None = None
    merges: int | None = None

    @property
    def firings(self) -> int:
        return sum(t.firings for t in self.insights)

    def summary(self) -> pd.DataFrame:
        """One row per insight: events, matching, late, bad values, firings, peak state size."""
        return pd.DataFrame([{"insight": t.name, "events": self.events, "matching": t.matching, "late": t.late,
                              "late_matching": t.late_matching, "bad_values": t.bad_values, "firings": t.firings, "max_state": t.max_state}
                             for t in self.insights]).set_index("insight")


def parse_times(values: np.ndarray) -> np.ndarray:
    """Epoch seconds from text: numbers as they are, ISO 8601 parsed (naive = UTC); NaN if neither."""
    t = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    todo = np.isnan(t)
    if todo.any():
        iso = pd.to_datetime(pd.Series(values[todo], dtype=object), format="ISO8601", utc=True, errors="coerce")
        ns = iso.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        parsed = np.where(iso.isna().to_numpy(), np.nan, ns / 1e9)
        t[todo] = parsed
    t[~np.isfinite(t)] = np.nan
    return t


class _Profiles:
    """Streaming identity resolution of events by the namespaces of a rule set (real-time mode:
    exact and normalised identifiers only)."""

    def __init__(self, rules: RuleSet, header: list[str]) -> None:
        missing = [ns for ns in rules.namespaces if ns not in header]
        if len(missing) == len(rules.namespaces):
            raise BadInputError(f"none of the rules' namespace columns ({', '.join(rules.namespaces)}) is in the "
                                f"events; columns: {', '.join(header)}")
        self.columns = [(ns, header.index(ns), normalize.get(spec)) for ns, spec in rules.namespaces.items()
                        if ns in header]
        lim = rules.limits
        self.graph = IdentityGraph(limits=GraphLimits(dict(lim.max_per_namespace), lim.max_identities, lim.on_exceed))

    def resolve(self, rows: list[list[str]], t: np.ndarray
                ) -> tuple[np.ndarray, list[tuple[int, int, int]], np.ndarray]:
        """Profiles of the rows, merges as (position, absorbed, survivor), and a mask of rows with
        no identifier."""
        g = self.graph
        out = np.full(len(rows), -1, dtype=np.int64)
        merges: list[tuple[int, int, int]] = []
        empty = np.zeros(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            ids = [(ns, v) for ns, at, fn in self.columns if (v := fn(row[at]))]
            if not ids:
                empty[i] = True
                continue
            if len(ids) == 1:
                out[i] = g.add_node(ids[0], float(t[i]))
            else:
                res = g.link(ids, "event", "events", float(t[i]))
                out[i] = res.profile
                merges.extend((i, m.absorbed, m.survivor) for m in res.merges)
        return out, merges, empty


def replay(insights: Sequence[InsightSpec], events: str | Path, out: str | Path, time_column: str = "event_time",
           group_column: str | None = None, rules: RuleSet | None = None, on_bad_row: OnBadRow = "skip",
           progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> ReplayResult:
    """Evaluate ``insights`` over the events CSV, writing FIRINGS to ``out``; see the module doc."""
    rows_in = CsvRows(events, on_bad_row)
    header = rows_in.header
    if time_column not in header:
        raise BadInputError(f"{events}:1: no time column {time_column!r} (see --time-column); columns: {', '.join(header)}")
    profiles = _Profiles(rules, header) if rules is not None else None
    if profiles is None:
        group_column = group_column or insights[0].group_by
        if group_column not in header:
            raise BadInputError(f"{events}:1: no group column {group_column!r} (see --group-column or --rules); "
                                f"columns: {', '.join(header)}")
    for spec in insights:
        missing = sorted(spec.fields() - set(header))
        if missing:
            raise BadInputError(f"insight {spec.name!r} uses fields the events do not have: {', '.join(missing)}; "
                                f"columns: {', '.join(header)}")
    engines = [InsightEngine(s.engine_definition()) for s in insights]
    result = ReplayResult(insights=[InsightTally(s.name) for s in insights])
    t_at = header.index(time_column)
    g_at = header.index(group_column) if group_column else None
    needed = sorted(set().union(*(s.fields() for s in insights)))
    col_at = {f: header.index(f) for f in needed}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIRING_COLUMNS)
        for lines, rows in rows_in.chunks(chunk):
            _process(rows, lines, rows_in, engines, insights, result, writer, t_at, g_at, col_at, profiles)
            if progress is not None:
                progress(len(rows))
    result.rejected = sorted(rows_in.bad, key=lambda b: b.line)
    if profiles is not None:
        result.profiles = profiles.graph.unified_profiles()
        result.merges = profiles.graph.merges
    return result


def _process(rows, lines, rows_in, engines, insights, result, writer, t_at, g_at, col_at, profiles) -> None:
    t = parse_times(_column(rows, t_at))
    for i in np.flatnonzero(np.isnan(t)).tolist():
        raw = rows[i][t_at]
        rows_in.reject(lines[i], "missing event time" if not raw.strip()
                       else f"event time {raw!r} is neither epoch seconds nor ISO 8601")
    timed = np.flatnonzero(~np.isnan(t))
    if len(timed) < len(rows):
        rows, lines, t = [rows[i] for i in timed.tolist()], [lines[i] for i in timed.tolist()], t[timed]
    merges: list[tuple[int, int, int]] = []
    if profiles is not None:
        group, merges, empty = profiles.resolve(rows, t)
        reason = "no identifier in the rules' namespace columns"
    else:
        group = np.char.strip(_column(rows, g_at).astype(str)).astype(object)
        empty = group == ""
        reason = "blank group"
    if empty.any():
        for i in np.flatnonzero(empty).tolist():
            rows_in.reject(lines[i], reason)
        keep = np.flatnonzero(~empty)
        new_pos = np.cumsum(~empty) - 1  # rows with merges carry identifiers, so they are kept
        merges = [(int(new_pos[p]), a, s) for p, a, s in merges]
        rows, t, group = [rows[i] for i in keep.tolist()], t[keep], group[keep]
    result.events += len(rows)
    columns = {f: _column(rows, at) for f, at in col_at.items()}
    batch_firings = []
    for k, (spec, engine, tally) in enumerate(zip(insights, engines, result.insights)):
        matching = spec.compiled_filter.mask(columns, len(rows))
        values = None
        if spec.measure_field:
            raw = columns[spec.measure_field]
            if spec.measure_kind == SUM:
                values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
                bad = matching & np.isnan(values)
                tally.bad_values += int(bad.sum())
                matching = matching & ~bad
            else:
                values = raw
        late, firings = engine.process(t, group, matching, merges=merges, values=values)
        tally.matching += int(matching.sum())
        tally.late += int(late.sum())
        tally.late_matching += int((late & matching).sum())
        tally.firings += len(firings)
        tally.max_state = max(tally.max_state, engine.state_size())
        batch_firings += [(f.index, k, spec.name, f.group, f.fired_at, f.window_start, f.measure) for f in firings]
    batch_firings.sort(key=lambda f: (f[0], f[1]))
    writer.writerows([(name, g, _num(fired), _num(start), _num(m)) for _, _, name, g, fired, start, m in batch_firings])


def _column(rows: list[list[str]], at: int) -> np.ndarray:
    col = np.empty(len(rows), dtype=object)
    col[:] = [r[at] for r in rows]
    return col


def _num(x: float) -> str:
    """A number as short as it reads back exactly."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
