"""sim: a discrete-event digital twin of a Customer Data Platform activation pipeline.

Public API::

    import sim
    result = sim.run("scenarios/b2b_pricing_alert.yaml", seed=7, overrides={"visitors.rate_per_s": 4})
    result.summary()          # pandas DataFrame, one row per stage
    result.latency("click->notification")
    result.to_json("out/summary.json")
    reps = sim.replicate("scenarios/b2b_pricing_alert.yaml", replications=20, seed=1, warmup="30m")
    reps.headline_table()     # mean and 95 % CI per metric
    sim.sweep(scenario, grid={"crm.flow.batch_size": [200, 2000]}, replications=5, store="runs.duckdb")
    sim.results.load("runs.duckdb")   # runs, metrics, histograms, wide
"""

from sim import results
from sim.core.ledger import ConservationError
from sim.experiments.replicate import replicate
from sim.experiments.sweep import sweep
from sim.result import RunResult
from sim.runner import run
from sim.scenario.load import ScenarioError, load
from sim.scenario.models import Scenario

__all__ = ["run", "load", "replicate", "sweep", "results", "Scenario", "RunResult", "ScenarioError",
           "ConservationError"]
