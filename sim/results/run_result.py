"""The result of one run: everything is derived from the ledger, the actors' counters and the
run's system (:mod:`sim.systems`), with nothing specific to one system here.

Latency keys are ``"<from>-><to>"`` stage pairs: each consecutive pair of a kind's stages, each
kind's first-to-last pair, and the system's cross-kind keys, which follow the parent ids (for Data
Cloud: ``click->notification``, from the click that completed the insight to the owner's bell, and
``click->ack``, to the webhook's acknowledgement). Only messages that reached both stages by the
horizon count. Throughput is messages per second of horizon leaving each actor.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from sim.core.folding import GRID_POINTS, FoldError, FoldingTable
from sim.core.ledger import DELIVERED, DROPPED, Conservation, Ledger
from sim.core.lineage import roots
from sim.results.distribution import ecdf_of_sorted, sorted_stats
from sim.systems.base import CrossKey, Kind, Pipeline, System


def _count_at(times: np.ndarray, grid: np.ndarray, scratch: bool = False) -> np.ndarray:
    """How many of ``times`` are <= each point of the ascending ``grid``: one look-up per grid
    point when they are already ascending, as stage times mostly are; else counted by bins, or,
    with ``scratch`` (``times`` is the caller's own copy, free to reorder), sorted where they are
    (numpy's SIMD sort takes half the time of a binary search per value)."""
    if len(times) > 1 and bool((times[1:] >= times[:-1]).all()):
        return np.searchsorted(times, grid, side="right")
    if scratch:
        times.sort()  # NaN sorts last and is never <= a grid point
        return np.searchsorted(times, grid, side="right")
    edges = np.concatenate((grid, [np.inf]))
    bins = np.searchsorted(edges, times, side="left")  # first grid point >= t
    return np.cumsum(np.bincount(bins, minlength=len(edges))[: len(grid)])


@dataclass
class RunResult:
    """One run of a scenario; see the module docstring."""

    scenario_name: str
    scenario_digest: str
    seed: int
    horizon_s: float
    ledger: Ledger
    conservation: Conservation
    counts: dict
    series: dict = field(default_factory=dict)
    wall_s: float = 0.0
    version: str = ""
    pipeline: Pipeline | None = field(default=None, repr=False)  # the wired actors, for inspection
    system: System | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- latencies -----------------------------------------------------------------------------
    def kinds(self) -> dict[str, Kind]:
        return {k: Kind(k, tuple(t.stages), t.parent_kind) for k, t in self.ledger.tables.items()}

    def cross(self) -> dict[str, CrossKey]:
        """The cross-kind latency keys of this run, from its system."""
        if "cross" not in self._cache:
            keys = self.system.cross_keys(self.kinds()) if self.system is not None else []
            self._cache["cross"] = {k.key: k for k in keys if k.kind in self.ledger.tables}
        return self._cache["cross"]

    def latency_keys(self) -> list[str]:
        keys = []
        for table in self.ledger.tables.values():
            stages = table.stages
            keys += [f"{a}->{b}" for a, b in itertools.pairwise(stages)]
            if len(stages) > 2:
                keys.append(f"{stages[0]}->{stages[-1]}")
        return keys + [k for k in self.cross() if k not in keys]

    def primary_e2e(self) -> str | None:
        """The end-to-end key of the scenario's delivery path (the system's first cross key the run
        has: ``click->notification``, else ``click->ack`` for Data Cloud); None when none."""
        return next(iter(self.cross()), None)

    def kind_of(self, key: str) -> str:
        cross = self.cross()
        if key in cross:
            return cross[key].kind
        a, _, b = key.partition("->")
        for kind, table in self.ledger.tables.items():
            if a in table.stages and b in table.stages:
                return kind
        raise KeyError(f"unknown latency key {key!r}; known: {', '.join(self.latency_keys())}")

    def folded(self, key: str) -> FoldingTable | None:
        """The aggregate table behind latency ``key`` when the run kept that kind's stage times as
        aggregates (``ledger="aggregate"``), else None."""
        if key in self.cross():
            return None
        table = self.ledger.table(self.kind_of(key))
        return cast(FoldingTable, table) if table.folding else None

    def aggregated_kinds(self) -> list[str]:
        """The kinds this run kept as streaming aggregates (``ledger="aggregate"``); [] for a full ledger."""
        return [k for k, t in self.ledger.tables.items() if t.folding]

    def latency(self, key: str, since: float = 0.0) -> np.ndarray:
        """Latencies in seconds of the messages that passed both stages of ``key`` by the horizon;
        with ``since`` (a warm-up, seconds) only those whose first stage was at or after it.
        A new array at each call (nothing this large is kept); :meth:`stats` caches the numbers.
        A kind kept as aggregates has no per-message latencies (:class:`FoldError`): use
        :meth:`stats` or :meth:`latency_ecdf`."""
        h = self.horizon_s
        if self.folded(key) is not None:
            raise FoldError(f"latency({key!r}): an aggregate ledger keeps no per-message latencies of "
                            f"{self.kind_of(key)!r} messages; stats() and latency_ecdf() give their distribution")
        cross = self.cross()
        if key in cross:
            c = cross[key]
            end = self.ledger.table(c.kind).view(c.stage)
            origin = roots(self.ledger, c.kind, np.arange(len(end)), c.origin_kind)
            ok = (end <= h) & (origin >= 0)
            start = self.ledger.table(c.origin_kind).view(c.origin_stage)[origin[ok]]
            end = end[ok]
        else:
            kind = self.kind_of(key)
            a, b = key.split("->")
            table = self.ledger.table(kind)
            start, end = table.view(a), table.view(b)
        keep = end <= h  # both stages reached by the horizon (NaN compares false)
        keep &= start <= h
        if since > 0:
            keep &= start >= since
        # the differences of the kept rows (the others, NaN or past the horizon, are left out)
        return np.subtract(end, start)[keep] if len(end) else np.empty(0)

    def stats(self, key: str, since: float = 0.0) -> dict:
        """count, p50, p90, p95, p99, max, mean of :meth:`latency` (seconds), computed once."""
        cached = self._cache.get(("stats", key, since))
        if cached is None:
            folded = self.folded(key)
            if folded is not None:
                if since > 0:
                    raise FoldError(f"stats({key!r}, since={since:g}): an aggregate ledger cannot cut a warm-up "
                                    f"from {folded.kind!r} latencies")
                cached = self._cache[("stats", key, since)] = folded.hist[key].stats()
            else:
                cached = self._describe(key, since)
        return cached

    def _describe(self, key: str, since: float, points: int = 2000) -> dict:
        """Sort ``key``'s latencies once and cache what the summary and the figures need from
        them: :meth:`stats` and, for the whole run, :meth:`latency_ecdf` at ``points``."""
        stats, ordered = sorted_stats(self.latency(key, since), in_place=True)  # a new array, sorted where it is
        self._cache[("stats", key, since)] = stats
        if since == 0:
            self._cache[("ecdf", key, points)] = (*ecdf_of_sorted(ordered, points), len(ordered))
        return stats

    def latency_ecdf(self, key: str, points: int = 2000) -> tuple[np.ndarray, np.ndarray, int]:
        """The empirical CDF of ``key``'s latencies as step points (x in seconds, fraction), and
        how many latencies there are: every value when there are at most ``points``, else the
        quantiles at ``points`` even levels (from the histogram for an aggregated kind)."""
        folded = self.folded(key)
        if folded is None:
            if ("ecdf", key, points) not in self._cache:
                self._describe(key, 0.0, points)
            x, y, n = self._cache[("ecdf", key, points)]
            return x.copy(), y.copy(), n
        hist = folded.hist[key]
        levels = np.arange(1, min(hist.n, points) + 1) / max(min(hist.n, points), 1)
        return (hist.quantiles(levels) if hist.n else np.empty(0)), levels, hist.n

    def latencies(self) -> dict[str, np.ndarray]:
        return {k: self.latency(k) for k in self.latency_keys()}

    # -- throughput ----------------------------------------------------------------------------
    def _passed(self, kind: str, stage: str | None) -> int:
        """Messages of ``kind`` past ``stage`` (delivered when ``stage`` is None) by the horizon;
        counted once per run (the summary, the report and the tables all ask)."""
        if kind not in self.ledger.tables:
            return 0
        key = ("passed", kind, stage)
        table = self.ledger.table(kind)
        if key not in self._cache:
            if stage is None:
                passed = int((self.ledger.states_at(kind, self.horizon_s) == DELIVERED).sum())
            elif table.folding:
                passed = cast(FoldingTable, table).passed[stage]
            else:  # a stamp at or before the horizon (NaN, not reached, compares false); no copy
                passed = int(np.count_nonzero(table.view(stage) <= self.horizon_s))
            self._cache[key] = passed
        return self._cache[key]

    def throughput(self) -> dict[str, float]:
        """Messages per second leaving each actor over the horizon."""
        spec = self.system.throughput(self.kinds()) if self.system is not None else {}
        return {actor: sum(self._passed(k, s) for k, s in kinds) / self.horizon_s
                for actor, kinds in spec.items()}

    def stage_throughput(self, kind: str) -> dict[str, float]:
        table = self.ledger.table(kind)
        return {s: self._passed(kind, s) / self.horizon_s for s in table.stages}

    # -- views ---------------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per latency key: kind, count, throughput (msgs/s), p50/p95/p99/max/mean (s)."""
        rows = []
        for key in self.latency_keys():
            stats = self.stats(key)
            rows.append({"stage": key, "kind": self.kind_of(key), "count": stats["count"],
                         "throughput_per_s": stats["count"] / self.horizon_s,
                         **{k: stats[k] for k in ("p50", "p95", "p99", "max", "mean")}})
        return pd.DataFrame(rows).set_index("stage")

    def lost(self) -> pd.DataFrame:
        """What was lost and why: dropped messages per kind and reason."""
        rows = [{"kind": kind, "reason": reason, "count": n}
                for kind, c in self.conservation.by_kind.items() for reason, n in c["dropped"].items()]
        return pd.DataFrame(rows, columns=["kind", "reason", "count"])

    def lost_detail(self) -> pd.DataFrame:
        """What was lost and why, in detail: per kind and reason, how many, when the first and the
        last were dropped (seconds), and the last stage those messages had reached (the one most of
        them reached; the earlier on a tie)."""
        if "lost_detail" not in self._cache:
            self._cache["lost_detail"] = self._lost_detail()
        return self._cache["lost_detail"].copy()

    def _lost_detail(self) -> pd.DataFrame:
        rows = []
        h = self.horizon_s
        for kind, table in self.ledger.tables.items():
            if table.folding:
                rows += cast(FoldingTable, table).lost_rows(self.ledger.reasons)
                continue
            states = self.ledger.states_at(kind, h)
            dropped = np.flatnonzero(states == DROPPED)
            if not len(dropped):
                continue
            codes = table.reason[dropped]
            reached = np.full(len(dropped), -1, dtype=np.int64)  # the last stage stamped by the horizon
            for k, stage in enumerate(table.stages):
                reached[table.view(stage)[dropped] <= h] = k
            ended = table.end_t[dropped]
            for code in np.flatnonzero(np.bincount(codes)):
                sel = codes == code
                last = np.bincount(reached[sel] + 1).argmax() - 1
                rows.append({"kind": kind, "reason": self.ledger.reasons[code], "count": int(sel.sum()),
                             "first_s": float(ended[sel].min()), "last_s": float(ended[sel].max()),
                             "last_stage": table.stages[last] if last >= 0 else "-"})
        return pd.DataFrame(rows, columns=["kind", "reason", "count", "first_s", "last_s", "last_stage"])

    # -- what the system adds -----------------------------------------------------------------
    def _system_only(self, what: str, system: str) -> System:
        if self.system is None or self.system.name != system or self.pipeline is None:
            have = self.system.name if self.system is not None else "none"
            raise AttributeError(f"{what} is a result of the {system} system; this run's system is {have}")
        return self.system

    def intents(self) -> pd.DataFrame:
        """(Data Cloud) Every intent of a known prospect (``threshold`` views of the insight's page
        by one true person within ``window``), each with its ``status`` (caught, late, missed,
        pending) and ``cause`` (why missed, why pending), ``acted``, ``action_t`` and
        ``time_to_data_action`` (the first Data Action for the person within ``catch_within``),
        ``reaction_t`` and ``time_to_action`` (the first reaction the business saw: the owner's
        bell or the webhook's acknowledgement). Times in seconds; see :mod:`sim.domain.intents`."""
        system = self._system_only("intents()", "data_cloud")
        if "intents" not in self._cache:
            self._cache["intents"] = system.intents(self)  # type: ignore[attr-defined]
        return self._cache["intents"].copy()

    def intent_summary(self) -> dict:
        """(Data Cloud) Intents per status (caught + late + missed + pending = intents), ``acted``,
        ``missed_by_reason``, ``pending_by_cause``, ``time_to_action_s`` (intent to the reaction,
        over caught and late intents) and ``time_to_data_action_s`` (intent to the Data Action,
        over acted intents), in seconds."""
        return self._system_only("intent_summary()", "data_cloud").intent_summary(self)  # type: ignore[attr-defined]

    def extras(self) -> dict[str, Any]:
        """The sections of ``summary.json`` that the run's system adds (``intents``, ...)."""
        if self.system is None or self.pipeline is None:
            return {}
        if "extras" not in self._cache:
            self._cache["extras"] = self.system.extra_results(self)
        return self._cache["extras"]

    def warnings(self) -> list[str]:
        """Things about the run's set-up that make its numbers easy to misread."""
        return self.system.warnings(self) if self.system is not None and self.pipeline is not None else []

    def to_dict(self) -> dict:
        summary = self._summary()
        summary["ledger_digest"] = self.ledger_digest()
        return summary

    def _summary(self) -> dict:
        """:meth:`to_dict` with ``ledger_digest`` left None (in its place: the key order is the file's)."""
        stats = {k: self.stats(k) for k in self.latency_keys()}
        by_kind = {}
        for kind in self.ledger.tables:
            by_kind[kind] = {
                "conservation": self.conservation.by_kind[kind],
                "latency_s": {k: v for k, v in stats.items() if self.kind_of(k) == kind},
                "throughput_per_s": self.stage_throughput(kind),
            }
        return {
            "scenario": self.scenario_name,
            "scenario_digest": self.scenario_digest,
            "seed": self.seed,
            "horizon_s": self.horizon_s,
            "conservation": self.conservation.to_dict(),
            "latency_s": stats,
            "throughput_per_s": self.throughput(),
            "counts": self.counts,
            "by_kind": by_kind,
            "lost": self.lost_detail().to_dict("records"),
            "system": self.system.name if self.system is not None else None,
            **self.extras(),
            "warnings": self.warnings(),
            "ledger": "aggregate" if self.aggregated_kinds() else "full",
            "aggregated_kinds": self.aggregated_kinds(),
            "ledger_digest": None,
            "version": self.version,
            "wall_s": self.wall_s,
        }

    def ledger_digest(self) -> str:
        """The ledger's SHA-256 as of the horizon (:meth:`Ledger.digest`), computed once."""
        if "digest" not in self._cache:
            self._cache["digest"] = self.ledger.digest(self.horizon_s)
        return self._cache["digest"]

    def to_json(self, path: str | Path | None = None) -> str:
        """The summary as JSON text; also written to ``path`` when given (its folder created)."""
        return _write_json(self.to_dict(), path)

    # -- time series ---------------------------------------------------------------------------
    def fault_windows(self) -> list[dict]:
        """The scenario's faults: target, kind, start and end (seconds)."""
        if self.pipeline is None:
            return []
        return [{"target": f.target, "kind": f.kind, "start": f.start, "end": f.end}
                for f in self.pipeline.ctx.faults.faults]

    def step_series(self, name: str, grid: np.ndarray) -> np.ndarray | None:
        """A piecewise-constant series (``self.series[name]``: points where it changes) at each
        time of ``grid``; None when the run has no such series."""
        points = self.series.get(name)
        if not points:
            return None
        t, v = np.array(points, dtype=float).T
        pos = np.searchsorted(t, grid, side="right") - 1
        return np.where(pos >= 0, v[np.maximum(pos, 0)], np.nan)

    def occupancy(self, kind: str, a: str, b: str, grid: np.ndarray) -> np.ndarray:
        """Messages between stages ``a`` and ``b`` (entered ``a``, not yet left ``b`` nor ended) at
        each time of ``grid`` (ascending). Counted with one pass over the columns, no sort."""
        h = self.horizon_s
        table = self.ledger.table(kind)
        if table.folding:
            folded = cast(FoldingTable, table)
            if len(grid) != len(folded.grid) or not np.allclose(grid, folded.grid, rtol=0, atol=1e-9):
                raise FoldError(f"occupancy of {kind!r}: an aggregate ledger counts it on its own grid of "
                                f"{len(folded.grid)} points over the horizon only")
            return folded.occupancy(a, b)
        ta = self.ledger.table(kind).view(a)
        tb = self.ledger.table(kind).view(b)
        end = self.ledger.table(kind).end_t[: len(ta)]
        entered = ta <= h  # NaN (never entered) compares false
        leave = np.where(tb <= h, tb, end)[entered]  # left b, else ended
        leave[~(leave <= h)] = np.inf  # an end past the horizon never counts (a grid may run past it)
        return _count_at(ta[entered], grid, scratch=True) - _count_at(leave, grid, scratch=True)

    def queue_series(self, points: int = GRID_POINTS) -> pd.DataFrame:
        """Occupancy of every stage over time (columns ``<from>-><to>``, index: time in seconds)."""
        grid = np.linspace(0.0, self.horizon_s, points)
        data = {}
        for kind, table in self.ledger.tables.items():
            if table.n == 0:
                continue
            if table.folding:
                for a, b in zip(table.stages, table.stages[1:]):
                    data[f"{a}->{b}"] = self.occupancy(kind, a, b, grid)
            else:
                data.update(self._stage_occupancies(kind, grid))
        return pd.DataFrame(data, index=pd.Index(grid, name="t_s"))

    def _stage_occupancies(self, kind: str, grid: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`occupancy` of each pair of consecutive stages of ``kind`` (a full table) on a
        ``grid`` within the horizon, sharing the work between pairs: a stage's count of arrivals is
        both its pair's entries and the previous pair's departures. When every message that
        reached ``b`` by the horizon had reached ``a`` (stages are stamped in order), the messages
        between ``a`` and ``b`` at ``g`` are those that reached ``a`` by ``g``, less those that
        reached ``b`` by ``g``, less those that ended by ``g`` without reaching ``b``; a pair
        without that order is counted by :meth:`occupancy` itself."""
        h = self.horizon_s
        table = self.ledger.table(kind)
        if len(grid) and grid[-1] > h:
            return {f"{a}->{b}": self.occupancy(kind, a, b, grid) for a, b in itertools.pairwise(table.stages)}
        end = table.end_t[: table.n]
        reached = {}  # stage -> (stamped by the horizon, arrivals counted on the grid)
        for s in table.stages:
            t = table.view(s)
            by_h = t <= h  # NaN (never reached) compares false
            reached[s] = by_h, _count_at(t[by_h], grid, scratch=True)
        out = {}
        for a, b in itertools.pairwise(table.stages):
            (in_a, entered), (in_b, arrived) = reached[a], reached[b]
            if np.any(in_b & ~in_a):  # a message stamped at b but not at a: counted pair by pair
                out[f"{a}->{b}"] = self.occupancy(kind, a, b, grid)
                continue
            ended = end[in_a & ~in_b]  # left the pair without reaching b (an end past the horizon,
            # or NaN, is past every grid point: never counted)
            out[f"{a}->{b}"] = entered - arrived - _count_at(ended, grid, scratch=True)
        return out

    # -- plots (see sim.report.plots) ----------------------------------------------------------
    def plot_latency_cdf(self, ax=None):
        from sim.report.plots import latency_cdf

        return latency_cdf(self, ax=ax)

    def plot_e2e_histogram(self, key: str | None = None, ax=None):
        from sim.report.plots import e2e_histogram

        return e2e_histogram(self, key=key, ax=ax)

    def plot_queues(self, ax=None):
        from sim.report.plots import queues

        return queues(self, ax=ax)

    def plot_bus(self):
        from sim.report.plots import bus

        return bus(self)

    def save_plots(self, out_dir: str | Path) -> list[Path]:
        from sim.report.plots import save_all

        return save_all(self, Path(out_dir))

    def scenario_dict(self) -> dict | None:
        """The resolved scenario (every default filled in), as plain data."""
        return None if self.pipeline is None else self.pipeline.scenario.model_dump(mode="json")

    def write(self, out_dir: str | Path, plots: bool = True, command: str | None = None,
              aside: bool = False) -> list[Path]:
        """Write ``summary.json``, the PNG plots (unless ``plots`` is false) and ``report.html``
        (the summary, losses, intents, figures and scenario in one self-contained page) into
        ``out_dir``; return the paths written. ``aside``: draw the figures in a forked process
        while this one writes the summary (the same files; ``sim run`` uses it)."""
        from sim.report import html

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        from contextlib import nullcontext

        from sim.report.aside import Aside

        # the figures over time and the ledger's digest are made by a child meanwhile (second
        # core); the summary and the distribution figures made here share one sort of each latency
        if plots and aside:
            import sim.report.plots  # noqa: F401  (matplotlib, imported once before the fork: both draw)

        def series_and_digest() -> tuple[dict[str, bytes], str]:
            return _render_pngs(self, distributions=False), self.ledger_digest()

        with (Aside(series_and_digest) if plots and aside else nullcontext()) as child:
            paths = [out / "summary.json"]
            pngs: dict[str, bytes] = {}
            if child is None:
                self.to_json(out / "summary.json")
                if plots:  # matplotlib is imported only when figures are drawn
                    pngs = _render_pngs(self)
            else:
                summary = self._summary()
                pngs = _render_pngs(self, series=False)
                series, digest = child.collect()
                pngs.update(series)
                self._cache.setdefault("digest", digest)  # the same bytes hashed in the same order
                summary["ledger_digest"] = self.ledger_digest()
                _write_json(summary, out / "summary.json")
            if plots:
                from sim.report.plots import save_all

                paths += save_all(self, out, pngs)
        paths.append(html.write(self, out / "report.html", pngs, command))
        return paths


def _write_json(summary: dict, path: str | Path | None) -> str:
    """``summary`` as JSON text, also written to ``path`` when given (its folder created)."""
    text = json.dumps(summary, indent=2, sort_keys=False)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text


def _render_pngs(result: RunResult, distributions: bool = True, series: bool = True) -> dict[str, bytes]:
    """The run's figures (or a part, see :func:`sim.report.plots.figures`) as PNG bytes, by file
    name (imports matplotlib)."""
    from sim.report.plots import render_pngs

    return render_pngs(result, distributions=distributions, series=series)
