"""Independent replications of one scenario, with confidence intervals.

``replicate(scenario, replications=20, seed=1, warmup="30m")`` runs replication ``k`` with seed
``derive_seed(seed, "replication", k)``, drops the warm-up from the statistics and returns, for each
metric, the mean over replications and a Student-t 95 % confidence interval (for a percentile: the
interval of the replication values of that percentile), plus the half-width relative to the mean.
With ``until_precision=0.05`` it keeps adding replications until every headline metric's relative
half-width is below 5 % (or ``max_replications`` is reached).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.core.units import parse_duration
from sim.experiments.executors import make_executor
from sim.experiments.metrics import HEADLINE
from sim.experiments.stats import summarize
from sim.experiments.tasks import make_task, run_task
from sim.runs import budget
from sim.scenario.load import ScenarioError, load
from sim.systems import get as get_system


@dataclass
class Replications:
    """The runs of a replication experiment and their summary."""

    scenario: str
    runs: list[dict] = field(default_factory=list)
    headline: tuple[str, ...] = HEADLINE
    level: float = 0.95

    @property
    def ok_runs(self) -> list[dict]:
        return [r for r in self.runs if r["status"] == "ok"]

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.runs if r["status"] != "ok"]

    def table(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """mean, ci_low, ci_high, half_width, rel_half_width, n per metric (all metrics by default)."""
        return summarize([r["metrics"] for r in self.ok_runs], metrics, self.level)

    def headline_table(self) -> pd.DataFrame:
        return self.table(list(self.headline))

    def precise(self, target: float) -> bool:
        rel = self.headline_table()["rel_half_width"]
        return bool(len(rel)) and bool((rel.fillna(np.inf) < target).all())

    def to_dict(self) -> dict:
        table = self.table()
        return {"scenario": self.scenario, "replications": len(self.ok_runs), "failed": len(self.failed),
                "seeds": [r["seed"] for r in self.ok_runs],
                "metrics": {m: {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                            for m, row in table.iterrows()}}


def replicate(scenario, replications: int = 20, seed: int = 1, warmup: str | float = 0.0,
              overrides: Mapping[str, Any] | None = None, until_precision: float | None = None,
              max_replications: int = 200, headline: Sequence[str] | None = None, executor="local",
              workers: int | None = None, scheduler: str | None = None, progress=None,
              max_memory: str | int | float | None = None) -> Replications:
    """Run replications (see the module docstring). ``progress(done, failed, total)`` is called
    after each run. Runs too large to execute ``workers`` at once within ``max_memory`` are refused
    before anything runs."""
    sc = load(scenario, overrides)
    try:
        warmup_s = parse_duration(warmup)
    except ValueError as exc:
        raise ScenarioError(f"--warmup: {exc}") from None
    if warmup_s >= sc.horizon:
        raise ScenarioError(f"--warmup: {warmup_s:g} s must be shorter than the horizon {sc.horizon:g} s")
    budget.check(get_system(sc.system).estimate(sc), sc.name, max_memory,
                 copies=budget.copies_at_once(executor if scheduler is None else "remote", workers))
    raw = sc.model_dump(mode="json")
    raw.pop("variants", None)
    digest = sc.digest()
    out = Replications(sc.name, headline=tuple(headline or get_system(sc.system).headline))
    pool = make_executor(executor, workers, scheduler)
    try:
        next_k = 0
        batch = replications
        while True:
            tasks = [make_task(raw, sc.name, digest, {}, seed, k, warmup_s) for k in range(next_k, next_k + batch)]
            next_k += batch
            for result in pool.run(run_task, tasks):
                out.runs.append(result)
                if progress is not None:
                    progress(len(out.ok_runs), len(out.failed), next_k)
            if until_precision is None or out.precise(until_precision) or next_k >= max_replications:
                break
            batch = min(max(2, replications // 2), max_replications - next_k)
    finally:
        pool.close()
    out.runs.sort(key=lambda r: r["replication"])
    return out
