"""What a twinned system declares, so that everything above it (run, results, compare,
replications, sweeps, the store, plots, report.html, conservation) works without special cases.

A system is one module in :mod:`sim.systems` holding a :class:`System`:

* its **message kinds** (:class:`Kind`: stages in path order, and the kind its parent ids point
  to), chosen from its scenario (a kind the scenario does not use is not registered);
* its **cross-kind latency keys** (:class:`CrossKey`: from a stage of an ancestor to a stage of a
  descendant, e.g. ``click->notification``), the first of which present in a run is its
  end-to-end headline (``e2e``), and its **throughput map** (actor -> the (kind, stage) pairs whose
  stamps count the messages leaving it; a ``None`` stage counts deliveries);
* how to **build** its actors from its scenario section (each actor gets its own settings);
* its **extra results** (intents, journeys, freshness) for ``summary.json``, the comparison row of
  one variant, its headline metrics for experiments, and its extra figures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.scenario.common import ScenarioBase

if TYPE_CHECKING:
    from sim.results.run_result import RunResult

S = TypeVar("S", bound=ScenarioBase)  # the scenario model of a system

BASE_BYTES = 150e6  # the interpreter and the libraries a run imports


@dataclass(frozen=True)
class Kind:
    """A message kind: its stages in path order (the first is creation) and its parent kind."""

    name: str
    stages: tuple[str, ...]
    parent: str | None = None


@dataclass(frozen=True)
class CrossKey:
    """A latency from ``origin_stage`` of an ancestor of kind ``origin_kind`` to ``stage`` of a
    message of ``kind`` (found through the parent ids)."""

    key: str
    kind: str
    stage: str
    origin_kind: str
    origin_stage: str


@dataclass(frozen=True)
class Estimate:
    """A run's expected size before it starts: messages by kind, and memory in bytes for the
    simulation (ledger, actors' state, the summary) and for drawing its figures."""

    messages: dict[str, float]
    memory_bytes: float
    figures_bytes: float = 0.0

    def describe(self) -> str:
        """The expected messages, e.g. ``43.2M clicks``."""
        parts = ", ".join(f"{n / 1e6:,.1f}M {kind}s" if n >= 1e6 else f"{n:,.0f} {kind}s"
                          for kind, n in self.messages.items() if n)
        return parts or "few messages"


@dataclass
class Pipeline:
    """The wired actors of one run of a system."""

    ctx: RunContext
    scenario: ScenarioBase
    system: System[Any]
    # the actors, and a visitor model of the user's (any object: ``name``, ``held(horizon)`` and
    # ``counts()`` are read when present)
    actors: list[Actor | Any] = field(default_factory=list)

    def start_aside(self) -> None:
        """Move work that does not depend on the run (exogenous traffic) to a forked process, if
        the system has such work (:func:`sim.runs.runner.execute` with ``aside``)."""

    def collect_aside(self) -> None:
        """Bring back the state the work moved aside reached (called when the run reached its
        horizon, before its actors are asked what they hold and count)."""

    def end_aside(self) -> None:
        """End what :meth:`start_aside` started (also after an error)."""


class System(ABC, Generic[S]):
    """Base of the twinned systems; see the module docstring. ``S`` is the system's scenario
    model (e.g. :class:`~sim.scenario.data_cloud.DataCloudScenario`)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    progress_kind: ClassVar[str] = ""  # the kind counted in progress lines (e.g. clicks)
    headline: ClassVar[tuple[str, ...]] = ()  # experiment metrics followed by --until-precision
    aggregate_kinds: ClassVar[tuple[str, ...]] = ()  # kinds an aggregate ledger folds (sim.core.folding)

    @abstractmethod
    def kinds(self, scenario: S) -> list[Kind]:
        """The message kinds a run of ``scenario`` creates (only those its actors use)."""

    def cross_keys(self, kinds: dict[str, Kind]) -> list[CrossKey]:
        """End-to-end keys of the registered ``kinds`` (first: the headline end-to-end key)."""
        return []

    def throughput(self, kinds: dict[str, Kind]) -> dict[str, list[tuple[str, str | None]]]:
        return {}

    @abstractmethod
    def build(self, scenario: S, seed: int, **options: Any) -> Pipeline:
        """Wire the actors of ``scenario`` for one run with ``seed``."""

    def estimate(self, scenario: S, **options: Any) -> Estimate:
        """The expected messages and memory of a run of ``scenario`` (see :mod:`sim.runs.budget`)."""
        return Estimate({}, BASE_BYTES)

    def extra_results(self, result: RunResult) -> dict[str, Any]:
        """Sections of ``summary.json`` beyond the shared ones, e.g. ``{"intents": {...}}``."""
        return {}

    def warnings(self, result: RunResult) -> list[str]:
        return []

    def variant_row(self, result: RunResult) -> dict[str, Any]:
        """This system's columns of one variant's row in ``sim compare``."""
        return {}

    def summary_lines(self, result: RunResult) -> list[str]:
        """Lines the console summary of ``sim run`` prints after the shared ones."""
        return []

    def report_tables(self, result: RunResult) -> dict[str, Any]:
        """Tables (pandas DataFrames) ``report.html`` shows after the shared ones, by heading."""
        return {}

    def extra_figures(self, result: RunResult) -> dict[str, Any]:
        """Figures beyond the shared ones, by file name."""
        return {}

    def series_limits(self, result: RunResult, grid: np.ndarray) -> dict[str, np.ndarray]:
        return {}
