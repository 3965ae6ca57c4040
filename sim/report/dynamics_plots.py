"""Figures of a Dynamics 365 journeys run (``system: dynamics_journeys``): customers per journey and
wait tile over time, and trigger -> first step latency against the published P90/P95."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from sim.report.plots import _time_axis, line_styles, new_figure, shade_faults

ENVELOPE = ((180.0, "published P90 < 180 s"), (300.0, "published P95 < 300 s"))


def journey_tiles(result, points: int = 400):
    """Customers in each journey and waiting at each wait tile over time (step lines)."""
    fig = new_figure((10, 5))
    ax = fig.add_subplot()
    scale, xlabel = _time_axis(result)
    grid = np.linspace(0.0, result.horizon_s, points)
    series = result.pipeline.orchestrator.tile_series(grid)
    for (label, values), style in zip(series.items(), line_styles(len(series))):
        ax.plot(grid / scale, values, label=label, drawstyle="steps-post", **style)
    if not series:
        ax.text(0.5, 0.5, "no customer entered a journey", ha="center", va="center", transform=ax.transAxes)
    elif not any(np.any(values) for values in series.values()):  # not a flat line on a ±0.05 axis
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, f"no customer was in a journey at any of the {points} sampled times\n"
                "(a journey without a wait tile is passed in an instant)",
                ha="center", va="center", transform=ax.transAxes)
    shade_faults(ax, result, scale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("customers")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{result.scenario_name}: customers per journey and wait tile")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def trigger_latency(result):
    """Histogram of trigger -> first journey step with the measured p90/p95 and the published
    P90 = 180 s and P95 = 300 s lines."""
    fig = new_figure((9, 5))
    ax = fig.add_subplot()
    values = result.latency("trigger->first_step")
    env = result.extras()["trigger_processing"]
    if len(values):
        ax.hist(values, bins=min(80, max(10, len(values) // 20)), color="#4472c4", alpha=0.85)
        for v, style, label in ((env["p90_s"], "-", "measured p90"), (env["p95_s"], "--", "measured p95")):
            ax.axvline(v, color="black", linestyle=style, label=f"{label} = {v:,.0f} s")
    else:
        ax.text(0.5, 0.5, "no trigger reached a journey", ha="center", va="center", transform=ax.transAxes)
    for (v, label), style in zip(ENVELOPE, ("-", "--")):
        ax.axvline(v, color="#c62828", linestyle=style, label=label)
    verdict = "inside" if env["inside_envelope"] else "OUTSIDE"
    ax.set_title(f"{result.scenario_name}: trigger -> first step (n={len(values):,}; {verdict} the envelope; "
                 f"dropped {env['dropped_trigger_overload']:,})", fontsize=10)
    ax.set_xlabel("trigger -> first journey step (s)")
    ax.set_ylabel("triggers")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig
