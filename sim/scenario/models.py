"""The scenario models, one per twinned system, and the registry that picks one by ``system:``.

``data_cloud`` (the default; seed 000) is :class:`~sim.scenario.data_cloud.DataCloudScenario`,
also known as :class:`Scenario`; ``dynamics_journeys`` (seed 001) is
:class:`~sim.scenario.dynamics.DynamicsScenario`. Every model shares the header of
:class:`~sim.scenario.common.ScenarioBase`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import ClassVar

from sim.scenario.common import SYSTEMS, FaultSpec, Latency, Model, ScenarioBase, latency  # noqa: F401
from sim.scenario.data_cloud import *  # noqa: F403
from sim.scenario.data_cloud import DataCloudScenario

Scenario = DataCloudScenario  # the default system's model


class _Models(Mapping[str, type[ScenarioBase]]):
    """``system:`` name -> scenario model, each system's module imported when first asked for
    (a Data Cloud run does not pay for the AEP and Dynamics models' imports)."""

    _where: ClassVar[dict[str, tuple[str, str]]] = {
        "data_cloud": ("sim.scenario.data_cloud", "DataCloudScenario"),
        "dynamics_journeys": ("sim.scenario.dynamics", "DynamicsScenario"),
        "aep_dataflows": ("sim.scenario.aep", "AepScenario")}

    def __getitem__(self, system: str) -> type[ScenarioBase]:
        module, name = self._where[system]
        return getattr(importlib.import_module(module), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, system: object) -> bool:
        return isinstance(system, str) and system in self._where


MODELS: Mapping[str, type[ScenarioBase]] = _Models()


def __getattr__(name: str) -> type[ScenarioBase]:
    """``DynamicsScenario`` and ``AepScenario`` stay importable from here, loaded on first use."""
    for system, (_, cls) in _Models._where.items():
        if name == cls:
            return MODELS[system]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_for(system: object) -> type[ScenarioBase]:
    """The scenario model of ``system``; ValueError naming the systems there are."""
    if system in MODELS:
        return MODELS[system]  # type: ignore[index]
    known = ", ".join(MODELS)
    planned = [s for s in SYSTEMS if s not in MODELS]
    raise ValueError(f"system: {system!r} is not a twinned system; allowed: {known}"
                     + (f" (planned: {', '.join(planned)})" if planned else ""))
