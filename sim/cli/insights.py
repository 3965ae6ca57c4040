"""``sim insights replay``: replay an event log through insight definitions.

``sim insights replay --insight INSIGHT.yaml [--insight MORE.yaml] EVENTS.csv --out FIRINGS.csv
[--time-column event_time] [--group-column profile_id] [--rules RULES.yaml] [--on-bad-row skip|fail]``

FIRINGS.csv: ``insight,group,fired_at,window_start,measure`` in firing order, times in epoch
seconds. The summary gives, per insight, events read, matching, late, firings, and the rejected
rows with their line numbers. Exit code 2 for a bad definition, a missing column or a bad row under
``fail``.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.report.tables import make_console

if TYPE_CHECKING:
    from sim.io.csvrows import OnBadRow

MAX_BAD_SHOWN = 20


@click.group("insights")
def insights() -> None:
    """Streaming Insights: replay event logs through insight definitions."""


@insights.command("replay")
@click.option("--insight", "insight_paths", required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), help="INSIGHT.yaml (repeat for several)")
@click.argument("events", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FIRINGS.csv")
@click.option("--time-column", default="event_time", show_default=True, help="event time: epoch s or ISO 8601")
@click.option("--group-column", default=None, help="the group key column (default: the insight's group_by)")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="identity RULES.yaml: group by the unified profile resolved from its namespace columns")
@click.option("--on-bad-row", type=click.Choice(["skip", "fail"]), default="skip", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="no summary, no progress bar")
def replay_cmd(insight_paths: tuple[Path, ...], events: Path, out: Path, time_column: str, group_column: str | None,
               rules_path: Path | None, on_bad_row: OnBadRow, quiet: bool) -> None:
    """Evaluate insights over EVENTS (a CSV with a header row) and write their firings."""
    from sim.domain.identity import RulesError, load_rules
    from sim.domain.insight_spec import InsightError, load_insight
    from sim.io.csvrows import BadInputError
    from sim.report.progress import progress_counter
    from sim.runs.replay import replay

    console = make_console()
    say = partial(console.print, soft_wrap=True, markup=False, highlight=False)
    started = time.perf_counter()
    try:
        specs = [load_insight(p) for p in insight_paths]
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InsightError(f"insight names must differ; repeated: {', '.join(dup)}")
        rules = load_rules(rules_path) if rules_path else None
        with progress_counter("replaying", enabled=not quiet, unit="events") as advance:
            result = replay(specs, events, out, time_column=time_column, group_column=group_column, rules=rules,
                            on_bad_row=on_bad_row, progress=advance)
    except (InsightError, RulesError, BadInputError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    wall = time.perf_counter() - started
    if quiet:
        return
    for t in result.insights:
        say(f"{t.name}: events read {result.events:,}, matching {t.matching:,}, late {t.late:,} "
            f"(matching {t.late_matching:,}), bad values {t.bad_values:,}, firings {t.firings:,}, "
            f"peak window state {t.max_state:,}")
    if result.profiles is not None:
        say(f"identity: {result.profiles:,} unified profiles, {result.merges:,} merges")
    say(f"rejected rows {len(result.rejected):,}")
    for bad in result.rejected[:MAX_BAD_SHOWN]:
        say(f"  {bad}")
    if len(result.rejected) > MAX_BAD_SHOWN:
        say(f"  ... and {len(result.rejected) - MAX_BAD_SHOWN:,} more")
    rate = result.events / wall if wall > 0 else float("inf")
    say(f"firings {result.firings:,} written to {out} in {wall:.2f} s ({rate:,.0f} events/s)")
