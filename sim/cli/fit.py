"""``sim fit STAGES.csv``: fit observed per-stage timestamps and write them into a scenario.

STAGES.csv has one row per message and stage (``--message-column``, ``--stage-column``,
``--time-column``: epoch seconds or ISO 8601). The durations between a message's consecutive
stages are fitted per stage pair (:mod:`sim.domain.fitting`: log-normal, gamma, Weibull by AIC, a
KS test each, the empirical quantiles beside them), printed as a table and written to ``--out``:
with ``--scenario BASE.yaml`` and ``--assign PAIR=FIELD`` (e.g.
``publish->available=event_bus.delivery_latency``) the base scenario with those latency fields set
to the fitted median and 95th percentile, loadable by ``sim run`` (the fits are summed up in its
``description``, and written whole to ``<out>.fits.yaml``); without ``--scenario``, the fits alone.
``--plots DIR`` draws a QQ plot per stage pair.
"""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import fail


@click.command("fit")
@click.argument("stages", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the fitted scenario (with --scenario) or the fits (YAML)")
@click.option("--scenario", "base", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="a scenario whose latencies the fits replace (see --assign)")
@click.option("--assign", "assigns", multiple=True, metavar="PAIR=FIELD",
              help="write the fit of a stage pair into a latency field, e.g. post->ack=webhooks.endpoint.latency")
@click.option("--message-column", default="message_id", show_default=True)
@click.option("--stage-column", default="stage", show_default=True)
@click.option("--time-column", default="time", show_default=True, help="epoch seconds or ISO 8601")
@click.option("--order", default=None, help="the stages in path order, comma-separated (default: by time)")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write a QQ plot per stage pair into this directory")
def fit_cmd(stages: Path, out: Path, base: Path | None, assigns: tuple[str, ...], message_column: str,
            stage_column: str, time_column: str, order: str | None, plots: Path | None) -> None:
    """Fit service-time distributions to observed stage timestamps and write them into a scenario."""
    import numpy as np
    import pandas as pd
    import yaml

    from sim.domain.fitting import FitError, fit_durations, stage_durations
    from sim.io.csvrows import BadInputError
    from sim.io.event_logs import EventLog
    from sim.runs.replay import parse_times

    pairs = {}
    for item in assigns:
        pair, sep, field = item.partition("=")
        if not sep or "->" not in pair or not field:
            fail(f"--assign {item!r}: expected PAIR=FIELD, e.g. post->ack=webhooks.endpoint.latency")
        pairs[pair.strip()] = field.strip()
    if pairs and base is None:
        fail("--assign needs --scenario: the scenario whose latency fields the fits replace")
    try:
        log = EventLog(stages)
        parts = list(log.read_columns([message_column, stage_column, time_column]))
    except BadInputError as exc:
        fail(str(exc))
    if not parts:
        fail(f"{stages}: no rows")
    cols = {k: np.concatenate([p[1][k] for p in parts]) for k in (message_column, stage_column, time_column)}
    t = parse_times(cols[time_column])
    if np.isnan(t).any():
        lines = np.concatenate([p[0] for p in parts])[np.isnan(t)]
        fail(f"{stages}:{int(lines[0])}: time {cols[time_column][np.isnan(t)][0]!r} is not epoch seconds or "
             f"ISO 8601 ({int(np.isnan(t).sum())} such rows)")
    durations = stage_durations(cols[message_column], cols[stage_column], t,
                                order.split(",") if order else None)
    unknown = sorted(set(pairs) - set(durations))
    if unknown:
        fail(f"--assign: no stage pair {', '.join(unknown)} in {stages}; pairs: {', '.join(sorted(durations))}")
    fits, rows = {}, []
    for pair, values in sorted(durations.items()):
        try:
            f = fit_durations(values, pair)
        except FitError as exc:
            click.echo(f"skipped: {exc}", err=True)
            continue
        fits[pair] = f
        b = f.best
        rows.append({"stage": pair, "n": f.n, "best": b.family, "median_s": b.median, "p95_s": b.p95,
                     "data_median_s": f.empirical_median, "data_p95_s": f.empirical_p95, "aic": b.aic,
                     "ks_p": b.ks_pvalue,
                     "others": ", ".join(f"{o.family} (AIC +{o.aic - b.aic:.1f})" for o in f.fits[1:])})
    if not fits:
        fail(f"{stages}: no stage pair had enough durations to fit")
    click.echo(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
    document = {pair: {"n": f.n, "family": f.best.family, "params": list(f.best.params), "median_s": f.best.median,
                       "p95_s": f.best.p95, "aic": f.best.aic, "ks_statistic": f.best.ks_statistic,
                       "ks_pvalue": f.best.ks_pvalue,
                       "alternatives": {o.family: {"aic": o.aic, "ks_pvalue": o.ks_pvalue} for o in f.fits[1:]}}
                for pair, f in fits.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    if base is not None:
        from sim.scenario.load import ScenarioError, apply_overrides, read_yaml, validate

        try:
            raw = read_yaml(base)
            changes = {field: {"median": float(fits[p].best.median), "p95": float(fits[p].best.p95)}
                       for p, field in pairs.items() if p in fits}
            fitted = apply_overrides(raw, changes, source="--assign")
            note = "; ".join(f"{field} <- {p}: {fits[p].best.family} median {fits[p].best.median:.4g} s, "
                             f"p95 {fits[p].best.p95:.4g} s (n={fits[p].n}, KS p={fits[p].best.ks_pvalue:.3g})"
                             for p, field in pairs.items() if p in fits)
            fitted["description"] = (str(raw.get("description", "")) + f" [fitted by sim fit from {stages.name}: "
                                     f"{note}]").strip()
            validate(fitted, str(out))
        except ScenarioError as exc:
            fail(str(exc))
        out.write_text(yaml.safe_dump(fitted, sort_keys=False))
        fits_path = out.with_name(out.stem + ".fits.yaml")
        fits_path.write_text(yaml.safe_dump({"fits": document}, sort_keys=False))
        written = [out, fits_path]
    else:
        out.write_text(yaml.safe_dump({"fits": document}, sort_keys=False))
        written = [out]
    if plots is not None:
        from sim.report.fit_plots import qq

        plots.mkdir(parents=True, exist_ok=True)
        for pair, f in fits.items():
            path = plots / f"qq_{pair.replace('->', '_to_').replace('/', '_')}.png"
            qq(durations[pair], f).savefig(path, dpi=100)
            written.append(path)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")
