"""Parameter sweeps: grids and Latin-hypercube samples, replicated on common random numbers.

``sweep(scenario, grid={"crm.flow.batch_size": [200, 2000]}, lhs={"visitors.rate_per_s": (1, 10)},
samples=8, replications=5, store="runs.duckdb", executor="local")`` builds the variants (the
cartesian product of the grid, crossed with the LHS samples when both are given), gives replication
``k`` of every variant the same seed (so variants differ by design, not by noise), skips runs the
store already holds with status ok, runs the rest on the executor, and writes each run to the store
as it finishes. With ``until_precision`` it then adds replications to the variants whose headline
metrics are not yet precise enough. A run that raises is recorded (error, traceback) and the sweep goes on; Ctrl-C
stops it cleanly and keeps what finished.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.units import parse_duration
from sim.experiments.executors import make_executor
from sim.experiments.metrics import HEADLINE
from sim.experiments.stats import summarize
from sim.experiments.store import Store, check_file
from sim.experiments.tasks import make_task, run_task
from sim.runs import budget
from sim.scenario.load import ScenarioError, derive, load
from sim.systems import get as get_system


def lhs_samples(ranges: Mapping[str, tuple[float, float]], samples: int, seed: int) -> list[dict[str, Any]]:
    """Latin-hypercube points over ``ranges`` (``scipy.stats.qmc``); integer bounds give integers."""
    from scipy.stats import qmc

    names = list(ranges)
    unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(samples)
    lo = np.array([float(ranges[n][0]) for n in names])
    hi = np.array([float(ranges[n][1]) for n in names])
    points = qmc.scale(unit, lo, hi) if len(names) else unit
    out = []
    for row in points:
        point: dict[str, Any] = {}
        for name, value in zip(names, row):
            a, b = ranges[name]
            if _integers(a, b):  # int(): round() of a numpy float is a numpy float before numpy 2
                point[name] = int(round(value))  # noqa: RUF046
            else:  # strictly inside the range, as check_lhs assumes (scaling may round up to hi)
                inner_lo, inner_hi = _inner(a, b)
                point[name] = min(max(float(value), inner_lo), inner_hi)
        out.append(point)
    return out


def _integers(lo, hi) -> bool:
    """Integer bounds give integer samples, which reach both ends."""
    return isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool) and not isinstance(hi, bool)


def _inner(lo: float, hi: float) -> tuple[float, float]:
    """The closest floats inside ``(lo, hi)``: the ends a float sample can take (the ends themselves
    when no float lies between them)."""
    a, b = math.nextafter(float(lo), float(hi)), math.nextafter(float(hi), float(lo))
    return (a, b) if a <= b else (float(lo), float(hi))


def variants(grid: Mapping[str, Sequence] | None = None, lhs: Mapping[str, tuple] | None = None,
             samples: int = 0, seed: int = 1) -> list[dict[str, Any]]:
    """The override sets of a sweep, in a stable order."""
    grid = dict(grid or {})
    points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]
    if lhs:
        return [{**p, **q} for p in points for q in lhs_samples(lhs, samples, seed)]
    return points


def check_lhs(base, lhs: Mapping[str, tuple] | None) -> None:
    """Refuse (ScenarioError, one line naming the end) an LHS range a sample could fall outside the
    field's bounds from, before anything is drawn. Integer ranges reach their ends; float samples
    stay strictly inside, so an end on an exclusive bound (``rate_per_s=0:5`` for a rate > 0) is
    allowed when the closest float inside it is."""
    for key, (lo, hi) in (lhs or {}).items():
        integers = _integers(lo, hi)
        inner = _inner(lo, hi)  # the ends a float sample can take
        for end, inside in zip((lo, hi), inner):
            try:
                derive(base, {key: end}, f"--lhs {key}={lo}:{hi}")
            except ScenarioError as refused:  # the message names the end the user wrote
                if not _allows(base, key, inside):
                    raise
                if integers:
                    raise ScenarioError(f"{refused} (integer bounds draw integers, which reach their "
                                        f"ends; for real numbers write {float(lo)!r}:{float(hi)!r})") from None


def _allows(base, key: str, value: float) -> bool:
    try:
        derive(base, {key: value}, "")
    except ScenarioError:
        return False
    return True


@dataclass
class SweepResult:
    """What a sweep produced (this call's runs plus those already in the store)."""

    runs: list[dict] = field(default_factory=list)
    skipped: int = 0
    interrupted: bool = False
    variants: list[dict] = field(default_factory=list)
    stored_warnings: list[str] = field(default_factory=list)  # those of the runs read back from the store

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.runs if r["status"] != "ok"]

    def warnings(self) -> list[str]:
        """The distinct warnings of the sweep's runs (settings without effect, as ``sim run`` gives
        them), those read back from the store first, each once, in the order they first came."""
        return list(dict.fromkeys([*self.stored_warnings, *(w for r in self.runs for w in r.get("warnings", ()))]))

    def table(self, metrics: Sequence[str] = HEADLINE, level: float = 0.95) -> pd.DataFrame:
        """One row per variant and metric: mean and CI over this call's ok runs."""
        rows = []
        for v in self.variants:
            runs = [r["metrics"] for r in self.runs if r["status"] == "ok" and r["overrides"] == v]
            if not runs:
                continue
            s = summarize(runs, list(metrics), level).reset_index()
            for key, value in v.items():
                s.insert(0, key, [value] * len(s))
            rows.append(s)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def sweep(scenario, grid: Mapping[str, Sequence] | None = None, lhs: Mapping[str, tuple] | None = None,
          samples: int = 0, replications: int = 5, seed: int = 1, warmup: str | float = 0.0,
          overrides: Mapping[str, Any] | None = None, executor="local", workers: int | None = None,
          scheduler: str | None = None, store: str | Path | None = None,
          progress: Callable[[int, int, int], None] | None = None, until_precision: float | None = None,
          max_replications: int = 50, headline: Sequence[str] | None = None,
          max_memory: str | int | float | None = None) -> SweepResult:
    """Run a sweep (see the module docstring). ``progress(done, failed, total)`` after each run.
    With ``until_precision``, variants whose headline metrics have a relative 95 % CI half-width
    above the target get more replications (same seeds as the other variants' replication k),
    up to ``max_replications`` each. A variant too large to run ``workers`` at once within
    ``max_memory`` (default: 80 % of the available memory) is refused before anything runs."""
    if store is not None:
        check_file(store)  # a file that is not a store is refused before anything is loaded or run
    base = load(scenario, overrides)
    headline = tuple(headline or get_system(base.system).headline)
    try:
        warmup_s = parse_duration(warmup)
    except ValueError as exc:
        raise ScenarioError(f"--warmup: {exc}") from None
    raw = base.model_dump(mode="json")
    raw.pop("variants", None)
    digest = base.digest()
    check_lhs(base, lhs)
    points = variants(grid, lhs, samples, seed)
    for point in points:
        variant = derive(base, point, f"sweep {point}")  # every variant is checked before anything runs
        if warmup_s >= variant.horizon:
            raise ScenarioError(f"sweep {point}: warmup {warmup_s:g} s must be shorter than the horizon")
        budget.check(get_system(variant.system).estimate(variant), f"sweep {point}", max_memory,
                     copies=budget.copies_at_once(executor if scheduler is None else "remote", workers))
    result = SweepResult(variants=points)
    count = dict.fromkeys(range(len(points)), replications)
    todo = [(i, k) for i in range(len(points)) for k in range(replications)]
    db = Store(store) if store is not None else None  # StoreError (one line) before anything runs
    try:
        pool = make_executor(executor, workers, scheduler)
    except BaseException:
        if db is not None:
            db.close()
        raise
    metrics: dict[int, list[dict]] = {i: [] for i in range(len(points))}
    try:
        while todo:
            tasks = [make_task(raw, base.name, digest, points[i], seed, k, warmup_s) for i, k in todo]
            where = {t["run_id"]: i for t, (i, _) in zip(tasks, todo)}
            if db is not None:
                stored = db.metrics_of([t["run_id"] for t in tasks])
                result.skipped += len(stored)
                kept = db.warnings_of([t["run_id"] for t in tasks if t["run_id"] in stored])
                result.stored_warnings += [w for t in tasks for w in kept.get(t["run_id"], ())]
                for rid, m in stored.items():
                    metrics[where[rid]].append(m)
                tasks = [t for t in tasks if t["run_id"] not in stored]
            try:
                for run in pool.run(run_task, tasks):
                    if db is not None:
                        db.write(run)
                    result.runs.append(run)
                    if run["status"] == "ok":
                        metrics[where[run["run_id"]]].append(run["metrics"])
                    if progress is not None:
                        progress(len(result.runs) - len(result.failed), len(result.failed), len(tasks))
            except KeyboardInterrupt:
                result.interrupted = True
                break
            todo = []
            if until_precision is not None:
                for i in range(len(points)):
                    rel = summarize(metrics[i], list(headline))["rel_half_width"]
                    if count[i] < max_replications and not (rel.fillna(np.inf) < until_precision).all():
                        extra = min(max(2, replications // 2), max_replications - count[i])
                        todo += [(i, k) for k in range(count[i], count[i] + extra)]
                        count[i] += extra
    finally:
        pool.close(cancel=result.interrupted)
        if db is not None:
            db.close()
    result.runs.sort(key=lambda r: (points.index(r["overrides"]) if r["overrides"] in points else -1,
                                    r["replication"]))
    return result
