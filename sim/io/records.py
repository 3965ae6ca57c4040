"""Reading record files for identity resolution: several CSV sources into one table.

Each file has a header row; the id column (``rec_id`` by default) names each record and the other
columns are fields. Files may have different columns (a CRM export and a web log): the table has
the union, blank where a source has no such column. Each record gets its source (the
``source_field`` column if the rules name one and the file has it, else the file's name without
extension) and its time (the ``updated_field`` column, epoch seconds or ISO 8601, if given).

Rows that cannot be used are reported with file and line (:class:`~sim.io.csvrows.BadRow`): wrong
number of fields, bytes that are not UTF-8, NUL bytes, a blank or repeated record id, an unreadable
time or one outside 1970-01-01 .. 2200-01-01.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.core.units import parse_timestamp
from sim.io.csvrows import T_MAX, T_MIN, TIME_RANGE, BadInputError, BadRow, CsvRows, OnBadRow

SOURCE, TIME = "_source", "_t"


@dataclass
class RecordTable:
    frame: pd.DataFrame          # rec_id (as ``id_column`` renamed), fields, _source, _t
    bad: list[BadRow]
    rows_by_file: dict[str, int]


def read_records(paths: Sequence[str | Path], id_column: str = "rec_id", fields: Sequence[str] = (),
                 updated_field: str | None = None, source_field: str | None = None,
                 on_bad_row: OnBadRow = "skip", progress: Callable[[int], None] | None = None) -> RecordTable:
    """Read and check every file; ``fields`` are the ones the rules need (each must exist in at
    least one file). The id column is renamed ``rec_id`` in the returned frame."""
    columns: dict[str, list] = {}
    ids: list[str] = []
    sources: list[str] = []
    times: list[float] = []
    first_seen: dict[str, str] = {}
    bad: list[BadRow] = []
    rows_by_file: dict[str, int] = {}
    headers: dict[str, list[str]] = {}
    for path in paths:
        rows = CsvRows(path, on_bad_row)
        header = rows.header
        if id_column not in header:
            raise BadInputError(f"{path}:1: no {id_column!r} column (the record id; see --id-column); "
                                f"columns: {', '.join(header)}")
        headers[str(path)] = header
        id_at = header.index(id_column)
        src_at = header.index(source_field) if source_field and source_field in header else None
        t_at = header.index(updated_field) if updated_field and updated_field in header else None
        default_source = Path(path).stem
        for name in header:
            if name != id_column and name not in columns:
                columns[name] = [""] * len(ids)
        own = [(name, i) for i, name in enumerate(header) if i != id_at]
        absent = [name for name in columns if name not in header]
        count = 0
        for line, values in rows:
            rec_id = values[id_at].strip()
            if not rec_id:
                rows.reject(line, f"blank {id_column}")
                continue
            if rec_id in first_seen:
                rows.reject(line, f"repeated {id_column} {rec_id!r} (first at {first_seen[rec_id]})")
                continue
            t = math.nan
            if t_at is not None and values[t_at].strip():
                try:
                    t = parse_timestamp(values[t_at])
                except (ValueError, OverflowError) as exc:
                    rows.reject(line, f"{updated_field}: {exc}")
                    continue
                if not T_MIN <= t < T_MAX:
                    rows.reject(line, f"{updated_field}: {values[t_at].strip()[:40]!r} is outside {TIME_RANGE}")
                    continue
            first_seen[rec_id] = f"{path}:{line}"
            ids.append(rec_id)
            sources.append(values[src_at].strip() if src_at is not None and values[src_at].strip()
                           else default_source)
            times.append(t)
            for name, i in own:
                columns[name].append(values[i])
            for name in absent:
                columns[name].append("")
            count += 1
            if progress is not None and count % 10000 == 0:
                progress(10000)
        if progress is not None:
            progress(count % 10000)
        bad.extend(rows.bad)
        rows_by_file[str(path)] = count
    every = set(columns) | {id_column}
    wanted = [*fields, *(f for f in (updated_field, source_field) if f)]
    missing = [f for f in dict.fromkeys(wanted) if f not in every]
    if missing:
        shown = "; ".join(f"{p}: {', '.join(h)}" for p, h in headers.items())
        raise BadInputError(f"the rules use fields no input file has: {', '.join(missing)} (columns: {shown})")
    frame = pd.DataFrame({"rec_id": ids, **columns, SOURCE: sources, TIME: times})
    return RecordTable(frame=frame, bad=bad, rows_by_file=rows_by_file)
