"""``sim identity resolve``: identity resolution of CSV files with a rules file (files in, files out).

``sim identity resolve --rules RULES.yaml INPUT.csv [MORE.csv ...] --out PROFILES.csv
[--profiles-out UNIFIED.csv] [--id-column rec_id] [--on-bad-row skip|fail] [--explain A B]``

PROFILES.csv has ``rec_id,profile_id`` for every good input record, in input order; profile ids
are 0, 1, … in order of each profile's oldest record. The summary
gives records, profiles, links by rule, refused links and records, bad rows (file:line: reason)
and the speed. Exit code 2 for a bad rules file, a missing column or a bad row under ``fail``.
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


@click.group("identity")
def identity() -> None:
    """Identity resolution: match rules, identity graph, unified profiles."""


@identity.command("resolve")
@click.option("--rules", "rules_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="RULES.yaml: namespaces, match_rules, blocking, limits, reconciliation")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PROFILES.csv: rec_id,profile_id for every record")
@click.option("--profiles-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the reconciled unified profiles (one row per profile)")
@click.option("--id-column", default="rec_id", show_default=True, help="the column holding record ids")
@click.option("--on-bad-row", type=click.Choice(["skip", "fail"]), default="skip", show_default=True,
              help="skip malformed rows (reported with file and line) or stop at the first")
@click.option("--explain", nargs=2, multiple=True, metavar="REC_A REC_B",
              help="print the chain of links (rules) that puts two records in one profile")
@click.option("--quiet", "-q", is_flag=True, help="no summary, no progress bar")
def resolve_cmd(rules_path: Path, inputs: tuple[Path, ...], out: Path, profiles_out: Path | None, id_column: str,
                on_bad_row: OnBadRow, explain: tuple[tuple[str, str], ...], quiet: bool) -> None:
    """Resolve the records of INPUT files (together) into unified profiles."""
    import numpy as np
    import pandas as pd

    from sim.domain.identity import RulesError, load_rules, reconcile, resolve
    from sim.io.csvrows import BadInputError
    from sim.io.records import SOURCE, TIME, read_records
    from sim.report.progress import progress_counter

    console = make_console()
    say = partial(console.print, soft_wrap=True, markup=False, highlight=False)
    show = not quiet
    started = time.perf_counter()
    try:
        rules = load_rules(rules_path)
        rec = rules.reconciliation
        with progress_counter("reading", enabled=show) as advance:
            table = read_records(inputs, id_column, rules.fields(), rec.updated_field, rec.source_field,
                                 on_bad_row, progress=advance)
    except (RulesError, BadInputError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    frame = table.frame
    read_s = time.perf_counter() - started
    t0 = time.perf_counter()
    with progress_counter("resolving", total=len(frame), enabled=show, unit="records") as advance:
        resolver, profile = resolve(frame, rules, progress=advance)
    resolve_s = time.perf_counter() - t0
    profile = np.unique(profile, return_inverse=True)[1]  # 0, 1, ... in order of each profile's age
    written = [str(out)]
    target, flag = out, "--out"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({id_column: frame["rec_id"], "profile_id": profile}).to_csv(out, index=False)
        if profiles_out is not None:
            target, flag = profiles_out, "--profiles-out"
            attributes = [c for c in frame.columns if c not in ("rec_id", SOURCE, TIME)]
            unified = reconcile(frame, profile, rules, attributes,
                                time_column=TIME if rec.updated_field else None, source_column=SOURCE)
            profiles_out.parent.mkdir(parents=True, exist_ok=True)
            unified.to_csv(profiles_out, index=False)
            written.append(str(profiles_out))
    except OSError as exc:
        click.echo(f"error: {flag} {target}: cannot be written ({exc.strerror or exc})", err=True)
        sys.exit(2)
    if quiet:
        return
    st = resolver.stats()
    n = len(frame)
    rate = n / resolve_s if resolve_s > 0 else float("inf")
    say(f"records {n:,} ({', '.join(f'{Path(p).name}: {k:,}' for p, k in table.rows_by_file.items())}); "
                  f"profiles {st.profiles:,}; candidate pairs {resolver.candidate_pairs:,}")
    links = ", ".join(f"{r}={k:,}" for r, k in st.links_by_rule.items()) or "none"
    say(f"links by rule: {links}")
    refused = ", ".join(f"{r}={k:,}" for r, k in st.refused_by_rule.items())
    say(f"refused links {st.refused_links:,}{f' ({refused})' if refused else ''}; refused records "
                  f"{st.refused_records:,}; identities deleted (graph limit) {st.evicted_identities:,}; "
                  f"blocks too large to pair {st.skipped_blocks:,}")
    say(f"bad rows {len(table.bad):,}")
    for bad in table.bad[:MAX_BAD_SHOWN]:
        say(f"  {bad}")
    if len(table.bad) > MAX_BAD_SHOWN:
        say(f"  ... and {len(table.bad) - MAX_BAD_SHOWN:,} more")
    for a, b in explain:
        _print_explain(say, resolver, a, b)
    say(f"resolved in {resolve_s:.2f} s ({rate:,.0f} records/s; reading {read_s:.2f} s); "
                  f"wrote {', '.join(written)}")


def _print_explain(say, resolver, a: str, b: str) -> None:
    pa, pb = resolver.profile_of(a), resolver.profile_of(b)
    if pa is None or pb is None:
        unknown = a if pa is None else b
        say(f"explain {a} / {b}: no record {unknown!r}")
        return
    if pa != pb:
        say(f"explain {a} / {b}: not one profile (no chain of links joins them)")
        return
    say(f"explain {a} / {b}: one profile, through these links:")
    for step in resolver.explain(a, b):
        extra = f" score={step['score']}" if "score" in step else ""
        say(f"  {step['from']} -- {step['rule']} (source {step['source']}, t={step['t']:g}){extra} "
                      f"-- {step['to']}")
