"""Matplotlib figures of a run. Figures are built without pyplot, so they render headless and in
notebooks alike; each function accepts an existing ``ax`` to draw into."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def _axes(ax, size=(8, 5)):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def latency_cdf(result, ax=None):
    """Empirical CDF of every stage's latency (log time axis)."""
    fig, ax = _axes(ax)
    for key in result.latency_keys():
        values = np.sort(result.latency(key))
        values = values[values > 0]
        if len(values) == 0:
            continue
        ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", label=f"{key} (n={len(values):,})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (s)")
    ax.set_ylabel("fraction of messages")
    ax.set_title(f"{result.scenario_name}: latency CDF per stage (seed {result.seed})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def e2e_histogram(result, key: str = "click->notification", ax=None):
    """Histogram of one end-to-end latency with its p50/p95/p99 marked."""
    fig, ax = _axes(ax)
    values = result.latency(key)
    if len(values):
        ax.hist(values, bins=min(60, max(10, len(values) // 5)), color="#4472c4", alpha=0.85)
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            v = np.percentile(values, q)
            ax.axvline(v, color="black", linestyle=style, label=f"p{q} = {v:,.1f} s")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no message completed this path", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"{key} latency (s)")
    ax.set_ylabel("messages")
    ax.set_title(f"{result.scenario_name}: {key} (n={len(values):,})")
    return fig


def queues(result, ax=None):
    """Messages waiting in each stage over time (one line per stage, log scale when wide)."""
    fig, ax = _axes(ax, size=(10, 5))
    frame = result.queue_series()
    t = frame.index.to_numpy() / 3600.0 if result.horizon_s >= 7200 else frame.index.to_numpy()
    for column in frame.columns:
        if frame[column].max() > 0:
            ax.plot(t, frame[column].to_numpy(), label=column, drawstyle="steps-post")
    ax.set_xlabel("simulated time (h)" if result.horizon_s >= 7200 else "simulated time (s)")
    ax.set_ylabel("messages in stage")
    ax.set_title(f"{result.scenario_name}: queue length per stage")
    if frame.to_numpy().max(initial=0) > 50 * max(1, np.median(frame.to_numpy().max(axis=0))):
        ax.set_yscale("symlog")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    return fig


def bus(result):
    """Backlog per subscriber (events stored on the bus, not yet processed or lost) and the
    hourly publish allocation used, against the allocation (lowered by allocation_cut faults)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7))
    top, bottom = fig.subplots(2, 1, sharex=True)
    hours = result.horizon_s >= 7200
    scale = 3600.0 if hours else 1.0
    grid = np.linspace(0.0, result.horizon_s, 400)
    for kind, table in result.ledger.tables.items():
        if table.parent_kind == "platform_event":
            backlog = result.occupancy(kind, table.stages[0], table.stages[-1], grid)
            top.plot(grid / scale, backlog, label=kind, drawstyle="steps-post")
    top.set_ylabel("events waiting / in process")
    top.set_title(f"{result.scenario_name}: subscriber backlog and publish allocation")
    top.grid(True, alpha=0.3)
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=8)
    used = result.series.get("publish_allocation_used", [])
    if used:
        t, v = np.array(used).T
        bottom.plot(t / scale, v, drawstyle="steps-post", label="publishes in the rolling hour")
    pipe = result.pipeline
    if pipe is not None:
        cap = [pipe.event_bus.allocation_at(x) for x in grid]
        bottom.plot(grid / scale, cap, color="red", linestyle="--", label="allocation per hour")
    bottom.set_xlabel("simulated time (h)" if hours else "simulated time (s)")
    bottom.set_ylabel("publishes per rolling hour")
    bottom.grid(True, alpha=0.3)
    bottom.legend(fontsize=8)
    return fig


def save_all(result, out_dir: Path) -> list[Path]:
    """Write the standard plots as PNG files into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in (("latency_cdf.png", latency_cdf(result)),
                      ("e2e_histogram.png", e2e_histogram(result)),
                      ("queues.png", queues(result)),
                      ("bus.png", bus(result))):
        path = out_dir / name
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
