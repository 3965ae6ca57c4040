"""sim: a discrete-event digital twin of Customer Data Platform activation pipelines.

Public API::

    import sim
    result = sim.run("scenarios/b2b_pricing_alert.yaml", seed=7, overrides={"visitors.rate_per_s": 4})
    result.summary()          # pandas DataFrame, one row per stage
    result.latency("click->notification")
    result.to_json("out/summary.json")
    table, results = sim.compare("scenarios/crm_outage.yaml")   # the variants on the same traffic
    reps = sim.replicate("scenarios/b2b_pricing_alert.yaml", replications=20, seed=1, warmup="30m")
    reps.headline_table()     # mean and 95 % CI per metric
    sim.sweep(scenario, grid={"crm.flow.batch_size": [200, 2000]}, replications=5, store="runs.duckdb")
    sim.results.load("runs.duckdb")   # runs, metrics, histograms, wide

Names are imported when first used, so ``import sim`` (and ``sim --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "run": ("sim.runs.runner", "run"),
    "load": ("sim.scenario.load", "load"),
    "compare": ("sim.results.variants", "compare"),
    "replicate": ("sim.experiments.replicate", "replicate"),
    "sweep": ("sim.experiments.sweep", "sweep"),
    "results": ("sim.results", None),
    "Scenario": ("sim.scenario.models", "Scenario"),
    "RunResult": ("sim.results.run_result", "RunResult"),
    "ScenarioError": ("sim.scenario.load", "ScenarioError"),
    "ConservationError": ("sim.core.ledger", "ConservationError"),
}

__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    module, attr = _PUBLIC[name]
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
