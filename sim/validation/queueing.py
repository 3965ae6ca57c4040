"""The queueing kernel against theory: M/M/1, M/M/c, M/D/1 and a tandem (Jackson) network.

Each model is run through the project's own actors (:mod:`sim.actors.station`) and ledger, for
several independent replications; each replication drops a warm-up share of its customers and
reports the mean wait (time in queue, summed over stations) and mean sojourn (time in system).
The replication means give a Student-t confidence interval, which must cover the theoretical value.

Theory (arrival rate ``lam``, service rate ``mu`` per server, all in 1/s):

* M/M/1: ``Wq = rho / (mu - lam)``, ``W = 1 / (mu - lam)``
* M/M/c: Erlang C ``P(wait)``, ``Wq = P(wait) / (c mu - lam)``, ``W = Wq + 1/mu``
* M/D/1: ``Wq = rho / (2 mu (1 - rho))``, ``W = Wq + 1/mu``
* tandem of M/M/1 stations (Jackson): sums of the stations' M/M/1 values
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import simpy
from scipy import stats

from sim.actors.base import RunContext
from sim.actors.station import PoissonSource, StationActor, deterministic, exponential
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams, derive_seed


# -- theory ------------------------------------------------------------------------------------
def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a = lam / mu`` (< c)."""
    rho = a / c
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - rho)
    return last / (total + last)


def theory(model: str, lam: float, mu, c: int = 1) -> dict[str, float]:
    """Mean wait and sojourn (seconds) of a model."""
    if model == "M/M/1":
        return {"wait": lam / mu / (mu - lam), "sojourn": 1 / (mu - lam)}
    if model == "M/M/c":
        wq = erlang_c(c, lam / mu) / (c * mu - lam)
        return {"wait": wq, "sojourn": wq + 1 / mu}
    if model == "M/D/1":
        rho = lam / mu
        wq = rho / (2 * mu * (1 - rho))
        return {"wait": wq, "sojourn": wq + 1 / mu}
    if model == "tandem":
        return {"wait": sum(lam / m / (m - lam) for m in mu), "sojourn": sum(1 / (m - lam) for m in mu)}
    raise ValueError(f"unknown model {model!r}")


# -- simulation --------------------------------------------------------------------------------
def simulate(model: str, lam: float, mu, c: int, customers: int, seed: int, warmup: float = 0.05) -> dict[str, float]:
    """One replication; mean wait and sojourn (seconds) of the customers after the warm-up."""
    rates = list(mu) if model == "tandem" else [mu]
    servers = [c if model == "M/M/c" else 1] * len(rates)
    names = [f"s{k + 1}" for k in range(len(rates))]
    env = simpy.Environment()
    ledger = Ledger()
    stages = ["arrive"] + [f"{n}.{x}" for n in names for x in ("start", "done")]
    ledger.register("job", stages)
    ctx = RunContext(env, ledger, RandomStreams(seed), horizon=math.inf)
    sampler = deterministic if model == "M/D/1" else exponential
    stations: list[StationActor] = []
    forward = None
    for name, rate, k in reversed(list(zip(names, rates, servers))):
        st = StationActor(ctx, name, "job", k, sampler(rate), forward)
        stations.insert(0, st)
        forward = st.receive
    source = PoissonSource(ctx, "job", lam, customers, stations[0].receive)
    source.on_exhausted.extend(st.end_of_stream for st in stations)
    env.run()
    keep = slice(int(customers * warmup), customers)
    arrive = ledger.stage_times("job", "arrive")[keep]
    wait = sum(ledger.stage_times("job", f"{n}.start")[keep] - (
        arrive if i == 0 else ledger.stage_times("job", f"{names[i - 1]}.done")[keep]) for i, n in enumerate(names))
    sojourn = ledger.stage_times("job", f"{names[-1]}.done")[keep] - arrive
    return {"wait": float(np.mean(wait)), "sojourn": float(np.mean(sojourn))}


def confidence_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of independent replication means."""
    n = len(samples)
    mean = float(np.mean(samples))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(samples, ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


MODELS = ("M/M/1", "M/M/c", "M/D/1", "tandem")


def cases(utilisations=(0.5, 0.9), lam: float = 1.0, c: int = 4) -> list[dict]:
    """The standard validation cases: every model at every utilisation (of its busiest station)."""
    out = []
    for rho in utilisations:
        out.append({"model": "M/M/1", "params": {"lambda": lam, "mu": lam / rho, "c": 1}})
        out.append({"model": "M/M/c", "params": {"lambda": lam, "mu": lam / (rho * c), "c": c}})
        out.append({"model": "M/D/1", "params": {"lambda": lam, "mu": lam / rho, "c": 1}})
        out.append({"model": "tandem", "params": {"lambda": lam, "mu": [lam / rho, 1.25 * lam / rho, 1.1 * lam / rho],
                                                  "c": 1}})
    return out


def validate_case(case: dict, replications: int, customers: int, seed: int, confidence: float = 0.95) -> list[dict]:
    p = case["params"]
    model = case["model"]
    reps = [simulate(model, p["lambda"], p["mu"], p["c"], customers, derive_seed(seed, model, str(p["mu"]), r))
            for r in range(replications)]
    th = theory(model, p["lambda"], p["mu"], p["c"])
    rows = []
    for metric in ("wait", "sojourn"):
        mean, lo, hi = confidence_interval(np.array([r[metric] for r in reps]), confidence)
        rows.append({"model": model, "params": p, "metric": metric, "theory": th[metric], "sim_mean": mean,
                     "ci_low": lo, "ci_high": hi, "ok": bool(lo <= th[metric] <= hi),
                     "replications": replications, "customers": customers, "confidence": confidence})
    return rows


def validate_all(quick: bool = False, replications: int | None = None, customers: int | None = None,
                 seed: int = 2026, confidence: float = 0.95, utilisations=(0.5, 0.9),
                 progress: bool = False) -> list[dict]:
    """Every standard case; ``quick`` uses fewer customers (wider intervals, seconds to run)."""
    replications = replications or (10 if quick else 20)
    customers = customers or (20_000 if quick else 200_000)
    todo: Iterable[dict] = cases(utilisations)
    rows: list[dict] = []
    if progress:
        from rich.progress import track

        todo = track(todo, description="validating", transient=True)
    for case in todo:
        rows.extend(validate_case(case, replications, customers, seed, confidence))
    return rows


def print_rows(rows: list[dict], console) -> None:
    from rich.table import Table

    table = Table(title="queueing kernel vs theory (95 % CI of replication means)")
    for col in ("model", "rho", "c", "metric", "theory s", "sim mean s", "CI low", "CI high", "ok"):
        table.add_column(col, justify="left" if col in ("model", "metric") else "right")
    for r in rows:
        p = r["params"]
        mu = p["mu"][0] if isinstance(p["mu"], list) else p["mu"]
        rho = p["lambda"] / (mu * p["c"])
        table.add_row(r["model"], f"{rho:.2f}", str(p["c"]), r["metric"], f"{r['theory']:.4f}",
                      f"{r['sim_mean']:.4f}", f"{r['ci_low']:.4f}", f"{r['ci_high']:.4f}",
                      "[green]yes[/green]" if r["ok"] else "[red]NO[/red]")
    console.print(table)
