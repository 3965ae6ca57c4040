"""Results: one run's :class:`~sim.results.run_result.RunResult`, the comparison of a scenario's
variants (:mod:`sim.results.variants`), and (as ``sim.results.load("runs.duckdb")`` and
``sim.results.compare(store)``) the results store read back as tables
(:mod:`sim.experiments.tables`, imported when first used)."""

from __future__ import annotations

from typing import Any

__all__ = ["compare", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sim.experiments import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'sim.results' has no attribute {name!r}")
