"""Running a scenario: build the actors, advance the clock to the horizon, check conservation."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.ledger import ConservationError, check_conservation, describe_loss
from sim.report.progress import ProgressLines
from sim.results.run_result import RunResult
from sim.runs import budget
from sim.scenario.common import ScenarioBase
from sim.scenario.errors import ScenarioError
from sim.scenario.load import load
from sim.systems import get as get_system
from sim.systems.base import Pipeline

PROGRESS_STEPS = 200


def version() -> str:
    try:
        from importlib.metadata import version

        return version("cdp-twin")
    except Exception:  # pragma: no cover - not installed
        return "0+unknown"


def _advance(pipe: Pipeline, horizon: float, progress: bool | None, label: str) -> None:
    """Run to the horizon. ``progress``: None shows a bar on a terminal and nothing otherwise; True
    shows the bar on a terminal and otherwise a line every few seconds on stderr; False nothing."""
    env = pipe.ctx.env
    tty = sys.stderr.isatty()
    if not progress and not (progress is None and tty):
        env.run(until=horizon)
        return

    kind = pipe.system.progress_kind
    counted = pipe.ctx.ledger.tables.get(kind)

    def status() -> str:
        return f"t={env.now:,.0f}/{horizon:,.0f} s" + (f" {kind}s={counted.n:,}" if counted is not None else "")

    if not tty:
        with ProgressLines(label, total=horizon, unit="simulated s") as lines:
            for k in range(1, PROGRESS_STEPS + 1):
                env.run(until=horizon * k / PROGRESS_STEPS)
                lines.update(env.now, status())
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[sim]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=PROGRESS_STEPS, sim="")
        for k in range(1, PROGRESS_STEPS + 1):
            env.run(until=horizon * k / PROGRESS_STEPS)
            bar.update(task, advance=1, sim=status())


def run(scenario: str | Path | ScenarioBase | dict, seed: int | None = None,
        overrides: Mapping[str, Any] | None = None, *, progress: bool | None = None,
        check: bool = True, max_memory: str | int | float | None = None, ledger: str = "full",
        aside: bool = False, **options: Any) -> RunResult:
    """Simulate a scenario once.

    ``scenario`` is a YAML path, a dict or a scenario model; ``overrides`` maps dotted paths to
    values (``{"visitors.rate_per_s": 40}``); ``seed`` defaults to the scenario's. ``options`` go
    to the system's builder (Data Cloud: ``visitors=`` swaps in another traffic model, see
    :meth:`sim.systems.data_cloud.DataCloud.build`). ``progress``: True shows a progress bar on a
    terminal and a line every few seconds on stderr otherwise; None (the default) a bar on a
    terminal only; False nothing. With ``check`` (the default) a conservation failure raises
    :class:`~sim.core.ledger.ConservationError`. A run whose estimated memory exceeds the limit
    (``max_memory``, default 80 % of the available memory) is refused before it starts
    (:class:`~sim.runs.budget.RunTooLarge`). ``ledger="aggregate"`` keeps the system's
    high-volume kind (Data Cloud: clicks) as streaming aggregates instead of every stage time
    (:mod:`sim.core.folding`: bounded memory, histogram percentiles, a digest of its own).
    ``aside``: work that does not depend on the run (Data Cloud: the web traffic) is done by a
    forked process on another core (the same result; ``sim run`` uses it).
    """
    sc = load(scenario, overrides)
    seed = sc.seed if seed is None else int(seed)
    started = time.perf_counter()
    system = get_system(sc.system)
    aggregate = aggregated_kinds(system, ledger)
    budget.check(system.estimate(sc, ledger=ledger, **options), sc.name, max_memory)
    pipe = system.build(sc, seed, **({"ledger": ledger} if aggregate else {}), **options)
    return execute(pipe, progress=progress, check=check, started=started, aside=aside)


LEDGER_MODES = ("full", "aggregate")


def aggregated_kinds(system, ledger: str) -> tuple[str, ...]:
    """The kinds ``ledger`` mode keeps as aggregates; ScenarioError for an unknown mode or a
    system without an aggregate mode."""
    if ledger not in LEDGER_MODES:
        raise ScenarioError(f"ledger: {ledger!r} is not a ledger mode; allowed: {', '.join(LEDGER_MODES)}")
    if ledger == "full":
        return ()
    if not system.aggregate_kinds:
        raise ScenarioError(f"ledger: 'aggregate' is not available for the {system.name} system, which keeps "
                            "every stage time; allowed: full")
    return tuple(system.aggregate_kinds)


def execute(pipe: Pipeline, *, progress: bool | None = None, check: bool = True,
            started: float | None = None, aside: bool = False) -> RunResult:
    """Advance a wired pipeline to its horizon, check conservation, and collect the result.

    ``started`` (a ``time.perf_counter()`` reading) dates ``wall_s``; by default, now. ``aside``:
    see :func:`run`.
    """
    started = time.perf_counter() if started is None else started
    try:
        if aside:
            pipe.start_aside()
        return _execute(pipe, progress, check, started)
    finally:
        if aside:
            pipe.end_aside()


def _execute(pipe: Pipeline, progress: bool | None, check: bool, started: float) -> RunResult:
    sc = pipe.scenario
    horizon = pipe.ctx.horizon
    _advance(pipe, horizon, progress, sc.name)
    pipe.collect_aside()
    held: dict[str, list[np.ndarray]] = {}
    for actor in pipe.actors:
        held_by = getattr(actor, "held", None)  # a user's visitor model may hold nothing
        for kind, parts in (held_by(horizon) if held_by else {}).items():
            held.setdefault(kind, []).extend(parts)
    report = check_conservation(pipe.ctx.ledger, held, horizon)
    if check and not report.ok:
        raise ConservationError(describe_loss(pipe.ctx.ledger, report, horizon), report)
    pipe.ctx.ledger.finish()  # aggregate kinds fold their last messages
    return RunResult(
        scenario_name=sc.name,
        scenario_digest=sc.digest(),
        seed=pipe.ctx.rng.seed,
        horizon_s=horizon,
        ledger=pipe.ctx.ledger,
        conservation=report,
        counts={getattr(actor, "name", "visitors"): actor.counts() for actor in pipe.actors
                if callable(getattr(actor, "counts", None))},
        series=dict(pipe.ctx.series),
        wall_s=time.perf_counter() - started,
        version=version(),
        pipeline=pipe,
        system=pipe.system,
    )
