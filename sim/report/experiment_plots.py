"""Plots for capacity planners: percentiles with CI bands against a swept parameter, several
variants' latency CDFs on one axis, and the knee of throughput against offered load. (Backlog
over time is :func:`sim.report.plots.bus`.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from sim.report.plots import _axes, ecdf, line_styles

if TYPE_CHECKING:
    from sim.results.run_result import RunResult


def percentiles_vs(table: pd.DataFrame, param: str, key: str = "latency_s.click->notification",
                   slo_s: float | None = None, ax=None):
    """p50/p95/p99 of ``key`` (mean over replications, 95 % CI band) against ``param``; ``table``
    is :func:`sim.results.compare` output (one row per variant). Other swept parameters, if any,
    become separate lines."""
    fig, ax = _axes(ax)
    others = [c for c in table.columns if c not in (param, "scenario", "runs", "failed") and not c.startswith(
        ("latency_s.", "throughput_per_s.", "conservation.", "intents.", "counts."))]
    groups = table.groupby(others) if others else [((), table)]
    for label, group in groups:
        group = group.sort_values(param)
        x = group[param].to_numpy(dtype=float)
        values = np.atleast_1d(cast(Any, label))  # a group key: one value, or a tuple of them
        suffix = "" if not others else " (" + ", ".join(f"{o}={v}" for o, v in zip(others, values)) + ")"
        for q in ("p50", "p95", "p99"):
            m = f"{key}.{q}"
            if m not in group:
                continue
            y, half = group[m].to_numpy(dtype=float), group[f"{m}±"].to_numpy(dtype=float)
            line, = ax.plot(x, y, marker="o", label=f"{q}{suffix}")
            ax.fill_between(x, y - np.nan_to_num(half), y + np.nan_to_num(half), color=line.get_color(), alpha=0.2)
    if slo_s is not None:
        ax.axhline(slo_s, color="red", linestyle="--", label=f"SLO {slo_s:g} s")
    ax.set_xlabel(param)
    ax.set_ylabel(f"{key.removeprefix('latency_s.')} (s)")
    ax.set_title("latency percentiles, mean and 95 % CI over replications")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def cdfs(results: Mapping[str, RunResult], key: str = "click->notification", ax=None):
    """Latency CDFs of several runs (e.g. the variants of ``sim compare``) on one axis."""
    fig, ax = _axes(ax)
    for (name, result), style in zip(results.items(), line_styles(len(results))):
        values = result.latency(key) if key in result.latency_keys() else np.empty(0)
        if len(values):
            x, y = ecdf(values)
            ax.step(x, y, where="post", label=f"{name} (n={len(values):,})", **style)
    ax.set_xscale("symlog", linthresh=0.01, linscale=0.3)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"{key} (s)")
    ax.set_ylabel("share of messages")
    ax.set_title(f"{key}: variants on the same traffic")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def knee(table: pd.DataFrame, offered: str, throughput: str = "throughput_per_s.crm",
         latency: str | None = "latency_s.click->notification.p99", ax=None):
    """Throughput against offered load (with CI bars), and a latency percentile on a second axis:
    where throughput stops following the load and latency climbs is the knee."""
    fig, ax = _axes(ax)
    t = table.sort_values(offered)
    x = t[offered].to_numpy(dtype=float)
    ax.errorbar(x, t[throughput], yerr=np.nan_to_num(t[f"{throughput}±"].to_numpy(dtype=float)), marker="o",
                capsize=3, label=throughput)
    ax.set_xlabel(offered)
    ax.set_ylabel(throughput)
    ax.grid(True, alpha=0.3)
    if latency and latency in t:
        right = ax.twinx()
        right.plot(x, t[latency], color="tab:red", marker="s", label=latency)
        right.set_ylabel(f"{latency} (s)", color="tab:red")
    ax.set_title("throughput vs offered load")
    return fig


def time_to_action(results: Mapping[str, RunResult], ax=None):
    """For several runs (e.g. the variants of ``sim compare``): the CDF of time from intent to the
    reaction (caught and late intents), as a share of *all* intents, so a curve that ends low
    is a design that leaves intents unanswered. Hours on the x axis."""
    fig, ax = _axes(ax)
    for (name, result), style in zip(results.items(), line_styles(len(results))):
        frame = result.intents()
        tta = np.sort(frame["time_to_action"].dropna().to_numpy()) / 3600.0
        if len(frame):
            ax.step(np.concatenate(([0.0], tta)), np.arange(0, len(tta) + 1) / len(frame), where="post",
                    label=f"{name} ({len(tta):,} of {len(frame):,} intents answered)", **style)
    ax.set_xlabel("time from intent to the reaction (h)")
    ax.set_ylabel("share of all intents answered")
    ax.set_ylim(0, 1)
    ax.set_title("time to action: variants on the same traffic")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig
