"""The twinned systems, by the name a scenario's ``system:`` key gives.

Each system module declares its message kinds, latency keys, throughput map, how it builds its
actors from its scenario, and its extra results (see :mod:`sim.systems.base`). Everything above
(run, results, compare, replications, sweeps, the store, plots, report) reads the system.
"""

from __future__ import annotations

from typing import Any

from sim.systems.base import System

NAMES = ("data_cloud", "dynamics_journeys", "aep_dataflows")


def get(name: str) -> System[Any]:
    """The system called ``name`` (one of :data:`NAMES`)."""
    if name == "data_cloud":
        from sim.systems.data_cloud import SYSTEM as DATA_CLOUD

        return DATA_CLOUD
    if name == "dynamics_journeys":
        from sim.systems.dynamics import SYSTEM as DYNAMICS

        return DYNAMICS
    if name == "aep_dataflows":
        from sim.systems.aep import SYSTEM as AEP

        return AEP
    raise ValueError(f"system {name!r} is not a twinned system")
