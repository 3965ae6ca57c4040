"""Figures of an ``aep_dataflows`` run: the freshness distribution with the schedule interval
marked, and rows per run and API calls per run over time."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from sim.report.plots import _time_axis, line_styles, new_figure


def _fmt_s(s: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.3g} s"


def freshness(result):
    """Histogram of source change -> profile (hours or minutes), p50/p95 and each flow's schedule
    interval (and half of it, the mean wait for the next run) marked."""
    fig = new_figure((9, 5))
    ax = fig.add_subplot()
    values = result.latency("change->profile")
    periods = sorted({a.flow.schedule.period_s for a in result.pipeline.flows if a.flow.schedule.period_s})
    top = max([values.max() if len(values) else 0.0, *periods]) if periods or len(values) else 1.0
    scale, unit = (3600.0, "h") if top >= 3 * 3600 else (60.0, "min")
    if len(values):
        ax.hist(values / scale, bins=min(80, max(10, len(values) // 20)), color="#4472c4", alpha=0.85,
                label=f"changes (n={len(values):,})")
        for q, style in ((50, "-"), (95, "--")):
            v = np.percentile(values, q)
            ax.axvline(v / scale, color="black", linestyle=style, label=f"p{q} = {_fmt_s(round(v))}")
    else:
        ax.text(0.5, 0.5, "no change reached the profile", ha="center", va="center", transform=ax.transAxes)
    for p in periods:
        ax.axvline(p / scale, color="red", linestyle=":", linewidth=2, label=f"schedule interval {_fmt_s(p)}")
        ax.axvline(p / 2 / scale, color="orange", linestyle=":", linewidth=1.5,
                   label=f"half the interval {_fmt_s(p / 2)}")
    ax.set_xlabel(f"freshness: source change -> profile ({unit})")
    ax.set_ylabel("changes")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{result.scenario_name}: freshness (seed {result.seed})")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig


def runs(result):
    """Per dataflow: rows read per run (top) and API calls per run (bottom), at each run's start;
    failed runs marked with a cross, skipped runs with a tick on the axis."""
    fig = new_figure((10, 7))
    top, bottom = fig.subplots(2, 1, sharex=True)
    scale, xlabel = _time_axis(result)
    flows = result.pipeline.flows
    for actor, style in zip(flows, line_styles(len(flows))):
        log = [r for r in actor.runlog if r["started"] is not None and r["started"] <= result.horizon_s]
        t = np.array([r["started"] for r in log]) / scale
        top.plot(t, [r["rows_read"] for r in log], marker=".", label=actor.label, drawstyle="steps-post", **style)
        bottom.plot(t, [r["api_calls"] for r in log], marker=".", label=actor.label, drawstyle="steps-post",
                    **style)
        failed = [r for r in log if r["outcome"] == "quota_exhausted"]
        if failed:
            bottom.scatter([r["started"] / scale for r in failed], [r["api_calls"] for r in failed], marker="x",
                           color="red", zorder=3, label=f"{actor.label}: failed (quota)")
        skipped = [r["scheduled"] / scale for r in actor.runlog if r["outcome"] == "skipped_overlap"]
        if skipped:
            top.scatter(skipped, np.zeros(len(skipped)), marker="|", color="grey", s=80,
                        label=f"{actor.label}: skipped (overlap)")
    top.set_ylabel("rows read per run")
    bottom.set_ylabel("API calls per run")
    bottom.set_xlabel(xlabel)
    top.set_title(f"{result.scenario_name}: dataflow runs")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper left")
    return fig
