"""Experiment commands: ``sim run --replications``, ``sim sweep`` and ``sim results``."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from sim.cli.common import COUNT, SEED, WORKERS, FiniteFloat, fail, parse_sets
from sim.report.tables import make_console
from sim.scenario.errors import ScenarioError


def _fmt(table, index: bool = False) -> str:
    from sim.report.tables import experiment_table

    return experiment_table(table).to_string(float_format=lambda x: f"{x:,.4g}", index=index)


def run_replications(scenario: Path, seed: int | None, overrides: dict, out: Path, replications: int, warmup: str,
                     until_precision: float | None, max_replications: int, workers: int | None, quiet: bool,
                     max_memory: str | None = None) -> None:
    from sim.experiments.replicate import replicate
    from sim.report.progress import ProgressBar
    from sim.scenario.load import load

    try:
        root = load(scenario, overrides).seed if seed is None else seed
        with ProgressBar(not quiet, "replications") as bar:
            reps = replicate(scenario, replications=replications, seed=root, warmup=warmup, overrides=overrides,
                             until_precision=until_precision, max_replications=max_replications,
                             workers=workers, progress=bar, max_memory=max_memory)
    except ScenarioError as exc:
        fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    (out / "replications.json").write_text(json.dumps(reps.to_dict(), indent=2) + "\n", encoding="utf-8")
    reps.table().to_csv(out / "replications.csv")
    if quiet:
        return
    console = make_console()
    console.print(f"{reps.scenario}: {len(reps.ok_runs)} replications (root seed {root}, warm-up {warmup}), "
                  f"{len(reps.failed)} failed", soft_wrap=True)
    click.echo(_fmt(reps.headline_table(), index=True))
    if until_precision is not None:
        ok = reps.precise(until_precision)
        click.echo(f"precision target {until_precision:g}: {'met' if ok else 'NOT met'} after {len(reps.ok_runs)} "
                   f"replications (max {max_replications})")
    for failed in reps.failed[:5]:
        click.echo(f"failed replication {failed['replication']}: {failed['error']}", err=True)
    click.echo(f"wrote {out / 'replications.json'}, {out / 'replications.csv'} (all metrics)")


def _parse_grid(items: tuple[str, ...]) -> dict:
    from sim.scenario.load import parse_override_value

    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values:
            fail(f"--grid {item!r}: expected key=v1,v2,... e.g. crm.flow.batch_size=200,2000")
        grid[key.strip()] = [parse_override_value(v) for v in values.split(",")]
    return grid


def _lhs_number(text: str) -> int | float:
    """An integer if written as one, else a finite real number (``1e3``, ``0.5``); not YAML, which
    reads ``2:3`` as a base-60 number."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        value = float(text)  # ValueError for anything else
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _parse_lhs(items: tuple[str, ...]) -> dict:
    ranges = {}
    for item in items:
        key, sep, bounds = item.partition("=")
        try:
            if not sep or not key.strip() or bounds.count(":") != 1:
                raise ValueError(item)
            lo, hi = bounds.split(":")
            a, b = _lhs_number(lo), _lhs_number(hi)
            if not a < b:
                raise ValueError(item)
        except ValueError:
            fail(f"--lhs {item!r}: expected key=lo:hi with numbers lo < hi (integers draw integers), "
                 "e.g. visitors.rate_per_s=1.0:10")
        ranges[key.strip()] = (a, b)
    return ranges


@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", multiple=True, metavar="KEY=V1,V2", help="a grid parameter (repeat for more)")
@click.option("--lhs", multiple=True, metavar="KEY=LO:HI", help="a Latin-hypercube parameter range")
@click.option("--samples", type=COUNT, default=10, show_default=True, help="LHS samples")
@click.option("--replications", type=COUNT, default=5, show_default=True)
@click.option("--seed", type=SEED, default=None, help="root seed (default: the scenario's)")
@click.option("--warmup", default="0s", show_default=True)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a parameter in every variant")
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=Path("runs.duckdb"),
              show_default=True, help="DuckDB results store (runs already there are skipped)")
@click.option("--executor", type=click.Choice(["local", "dask", "serial"]), default="local", show_default=True)
@click.option("--scheduler", default=None, help="dask: scheduler address tcp://host:8786 (default: a LocalCluster)")
@click.option("--workers", type=WORKERS, default=None, help="processes (local) or LocalCluster workers")
@click.option("--until-precision", type=FiniteFloat(0.0, 1e6), default=None,
              help="add replications to variants whose headline metrics' relative CI half-width exceeds this")
@click.option("--max-replications", type=COUNT, default=50, show_default=True,
              help="per variant, with --until-precision")
@click.option("--quiet", "-q", is_flag=True, help="no progress")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="refuse variants whose runs, as many at once as there are workers, would exceed this (e.g. 16GB)")
def sweep_cmd(scenario: Path, grid: tuple[str, ...], lhs: tuple[str, ...], samples: int, replications: int,
              seed: int | None, warmup: str, sets: tuple[str, ...], store: Path, executor: str, scheduler: str | None,
              workers: int | None, until_precision: float | None, max_replications: int, quiet: bool,
              max_memory: str | None) -> None:
    """Run SCENARIO over a grid and/or LHS samples, replicated, into a results store."""
    from sim.experiments.store import StoreError
    from sim.experiments.sweep import sweep
    from sim.report.progress import ProgressBar
    from sim.scenario.load import load

    g, ranges = _parse_grid(grid), _parse_lhs(lhs)
    if not g and not ranges:
        fail("sim sweep: give at least one --grid or --lhs parameter, e.g. --grid crm.flow.batch_size=200,2000")
    overrides = parse_sets(sets)
    try:
        root = load(scenario, overrides).seed if seed is None else seed
        with ProgressBar(not quiet, "sweep") as bar:
            result = sweep(scenario, grid=g, lhs=ranges, samples=samples if ranges else 0, replications=replications,
                           seed=root, warmup=warmup, overrides=overrides, executor=executor, workers=workers,
                           scheduler=scheduler, store=store, progress=bar, until_precision=until_precision,
                           max_replications=max_replications, max_memory=max_memory)
    except (ScenarioError, StoreError) as exc:
        fail(str(exc))
    ok = len(result.runs) - len(result.failed)
    more = f" (up to {max_replications} where needed)" if until_precision is not None else ""
    click.echo(f"{len(result.variants)} variants x {replications} replications{more}: {ok} run, {len(result.failed)} "
               f"failed, {result.skipped} already in {store}" + (" (interrupted)" if result.interrupted else ""))
    for failed in result.failed[:5]:
        click.echo(f"failed {failed['overrides']} replication {failed['replication']}: {failed['error']}", err=True)
    for warning in result.warnings():  # each distinct one once, as `sim run` gives them
        click.echo(f"warning: {warning}", err=True)
    from sim.experiments.tables import compare
    from sim.systems import get as get_system

    base = load(scenario, overrides)
    click.echo(_fmt(compare(store, base.name, get_system(base.system).headline)))
    if result.interrupted:
        sys.exit(130)


@click.command("results")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=Path("runs.duckdb"),
              show_default=True, help="the store, when TARGET is a scenario")
@click.option("--metric", "metrics", multiple=True, help="metrics to compare (default: the headline ones)")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def results_cmd(target: Path, store: Path, metrics: tuple[str, ...], csv_path: Path | None) -> None:
    """Compare the variants in a results store (TARGET: a .duckdb store, or a scenario in --store)."""
    from sim.experiments.tables import compare, headline_of
    from sim.scenario.load import load

    scenario = None
    if target.suffix != ".duckdb":
        try:
            scenario = load(target).name
        except ScenarioError as exc:
            fail(str(exc))
        path = store
    else:
        path = target
    from sim.experiments.store import StoreError

    try:
        table = compare(path, scenario, metrics or headline_of(path, scenario))
    except (FileNotFoundError, StoreError) as exc:
        fail(str(exc))
    if table.empty:
        fail(f"{path}: no runs" + (f" of scenario {scenario!r}" if scenario else ""))
    click.echo(_fmt(table))
    if csv_path is not None:
        table.to_csv(csv_path, index=False)
