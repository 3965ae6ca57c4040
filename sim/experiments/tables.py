"""Reading a results store: ``sim.results.load("runs.duckdb")`` gives pandas DataFrames, and
:func:`compare` the table that ``sim results`` prints (one row per variant, mean and 95 % CI of the
headline metrics over its replications)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

import pandas as pd

from sim.experiments.metrics import HEADLINE
from sim.experiments.stats import mean_ci
from sim.experiments.store import load

__all__ = ["compare", "load"]


def compare(store: str | Path, scenario: str | None = None, metrics: Sequence[str] = HEADLINE,
            level: float = 0.95) -> pd.DataFrame:
    """One row per (scenario, variant): runs, failed, and ``<metric>`` mean with ``<metric>±``
    (the CI half-width) for each metric."""
    tables = load(store)
    runs, wide = tables["runs"], tables["wide"]
    if scenario is not None:
        runs = runs[runs["scenario"] == scenario]
        wide = wide[wide["scenario"] == scenario]
    rows = []
    for (name, overrides), group in runs.groupby(["scenario", "overrides"], sort=True):
        ok = wide[wide["run_id"].isin(group.loc[group["status"] == "ok", "run_id"])]
        row = {"scenario": name, **json.loads(cast(str, overrides)), "runs": int((group["status"] == "ok").sum()),
               "failed": int((group["status"] != "ok").sum())}
        for m in metrics:
            mean, half, _ = mean_ci(ok[m].tolist() if m in ok else [], level)
            row[m] = mean
            row[f"{m}±"] = half
        rows.append(row)
    groups = runs.groupby(["scenario", "overrides"]).groups
    params = sorted({k for (_, overrides) in cast(Iterable[tuple[str, str]], groups) for k in json.loads(overrides)})
    rows.sort(key=lambda r: (r["scenario"], *(_order(r.get(p)) for p in params)))
    return pd.DataFrame(rows)


def headline_of(store: str | Path, scenario: str | None = None) -> list[str]:
    """The headline metrics of the systems whose runs the store holds (Data Cloud's when it holds
    none), so that ``sim results`` shows each system's own columns."""
    from sim.systems import NAMES, get

    wide = load(store)["wide"]
    if scenario is not None:
        wide = wide[wide["scenario"] == scenario]
    out: list[str] = []
    for name in NAMES:
        headline = get(name).headline
        if any(m in wide and wide[m].notna().any() for m in headline):
            out += [m for m in headline if m not in out]
    return out or list(HEADLINE)


def _order(value) -> tuple:
    """Sort key of a parameter value: numbers by value (10 before 100), then text, then missing."""
    if isinstance(value, bool) or value is None:
        return (2, str(value))
    if isinstance(value, (int, float)):
        return (0, float(value))
    return (1, str(value))
