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


class _Sim(click.Group):
    """The command group; Ctrl-C ends any command with exit code 130 and one line (click's own
    handling says "Aborted!" and exits 1, which a script cannot tell from a failure)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Sim, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("--events", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="drive the run from this event log (CSV, JSON Lines, Parquet) instead of the traffic model")
@click.option("--map", "maps", multiple=True, metavar="NAME=COLUMN",
              help="--events: the log's column for time, user, page, email, contact (default: the same name)")
@click.option("--speedup", type=FiniteFloat(0.0, 1e6), default=1.0, show_default=True,
              help="--events: divide the time between events by this")
@click.option("--copies", type=click.IntRange(min=1, max=1000), default=1, show_default=True,
              help="--events: superpose this many copies of the log, each with users of its own")
@click.option("--shift", default="0s", show_default=True, help="--events: copy k starts k x this later")
@click.option("--max-disorder", default="5m", show_default=True,
              help="--events: rows out of time order by more than this are rejected")
@click.option("--on-bad-row", type=click.Choice(["skip", "fail"]), default="skip", show_default=True,
              help="--events: report bad rows and go on, or stop at the first")
@click.option("--ledger", type=click.Choice(["full", "aggregate"]), default="full", show_default=True,
              help="aggregate: keep clicks as streaming aggregates instead of every stage time "
                   "(bounded memory for very long runs; percentiles from histograms)")
def run_cmd(scenario: Path, seed: int | None, sets: tuple[str, ...], out: Path, no_plots: bool, quiet: bool,
            replications: int | None, warmup: str, until_precision: float | None, max_replications: int,
            workers: int | None, max_memory: str | None, events: Path | None, maps: tuple[str, ...],
            speedup: float, copies: int, shift: str, max_disorder: str, on_bad_row: str, ledger: str) -> None:
    """Simulate SCENARIO once (or --replications times) and report latency, throughput and losses."""
    from sim.cli.common import fail
    from sim.report.tables import print_summary
    from sim.runs.runner import run

    if ledger != "full" and (replications is not None or until_precision is not None):
        fail(f"--ledger {ledger}: replications keep the full ledger (their warm-up cuts every latency); "
             "run them without --ledger")
    if replications is not None or until_precision is not None:
        from sim.cli.experiments import run_replications

        writable_dir(out, "--out")
        run_replications(scenario, seed, parse_sets(sets), out, replications or 5, warmup, until_precision,
                         max_replications, workers, quiet, max_memory)
        return
    console = make_console()
    overrides = parse_sets(sets)
    writable_dir(out, "--out")
    options = {}
    if events is not None:
        options["visitors"] = trace = trace_log(events, maps, speedup, copies, shift, max_disorder, on_bad_row)
        if "horizon" not in overrides:  # the run covers the whole log
            overrides["horizon"] = simulate(trace.horizon_s)
    simulate(check_size, scenario, overrides, max_memory, figures=not no_plots, ledger=ledger, **options)
    result = simulate(run, scenario, seed=seed, overrides=overrides, progress=not quiet, max_memory=max_memory,
                      ledger=ledger, aside=True, **options)
    for warning in result.warnings():
        click.echo(f"warning: {warning}", err=True)
    paths = result.write(out, plots=not no_plots, command=" ".join(["sim", *sys.argv[1:]]), aside=True)
    if not quiet:
        print_summary(result, console)
        console.print(f"wrote {', '.join(str(p) for p in paths)} ({process_wall_s():.1f} s wall, "
                      f"{result.wall_s:.1f} s simulating)", soft_wrap=True)


def trace_log(events: Path, maps: tuple[str, ...], speedup: float, copies: int, shift: str, max_disorder: str,
              on_bad_row: str):
    """The event log of ``--events`` with its options (exit 2 on a bad one)."""
    from sim.actors.data_cloud.trace import TraceLog
    from sim.cli.common import fail
    from sim.core.units import parse_duration
    from sim.io.csvrows import BadInputError

    mapping = {}
    for item in maps:
        name, sep, column = item.partition("=")
        if not sep or not name or not column:
            fail(f"--map {item!r}: expected NAME=COLUMN, e.g. time=ts")
        mapping[name.strip()] = column.strip()
    try:
        return TraceLog(events, mapping, speedup=speedup, copies=copies, shift=parse_duration(shift),
                        max_disorder=parse_duration(max_disorder), on_bad_row=on_bad_row)  # type: ignore[arg-type]
    except (BadInputError, ValueError) as exc:
        fail(f"--events {events}: {exc}" if str(events) not in str(exc) else str(exc))


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


@main.command("calibrate")
@click.option("--replications", type=click.IntRange(min=2, max=1000), default=5, show_default=True)
@click.option("--seed", type=SEED, default=1, show_default=True, help="root seed of the replications")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the table as CSV (figure, published, twin, ci_low, ci_high, inside, ...)")
@click.option("--quiet", "-q", is_flag=True, help="no progress")
def calibrate_cmd(replications: int, seed: int, out: Path | None, quiet: bool) -> None:
    """The defaults against the vendors' published figures, with 95 % CIs over replications."""
    from sim.report.progress import ProgressBar
    from sim.runs.calibrate import calibrate

    if out is not None:
        writable_dir(out.parent, "--out")
    with ProgressBar(not quiet, "calibrate") as bar:
        table = calibrate(replications=replications, seed=seed, progress=bar)
    shown = table[["figure", "published", "twin", "ci_low", "ci_high", "inside"]]
    click.echo(shown.to_string(index=False, float_format=lambda x: f"{x:,.1f}" if abs(x) >= 10 else f"{x:.3g}"))
    if out is not None:
        table.to_csv(out, index=False)
    if not table["inside"].all():
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
from sim.cli.fit import fit_cmd  # noqa: E402
from sim.cli.insights import insights  # noqa: E402  (sub-command group)

main.add_command(insights)
main.add_command(sweep_cmd)
main.add_command(results_cmd)
main.add_command(aep)
main.add_command(fit_cmd)
