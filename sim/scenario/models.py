"""The scenario models, one per twinned system, and the registry that picks one by ``system:``.

``data_cloud`` (the default; seed 000) is :class:`~sim.scenario.data_cloud.DataCloudScenario`,
also known as :class:`Scenario`; ``dynamics_journeys`` (seed 001) is
:class:`~sim.scenario.dynamics.DynamicsScenario`. Every model shares the header of
:class:`~sim.scenario.common.ScenarioBase`.
"""

from __future__ import annotations

from sim.scenario.aep import AepScenario
from sim.scenario.common import SYSTEMS, FaultSpec, Latency, Model, ScenarioBase, latency  # noqa: F401
from sim.scenario.data_cloud import *  # noqa: F403
from sim.scenario.data_cloud import DataCloudScenario
from sim.scenario.dynamics import DynamicsScenario

Scenario = DataCloudScenario  # the default system's model

MODELS: dict[str, type[ScenarioBase]] = {"data_cloud": DataCloudScenario, "dynamics_journeys": DynamicsScenario,
                                         "aep_dataflows": AepScenario}


def model_for(system: object) -> type[ScenarioBase]:
    """The scenario model of ``system``; ValueError naming the systems there are."""
    if system in MODELS:
        return MODELS[system]
    known = ", ".join(MODELS)
    planned = [s for s in SYSTEMS if s not in MODELS]
    raise ValueError(f"system: {system!r} is not a twinned system; allowed: {known}"
                     + (f" (planned: {', '.join(planned)})" if planned else ""))
