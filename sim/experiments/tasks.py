"""One unit of experiment work: a scenario variant with a seed, run anywhere (a worker process, a
Dask worker) and returned as plain data. The run id is a hash of everything that determines the
result, so a store can tell a run it already has."""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from typing import Any

from sim.core.rng import derive_seed


def replication_seed(root: int, replication: int) -> int:
    """The seed of replication ``k``: the same in every variant of a sweep (common random numbers)."""
    return derive_seed(root, "replication", replication)


def run_id(scenario_hash: str, overrides: dict, seed: int, replication: int, warmup_s: float) -> str:
    text = json.dumps([scenario_hash, overrides, seed, replication, warmup_s], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def make_task(scenario_raw: dict, scenario_name: str, scenario_hash: str, overrides: dict, root_seed: int,
              replication: int, warmup_s: float) -> dict[str, Any]:
    seed = replication_seed(root_seed, replication)
    return {"run_id": run_id(scenario_hash, overrides, seed, replication, warmup_s), "scenario": scenario_raw,
            "scenario_name": scenario_name, "scenario_hash": scenario_hash, "overrides": overrides, "seed": seed,
            "replication": replication, "warmup_s": warmup_s}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; never raises: a failure is returned with its error and traceback."""
    from sim.experiments.metrics import run_histograms, run_metrics
    from sim.runs.runner import run, version

    started = time.perf_counter()
    out = {k: task[k] for k in ("run_id", "scenario_name", "scenario_hash", "overrides", "seed", "replication",
                                 "warmup_s")}
    out["version"] = version()
    try:
        result = run(task["scenario"], seed=task["seed"], overrides=task["overrides"], progress=False)
        out.update(status="ok", error=None, traceback=None, metrics=run_metrics(result, task["warmup_s"]),
                   histograms=run_histograms(result, task["warmup_s"]), warnings=result.warnings())
    except Exception as exc:  # recorded, and the experiment goes on
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
                   metrics={}, histograms=[], warnings=[])
    out["wall_s"] = time.perf_counter() - started
    return out
