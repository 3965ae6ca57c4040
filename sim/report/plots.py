"""Matplotlib figures of a run.

Figures are built without pyplot, so they render headless and in notebooks alike, and they are
:class:`ReportFigure` objects, which Jupyter displays inline as PNG with no magic. Each function
accepts an existing ``ax`` to draw into. Time-series plots shade the scenario's fault windows;
count axes have integer ticks; panels for parts a scenario does not use are left out.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.results.distribution import ecdf_points

FAULT_COLOURS = {"outage": "#d62728", "error_rate": "#ff7f0e", "slowdown": "#9467bd", "allocation_cut": "#8c564b"}
STYLES = ("-", "--", "-.", ":")


class ReportFigure(Figure):
    """A matplotlib figure that shows itself as a PNG in Jupyter (``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()

    def to_png(self, dpi: int = 110) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()


def new_figure(size=(8, 5), **kwargs) -> ReportFigure:
    return ReportFigure(figsize=size, layout="constrained", **kwargs)


def _axes(ax, size=(8, 5)):
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(size)
    return fig, fig.add_subplot()


def ecdf(values: np.ndarray, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF of ``values`` as step points (see :func:`sim.results.distribution.ecdf_points`)."""
    return ecdf_points(values, points)


def line_styles(n: int) -> list[dict]:
    """``n`` distinguishable (colour, line style) pairs: tab10 colours, then dashed, dash-dot, ..."""
    from matplotlib import colormaps

    colours = colormaps["tab10" if n <= 10 else "tab20"].colors  # type: ignore[attr-defined]  # a ListedColormap
    return [{"color": colours[i % len(colours)], "linestyle": STYLES[(i // len(colours)) % len(STYLES)]}
            for i in range(n)]


def _time_axis(result) -> tuple[float, str]:
    return (3600.0, "simulated time (h)") if result.horizon_s >= 7200 else (1.0, "simulated time (s)")


def shade_faults(ax, result, scale: float, targets: set[str] | None = None) -> None:
    """Shade each fault window of the run (optionally only of some targets), labelled once."""
    seen = set()
    for f in result.fault_windows():
        if targets is not None and f["target"] not in targets:
            continue
        label = f"{f['kind']} {f['target']}"
        ax.axvspan(f["start"] / scale, min(f["end"], result.horizon_s) / scale, alpha=0.15,
                   color=FAULT_COLOURS.get(f["kind"], "grey"), label=None if label in seen else f"fault: {label}")
        seen.add(label)


def latency_cdf(result, ax=None):
    """Empirical CDF of every stage's latency. The time axis is logarithmic above 10 ms and linear
    below, so zero latencies are drawn (at 0) and each legend's n equals the table's count."""
    fig, ax = _axes(ax, size=(10, 5.5))
    curves = [(k, *result.latency_ecdf(k)) for k in result.latency_keys()]
    curves = [c for c in curves if c[3]]
    keys = [c[0] for c in curves]
    for (key, x, y, n), style in zip(curves, line_styles(len(curves))):
        ax.step(x, y, where="post", label=f"{key} (n={n:,})", **style)
    ax.set_xscale("symlog", linthresh=0.01, linscale=0.3)
    ax.set_xlim(left=0)
    ax.set_xlabel("latency (s; linear below 0.01 s, logarithmic above)")
    ax.set_ylabel("fraction of messages")
    ax.set_title(f"{result.scenario_name}: latency CDF per stage (seed {result.seed})")
    ax.grid(True, which="both", alpha=0.3)
    if keys:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def e2e_histogram(result, key: str | None = None, ax=None):
    """Histogram of the end-to-end latency of the scenario's delivery path (by default the first of
    ``click->notification``, ``click->ack`` the run has) with its p50/p95/p99 marked."""
    fig, ax = _axes(ax)
    key = key or result.primary_e2e()
    values = result.latency(key) if key else np.empty(0)
    if len(values):
        ax.hist(values, bins=min(60, max(10, len(values) // 5)), color="#4472c4", alpha=0.85)
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            v = np.percentile(values, q)
            ax.axvline(v, color="black", linestyle=style, label=f"p{q} = {v:,.1f} s")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no message completed this path", ha="center", va="center", transform=ax.transAxes)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"{key or 'end to end'} latency (s)")
    ax.set_ylabel("messages")
    ax.set_title(f"{result.scenario_name}: {key or 'end to end'} (n={len(values):,})")
    return fig


def queues(result, ax=None):
    """Messages waiting in each stage over time (one line per stage, symlog when wide)."""
    fig, ax = _axes(ax, size=(10, 5))
    frame = result.queue_series()
    frame = frame.loc[:, frame.max() > 0]
    scale, xlabel = _time_axis(result)
    t = frame.index.to_numpy() / scale
    for column, style in zip(frame.columns, line_styles(len(frame.columns))):
        ax.plot(t, frame[column].to_numpy(), label=column, drawstyle="steps-post", **style)
    shade_faults(ax, result, scale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("messages in stage")
    ax.set_title(f"{result.scenario_name}: queue length per stage")
    values = frame.to_numpy()
    if values.size and values.max() > 50 * max(1, np.median(values.max(axis=0))):
        ax.set_yscale("symlog")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def bus(result):
    """Backlog per subscriber (events stored on the bus, not yet processed or lost) and the hourly
    publish allocation used, against the allocation (lowered by allocation_cut faults). The
    allocation panel is logarithmic, so a few alerts per hour stay visible beside 250,000."""
    subscribers = [(kind, table) for kind, table in result.ledger.tables.items()
                   if table.parent_kind == "platform_event"]
    fig = new_figure((10, 7))
    top, bottom = fig.subplots(2, 1, sharex=True)
    scale, xlabel = _time_axis(result)
    grid = np.linspace(0.0, result.horizon_s, 400)
    for (kind, table), style in zip(subscribers, line_styles(len(subscribers))):
        backlog = result.occupancy(kind, table.stages[0], table.stages[-1], grid)
        top.plot(grid / scale, backlog, label=kind, drawstyle="steps-post", **style)
    shade_faults(top, result, scale, {kind for kind, _ in subscribers} | {"crm"})
    top.set_ylabel("events waiting / in process")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_title(f"{result.scenario_name}: subscriber backlog and publish allocation")
    top.grid(True, alpha=0.3)
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=8, loc="upper left")
    used = result.series.get("publish_allocation_used", [])
    if used:
        t, v = np.array(used).T
        bottom.plot(t / scale, v, drawstyle="steps-post", label="publishes in the rolling hour (all publishers)")
    alloc = result.step_series("publish_allocation", grid)
    if alloc is not None:
        bottom.plot(grid / scale, alloc, color="red", linestyle="--", label="allocation per hour")
    shade_faults(bottom, result, scale, {"event_bus"})
    bottom.set_yscale("log")
    bottom.set_xlabel(xlabel)
    bottom.set_ylabel("publishes per rolling hour (log)")
    bottom.grid(True, alpha=0.3, which="both")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=8, loc="lower right")
    return fig


DISTRIBUTION_FIGURES = ("latency_cdf.png", "e2e_histogram.png")  # drawn from the sorted latencies


def figures(result, distributions: bool = True, series: bool = True) -> dict[str, ReportFigure]:
    """The figures of a run, by file name: the shared ones, then the system's own (for Data Cloud,
    ``bus.png`` when the run publishes platform events). ``distributions`` (the latency CDF and
    histogram) and ``series`` (queue lengths and the system's figures over time) choose the part."""
    out = {}
    if distributions:
        out.update({"latency_cdf.png": latency_cdf(result), "e2e_histogram.png": e2e_histogram(result)})
    if series:
        out["queues.png"] = queues(result)
        if result.system is not None:
            out.update(result.system.extra_figures(result))
    return out


def render_pngs(result, dpi: int = 110, distributions: bool = True, series: bool = True) -> dict[str, bytes]:
    """The standard figures (or a part of them, see :func:`figures`) as PNG bytes, by file name."""
    return {name: fig.to_png(dpi) for name, fig in figures(result, distributions, series).items()}


def save_all(result, out_dir: Path, pngs: dict[str, bytes] | None = None) -> list[Path]:
    """Write the standard plots (or the given ``pngs``) as PNG files into ``out_dir``; return
    their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, png in (pngs if pngs is not None else render_pngs(result)).items():
        path = out_dir / name
        path.write_bytes(png)
        paths.append(path)
    return paths
