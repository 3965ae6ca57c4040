"""Experiments: replications with confidence intervals, parameter sweeps on local processes or
Dask, and the DuckDB results store."""

from sim.experiments.metrics import HEADLINE, run_metrics
from sim.experiments.replicate import Replications, replicate
from sim.experiments.stats import summarize

__all__ = ["HEADLINE", "Replications", "replicate", "run_metrics", "summarize"]
