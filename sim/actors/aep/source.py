"""A source system's table as it changes over time (a HubSpot contacts table, a Marketing Cloud
data extension): the rows, their versions, and the values a read of a version returns.

Every **version** of a row has a number ``v``: versions ``0 .. rows-1`` are the rows that exist at
the start (history, last modified within ``history_span`` before it), and versions from ``rows``
on are the **changes** of the run, in time order (a Poisson stream with an hourly profile, each one
creating a row or updating a uniformly chosen existing one). Change ``v`` is the ledger message
``first_id + v - rows`` of kind ``change``. Values are drawn per version from named random streams,
so a row reads the same whatever run reads it. ``prev[v]`` / ``next_t[v]`` link the versions of
one row, which is how a newer version *supersedes* an unread older one.

This module only holds data; the dataflow actor decides what is read when.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.scenario.aep import Source

NAMES = ("Alex", "Camille", "Dominique", "Jordan", "Morgan", "Sacha", "Charlie", "Robin", "Noa", "Eden")
HOUR = 3600.0


def poisson_times(rng: np.random.Generator, per_hour: float, profile: list[float] | None, start_epoch: float,
                  horizon: float) -> np.ndarray:
    """Sorted times in ``[0, horizon)`` of a Poisson stream of ``per_hour`` events/h times the
    multiplier of each wall-clock (UTC) hour."""
    if per_hour <= 0 or horizon <= 0:
        return np.empty(0)
    first = math.floor(start_epoch / HOUR)
    hours = np.arange(first, math.ceil((start_epoch + horizon) / HOUR) + 1)
    lo = np.maximum(hours * HOUR - start_epoch, 0.0)
    hi = np.minimum((hours + 1) * HOUR - start_epoch, horizon)
    keep = hi > lo
    lo, hi, hours = lo[keep], hi[keep], hours[keep]
    mult = np.ones(len(hours)) if profile is None else np.asarray(profile, dtype=float)[hours % 24]
    counts = rng.poisson(per_hour * mult * (hi - lo) / HOUR)
    t = np.repeat(lo, counts) + rng.random(int(counts.sum())) * np.repeat(hi - lo, counts)
    return np.sort(t)


def expected_count(per_hour: float, profile: list[float] | None, start_epoch: float, horizon: float) -> float:
    """The mean of :func:`poisson_times`'s count."""
    if per_hour <= 0:
        return 0.0
    if profile is None:
        return per_hour * horizon / HOUR
    days = horizon / 86400.0
    if days > 14:
        return per_hour * sum(profile) * days
    first = math.floor(start_epoch / HOUR)
    total, h = 0.0, first
    while h * HOUR < start_epoch + horizon:
        lo, hi = max(h * HOUR - start_epoch, 0.0), min((h + 1) * HOUR - start_epoch, horizon)
        total += per_hour * profile[h % 24] * max(hi - lo, 0.0) / HOUR
        h += 1
    return total


class SourceTable:
    """The versions of a source's rows (module docstring)."""

    def __init__(self, spec: Source, fields: dict[str, str], delta_name: str | None, mapped: set[str],
                 identity_columns: set[str], rng_changes: np.random.Generator, rng_values: np.random.Generator,
                 start_epoch: float, horizon: float) -> None:
        ch = spec.changes
        self.fields = fields
        self.delta_name = delta_name
        self.start_epoch = start_epoch
        rows = int(spec.rows)
        self.rows = rows
        t_change = poisson_times(rng_changes, ch.per_hour, ch.daily_profile, start_epoch, horizon)
        n = len(t_change)
        update = rng_changes.random(n) < ch.update_share
        if rows == 0 and n:
            update[0] = False
        created_before = np.concatenate(([0], np.cumsum(~update)[:-1])) if n else np.zeros(0, dtype=np.int64)
        existing = rows + created_before
        row = np.where(update, np.floor(rng_changes.random(n) * np.maximum(existing, 1)).astype(np.int64),
                       rows + created_before).astype(np.int64)
        t_hist = -rng_values.random(rows) * spec.history_span
        self.n_changes = n
        self.n_versions = rows + n
        self.n_rows = rows + int((~update).sum())
        self.t = np.concatenate((t_hist, t_change))  # version -> sim time it was written
        self.row = np.concatenate((np.arange(rows, dtype=np.int64), row))  # version -> row
        # links between the versions of one row
        order = np.lexsort((np.arange(self.n_versions), self.row))
        same = self.row[order][1:] == self.row[order][:-1]
        self.prev = np.full(self.n_versions, -1, dtype=np.int64)
        self.next_t = np.full(self.n_versions, np.inf)
        self.prev[order[1:][same]] = order[:-1][same]
        self.next_t[order[:-1][same]] = self.t[order[1:][same]]
        # values, per version
        self.columns: dict[str, tuple[str, Any, Any]] = {}  # name -> (kind, parameter, per-version values)
        nv = self.n_versions
        for name, col in spec.columns.items():
            typ = fields[name]
            if col.kind == "choice":
                assert col.values is not None  # a choice column has its values (validated)
                keys = list(col.values)
                p = np.asarray([col.values[k] for k in keys], dtype=float)
                idx = rng_values.choice(len(keys), size=nv, p=p / p.sum())
                self.columns[name] = ("choice", np.asarray(keys, dtype=object), idx)
            elif col.kind == "uniform":
                vals = col.low + rng_values.random(nv) * (col.high - col.low)
                if typ == "integer":
                    vals = np.floor(col.low + rng_values.random(nv) * (col.high - col.low + 1)).clip(col.low, col.high)
                self.columns[name] = ("uniform", typ, vals)
            elif col.kind == "name":
                self.columns[name] = ("name", None, rng_values.integers(0, len(NAMES), nv))
            else:
                self.columns[name] = (col.kind, col, None)
        self.bad = rng_values.random(nv) < ch.bad_value_share
        self.bad_column = next((c for c in spec.columns if c in mapped and fields[c] != "string"), None)
        self.no_identity = rng_values.random(nv) < ch.missing_identity_share
        self.identity_columns = identity_columns

    def change_times(self) -> np.ndarray:
        return self.t[self.rows:]

    def value(self, name: str, v: int):
        kind, a, b = self.columns[name]
        r = int(self.row[v])
        if kind == "row_id":
            return r if self.fields[name] in ("integer", "number") else str(r)
        if kind == "email":
            return f"c{r}@{a.domain}"
        if kind == "key":
            return f"{a.prefix}{r}"
        if kind == "name":
            return NAMES[int(b[v])]
        if kind == "choice":
            return a[b[v]]
        if kind == "uniform":
            x = float(b[v])
            return int(x) if a == "integer" else x
        return a.value  # constant

    def record(self, v: int, delta_text: str | None) -> dict:
        """The row as a read returns version ``v`` (source attribute -> raw value)."""
        out = {name: self.value(name, v) for name in self.columns}
        if self.no_identity[v]:
            for name in self.identity_columns:
                out[name] = None
        if self.bad[v] and self.bad_column is not None:
            out[self.bad_column] = "n/a"
        if self.delta_name is not None:
            out[self.delta_name] = delta_text
        return out
