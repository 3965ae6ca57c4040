"""Replaying a user's event log through insight definitions (``sim insights replay``).

Events are read from a CSV file in chunks of :data:`CHUNK` rows and each chunk is evaluated by
every insight's :class:`~sim.domain.insights.InsightEngine` in arrival (file) order; firings are
written as they happen, so memory is bounded by the chunk and the live windows (expired window
state is evicted).

* The event time column holds epoch seconds or ISO 8601 (naive times are UTC).
* The group is the ``--group-column`` value, or, with identity rules, the unified profile resolved
  from the rules' namespace columns as the events stream in: an event carrying several identifiers
  links them (rule ``event``), merges combine the profiles' window state in every engine.
* Rows that cannot be used are rejected with their line numbers: malformed CSV rows, NUL bytes,
  fields longer than the csv module's limit, unreadable or missing times, times outside
  1970-01-01 .. 2200-01-01 (epoch seconds: a time in milliseconds, or ``1e300``, would make
  every later event late), a blank group (or no identifier with rules). A matching event whose
  ``sum`` field is not a number (or not finite, or beyond 1e15 in magnitude) is counted in that
  insight's ``bad_values`` and not measured.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.domain.identity import GraphLimits, IdentityGraph, RuleSet, normalize
from sim.domain.insight_spec import InsightSpec
from sim.domain.insights import SUM, InsightEngine
from sim.io.csvrows import T_MAX, T_MIN, TIME_RANGE, BadInputError, BadRow, CsvRows, OnBadRow

CHUNK = 100_000
MAX_VALUE = 1e15  # sum measures: larger values are bad values (fsum would overflow, sums lose sense)
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
                              "late_matching": t.late_matching, "bad_values": t.bad_values, "firings": t.firings,
                              "max_state": t.max_state}
                             for t in self.insights]).set_index("insight")


def parse_times(values: np.ndarray) -> np.ndarray:
    """Epoch seconds from text: numbers as they are, ISO 8601 parsed (naive = UTC); NaN if neither.
    The column-wise form of :func:`sim.core.units.parse_timestamp` (a test keeps them equal)."""
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
        self.columns = [(ns, normalize.get(spec)) for ns, spec in rules.namespaces.items() if ns in header]
        lim = rules.limits
        self.graph = IdentityGraph(limits=GraphLimits(dict(lim.max_per_namespace), lim.max_identities, lim.on_exceed))

    def resolve(self, columns: dict[str, np.ndarray], t: np.ndarray
                ) -> tuple[np.ndarray, list[tuple[int, int, int]], np.ndarray]:
        """Profiles of the rows, merges as (position, absorbed, survivor), and a mask of rows with
        no identifier."""
        g = self.graph
        n = len(t)
        out = np.full(n, -1, dtype=np.int64)
        merges: list[tuple[int, int, int]] = []
        empty = np.zeros(n, dtype=bool)
        normed = [(ns, [fn(str(v)) for v in columns[ns].tolist()]) for ns, fn in self.columns]
        for i in range(n):
            ids = [(ns, vals[i]) for ns, vals in normed if vals[i]]
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


def regular_structure(path: str | Path, width: int, block: int = 1 << 22, field_limit: int | None = None
                      ) -> list[int] | None:
    """Scan a CSV file in numpy passes: if it has no quote character, no NUL byte, no carriage
    return outside a CRLF line end, no field longer than ``field_limit`` bytes (default: the csv
    module's limit, in characters, which the row-by-row reader enforces) and every non-blank line
    has exactly ``width`` fields, return the line numbers of its blank lines (which readers
    skip); otherwise None. Such a file can be parsed by pandas' C reader with exact line numbers
    and the same rows as the csv module."""
    if field_limit is None:
        field_limit = csv.field_size_limit()
    blanks: list[int] = []
    line = 0
    rest = b""
    with open(path, "rb") as fh:
        while True:
            data = fh.read(block)
            buf = rest + data
            if not data:
                if not buf:
                    break
                buf += b"\n"
            cut = buf.rfind(b"\n") + 1
            rest, buf = buf[cut:], buf[:cut]
            if not buf:
                continue
            if b'"' in buf or b"\x00" in buf or buf.count(b"\r") != buf.count(b"\r\n"):
                return None
            arr = np.frombuffer(buf, dtype=np.uint8)
            delims = np.flatnonzero((arr == 44) | (arr == 10))
            if len(delims) and np.diff(delims, prepend=-1).max() - 1 > field_limit:
                return None
            ends = np.flatnonzero(arr == 10)
            starts = np.concatenate(([0], ends[:-1] + 1))
            comma_at = np.flatnonzero(arr == 44)
            commas = np.searchsorted(comma_at, ends) - np.searchsorted(comma_at, starts)
            length = ends - starts - ((arr[np.maximum(ends - 1, 0)] == 13) & (ends > starts))
            numbers = line + 1 + np.arange(len(ends))
            blank = length == 0
            if (~blank & (commas != width - 1)).any():
                return None
            blanks += numbers[blank & (numbers > 1)].tolist()
            line += len(ends)
            if not data:
                break
    return blanks


class _Replay:
    """One pass of the insights over an event file (state: engines, tallies, identity graph)."""

    def __init__(self, insights, rows_in: CsvRows, writer, time_column: str, group_column: str | None,
                 rules: RuleSet | None) -> None:
        header = rows_in.header
        self.insights = list(insights)
        self.rows_in = rows_in
        self.writer = writer
        self.engines = [InsightEngine(s.engine_definition()) for s in insights]
        self.result = ReplayResult(insights=[InsightTally(s.name) for s in insights])
        self.profiles = _Profiles(rules, header) if rules is not None else None
        self.time_column, self.group_column = time_column, group_column
        fields = set().union(*(s.fields() for s in insights))
        wanted = {time_column, *fields, *([group_column] if group_column else []),
                  *([ns for ns, _ in self.profiles.columns] if self.profiles else [])}
        self.needed = [h for h in header if h in wanted]  # in file order

    def process(self, columns: dict[str, np.ndarray], lines: np.ndarray) -> None:
        """One chunk, as columns of text in arrival order, with each row's line number."""
        t = parse_times(columns[self.time_column])
        with np.errstate(invalid="ignore"):
            bad_t = ~((t >= T_MIN) & (t < T_MAX))  # NaN too
        for i in np.flatnonzero(bad_t).tolist():
            self.rows_in.reject(int(lines[i]), _time_problem(columns[self.time_column][i], t[i]))
        if bad_t.any():
            keep = np.flatnonzero(~bad_t)
            columns = {k: v[keep] for k, v in columns.items()}
            lines, t = lines[keep], t[keep]
        merges: list[tuple[int, int, int]] = []
        if self.profiles is not None:
            group, merges, empty = self.profiles.resolve(columns, t)
            reason = "no identifier in the rules' namespace columns"
        else:
            assert self.group_column is not None  # replay() requires one without rules
            group = np.char.strip(columns[self.group_column].astype(str)).astype(object)
            empty = group == ""
            reason = "blank group"
        if empty.any():
            for i in np.flatnonzero(empty).tolist():
                self.rows_in.reject(int(lines[i]), reason)
            keep = np.flatnonzero(~empty)
            new_pos = np.cumsum(~empty) - 1  # rows with merges carry identifiers, so they are kept
            merges = [(int(new_pos[p]), a, s) for p, a, s in merges]
            columns = {k: v[keep] for k, v in columns.items()}
            t, group = t[keep], group[keep]
        n = len(t)
        self.result.events += n
        batch_firings = []
        for k, (spec, engine, tally) in enumerate(zip(self.insights, self.engines, self.result.insights)):
            matching = spec.compiled_filter.mask(columns, n)
            values = None
            if spec.measure_field:
                raw = columns[spec.measure_field]
                if spec.measure_kind == SUM:
                    values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
                    with np.errstate(invalid="ignore"):
                        unusable = ~(np.abs(values) <= MAX_VALUE)  # NaN, inf, huge
                    values = np.where(unusable, np.nan, values)
                    bad = matching & unusable
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
        self.writer.writerows([(name, g, _num(fired), _num(start), _num(m))
                               for _, _, name, g, fired, start, m in batch_firings])

    def run_python(self, chunk: int, progress) -> None:
        """Row by row with the csv module: every malformed row is found and reported."""
        at = [self.rows_in.header.index(c) for c in self.needed]
        for lines, rows in self.rows_in.chunks(chunk):
            self.process({c: _column(rows, i) for c, i in zip(self.needed, at)}, np.asarray(lines))
            if progress is not None:
                progress(len(rows))

    def run_fast(self, path, chunk: int, progress, blanks: list[int]) -> None:
        """pandas' C reader on a file :func:`regular_structure` found regular (exact line numbers)."""
        at = [self.rows_in.header.index(c) for c in self.needed]
        rows_before_blank = np.asarray(blanks, dtype=np.int64) - 2 - np.arange(len(blanks))
        done = 0
        reader = pd.read_csv(path, header=0, usecols=at, dtype=str, na_filter=False, keep_default_na=False,
                             skip_blank_lines=True, chunksize=chunk, engine="c", encoding="utf-8")
        for frame in reader:
            n = len(frame)
            rows = np.arange(done, done + n)
            lines = rows + 2 + np.searchsorted(rows_before_blank, rows, side="right")
            self.process({c: frame.iloc[:, k].to_numpy(dtype=object) for k, c in enumerate(self.needed)}, lines)
            done += n
            if progress is not None:
                progress(n)


def replay(insights: Sequence[InsightSpec], events: str | Path, out: str | Path, time_column: str = "event_time",
           group_column: str | None = None, rules: RuleSet | None = None, on_bad_row: OnBadRow = "skip",
           progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> ReplayResult:
    """Evaluate ``insights`` over the events CSV, writing FIRINGS to ``out``; see the module doc.

    A file that is valid UTF-8, has no quotes and has the header's number of fields on every line
    is parsed with pandas' C reader; any other file row by row with the csv module, which reports
    each malformed row. Both give the same result.
    """
    rows_in = CsvRows(events, on_bad_row)
    header = rows_in.header
    if time_column not in header:
        raise BadInputError(f"{events}:1: no time column {time_column!r} (see --time-column); "
                            f"columns: {', '.join(header)}")
    if rules is None:
        group_column = group_column or insights[0].group_by
        if group_column not in header:
            raise BadInputError(f"{events}:1: no group column {group_column!r} (see --group-column or --rules); "
                                f"columns: {', '.join(header)}")
    else:
        group_column = None
    for spec in insights:
        missing = sorted(spec.fields() - set(header))
        if missing:
            raise BadInputError(f"insight {spec.name!r} uses fields the events do not have: {', '.join(missing)}; "
                                f"columns: {', '.join(header)}")
    blanks = None if rows_in.needs_encoding_check else regular_structure(events, len(header))
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "w", newline="", encoding="utf-8")
    except OSError as exc:
        rows_in.close()
        raise BadInputError(f"{out}: cannot be written ({exc.strerror or exc}; see --out)") from None
    with fh:
        writer = csv.writer(fh)
        writer.writerow(FIRING_COLUMNS)
        run = _Replay(insights, rows_in, writer, time_column, group_column, rules)
        if blanks is None:
            run.run_python(chunk, progress)
        else:
            rows_in.close()
            run.run_fast(events, chunk, progress, blanks)
    result = run.result
    result.rejected = sorted(rows_in.bad, key=lambda b: b.line)
    if run.profiles is not None:
        result.profiles = run.profiles.graph.unified_profiles()
        result.merges = run.profiles.graph.merges
    return result


def _time_problem(raw: object, t: float) -> str:
    """Why an event time was refused."""
    text = str(raw).strip()
    if not text:
        return "missing event time"
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    if np.isnan(t):
        try:
            if not np.isfinite(float(text)):
                return f"event time {shown} is not a finite time"
        except ValueError:
            pass
        return f"event time {shown} is neither epoch seconds nor ISO 8601"
    return f"event time {shown} is outside {TIME_RANGE}"


def _column(rows: list[list[str]], at: int) -> np.ndarray:
    col = np.empty(len(rows), dtype=object)
    col[:] = [r[at] for r in rows]
    return col


def _num(x: float) -> str:
    """A number as short as it reads back exactly."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)
