"""sim: a discrete-event digital twin of a Customer Data Platform activation pipeline.

Public API::

    import sim
    result = sim.run("scenarios/b2b_pricing_alert.yaml", seed=7, overrides={"visitors.rate_per_s": 4})
    result.summary()          # pandas DataFrame, one row per stage
    result.latency("click->notification")
    result.to_json("out/summary.json")
"""

from sim.core.ledger import ConservationError
from sim.result import RunResult
from sim.runner import run
from sim.scenario.load import ScenarioError, load
from sim.scenario.models import Scenario

__all__ = ["run", "load", "Scenario", "RunResult", "ScenarioError", "ConservationError"]
