"""The numbers one run contributes to an experiment, as a flat ``name -> value`` mapping.

Names are dotted paths, the same as in ``summary.json``: ``latency_s.click->notification.p99``,
``throughput_per_s.crm``, ``conservation.dropped.allocation``, ``intents.missed``,
``counts.event_bus.limit_exceeded``. With a warm-up, latencies count only messages whose first
stage was at or after it, and throughputs are per second of ``horizon − warmup``.
"""

from __future__ import annotations

import numpy as np

from sim.results.run_result import RunResult

HEADLINE = (  # Data Cloud's; each system declares its own (System.headline)
    "latency_s.click->notification.p50", "latency_s.click->notification.p95",
    "latency_s.click->notification.p99", "throughput_per_s.crm")
PERCENTILES = (50, 90, 95, 99)
HISTOGRAM_EDGES_S = np.concatenate(([0.0], np.logspace(-1, 6, 57)))  # 0.1 s to ~11.6 days, 8 bins/decade


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        out[prefix] = float(value)


def run_metrics(result: RunResult, warmup_s: float = 0.0) -> dict[str, float]:
    """Every metric of one run (see the module docstring)."""
    out: dict[str, float] = {}
    for key in result.latency_keys():
        stats = result.stats(key, since=warmup_s)
        out[f"latency_s.{key}.count"] = float(stats["count"])
        if stats["count"]:
            for q in PERCENTILES:
                out[f"latency_s.{key}.p{q}"] = stats[f"p{q}"]
            out[f"latency_s.{key}.mean"] = stats["mean"]
            out[f"latency_s.{key}.max"] = stats["max"]
    span = max(result.horizon_s - warmup_s, 1e-9)
    for actor, rate in result.throughput().items():
        out[f"throughput_per_s.{actor}"] = rate * result.horizon_s / span if warmup_s else rate
    c = result.conservation.to_dict()
    for k in ("created", "delivered", "in_flight"):
        out[f"conservation.{k}"] = float(c[k])
    for reason, n in c["dropped"].items():
        out[f"conservation.dropped.{reason}"] = float(n)
    for section, values in result.extras().items():  # the system's own results (intents, ...)
        _flatten(section, values, out)
    _flatten("counts", result.counts, out)
    return out


def run_histograms(result: RunResult, warmup_s: float = 0.0) -> list[tuple[str, float, float, int]]:
    """Latency histograms of the system's cross-kind (end-to-end) keys: (key, bin low s, bin high s,
    count) rows."""
    rows = []
    for key in result.cross():
        counts, edges = np.histogram(result.latency(key, since=warmup_s), bins=HISTOGRAM_EDGES_S)
        rows += [(key, float(lo), float(hi), int(n)) for lo, hi, n in zip(edges[:-1], edges[1:], counts) if n]
    return rows
