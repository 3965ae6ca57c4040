"""The ``sim`` command line.

* ``sim run SCENARIO [--seed N] [--set key=value ...] [--out DIR]``: simulate, print the summary
  table, write ``summary.json`` and PNG plots into DIR.
* ``sim validate [--json FILE] [--quick]``: the queueing kernel against theory.

Bad input (an unknown scenario field, a bad duration, a negative rate) prints one line per problem
naming the field and what is allowed, and exits with code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli.common import SEED, WORKERS, FiniteFloat, check_size, parse_sets, simulate, writable_dir
from sim.core.clock import process_wall_s
from sim.report.tables import make_console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdp-twin", prog_name="sim")
def main() -> None:
    """A digital twin of a CDP activation pipeline (Data Cloud -> Platform Events -> CRM Flow)."""


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=SEED, default=None, help="random seed (default: the scenario's)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a parameter by dotted path, e.g. --set visitors.rate_per_s=40")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True,
              help="directory for summary.json and plots")
@click.option("--no-plots", is_flag=True, help="skip the PNG plots")
@click.option("--quiet", "-q", is_flag=True, help="no table, no progress bar")
@click.option("--replications", type=click.IntRange(min=2, max=100_000), default=None,
              help="independent replications (seeds derived from --seed); reports means and 95 % CIs")
@click.option("--warmup", default="0s", show_default=True, help="replications: time dropped from the statistics")
@click.option("--until-precision", type=FiniteFloat(0.0, 1e6), default=None,
              help="replications: add runs until every headline metric's relative CI half-width is below this")
@click.option("--max-replications", type=click.IntRange(min=2, max=100_000), default=200, show_default=True)
@click.option("--workers", type=WORKERS, default=None, help="replications: worker processes")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="refuse runs estimated above this (e.g. 16GB; default: 80 % of the available memory)")
def run_cmd(scenario: Path, seed: int | None, sets: tuple[str, ...], out: Path, no_plots: bool, quiet: bool,
            replications: int | None, warmup: str, until_precision: float | None, max_replications: int,
            workers: int | None, max_memory: str | None) -> None:
    """Simulate SCENARIO once (or --replications times) and report latency, throughput and losses."""
    from sim.report.tables import print_summary
    from sim.runs.runner import run

    if replications is not None or until_precision is not None:
        from sim.cli.experiments import run_replications

        writable_dir(out, "--out")
        run_replications(scenario, seed, parse_sets(sets), out, replications or 5, warmup, until_precision,
                         max_replications, workers, quiet, max_memory)
        return
    console = make_console()
    overrides = parse_sets(sets)
    writable_dir(out, "--out")
    simulate(check_size, scenario, overrides, max_memory, figures=not no_plots)
    result = simulate(run, scenario, seed=seed, overrides=overrides, progress=not quiet, max_memory=max_memory)
    for warning in result.warnings():
        click.echo(f"warning: {warning}", err=True)
    paths = result.write(out, plots=not no_plots, command=" ".join(["sim", *sys.argv[1:]]))
    if not quiet:
        print_summary(result, console)
        console.print(f"wrote {', '.join(str(p) for p in paths)} ({process_wall_s():.1f} s wall, "
                      f"{result.wall_s:.1f} s simulating)", soft_wrap=True)


@main.command("validate")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the rows as a JSON list to this file")
@click.option("--quick", is_flag=True, help="fewer customers and replications (seconds, for smoke tests)")
@click.option("--replications", type=click.IntRange(min=2, max=100_000), default=None, help="replications per model")
@click.option("--customers", type=click.IntRange(min=1000, max=100_000_000), default=None,
              help="customers per replication")
@click.option("--seed", type=SEED, default=2026, show_default=True)
def validate_cmd(json_path: Path | None, quick: bool, replications: int | None, customers: int | None,
                 seed: int) -> None:
    """Check the queueing kernel against M/M/1, M/M/c, M/D/1 and tandem (Jackson) theory."""
    import json

    from sim.validation.queueing import print_rows, validate_all

    rows = validate_all(quick=quick, replications=replications, customers=customers, seed=seed,
                        progress=sys.stderr.isatty())
    print_rows(rows, make_console())
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if not all(r["ok"] for r in rows):
        sys.exit(1)


@main.command("compare")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=SEED, default=None, help="one seed for every variant")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a parameter in every variant")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the table as CSV")
@click.option("--quiet", "-q", is_flag=True, help="no progress")
@click.option("--max-memory", default=None, metavar="SIZE", help="refuse variants estimated above this (e.g. 16GB)")
def compare_cmd(scenario: Path, seed: int | None, sets: tuple[str, ...], out: Path | None, quiet: bool,
                max_memory: str | None) -> None:
    """Run the scenario's variants on the same traffic and compare intents caught and time to action."""
    from sim.results.variants import compare

    if out is not None:
        writable_dir(out.parent, "--out")
    table, results = simulate(compare, scenario, seed=seed, overrides=parse_sets(sets), progress=not quiet,
                              max_memory=max_memory)
    for warning in sorted({w for r in results.values() for w in r.warnings()}):
        click.echo(f"warning: {warning}", err=True)
    click.echo(table.to_string(float_format=lambda x: f"{x:,.1f}"))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out)


from sim.cli.identity import identity  # noqa: E402  (sub-command group)

main.add_command(identity)

from sim.cli.aep import aep  # noqa: E402  (sub-command group)
from sim.cli.experiments import results_cmd, sweep_cmd  # noqa: E402
from sim.cli.insights import insights  # noqa: E402  (sub-command group)

main.add_command(insights)
main.add_command(sweep_cmd)
main.add_command(results_cmd)
main.add_command(aep)
