"""The result of one run: everything is derived from the ledger and the actors' counters.

Latency keys are ``"<from>-><to>"`` stage pairs: each consecutive pair of a kind's stages, each
kind's first-to-last pair, and the end-to-end pairs that cross kinds through a message's origin
click: ``click->notification`` (the click that completed the insight to the owner's bell) and
``click->ack`` (to the webhook's acknowledgement). Only messages that reached both stages by the
horizon count. Throughput is messages per second of horizon leaving each actor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.ledger import DELIVERED, DROPPED, Conservation, Ledger

# key -> (kind, stage, origin kind, origin stage): the origin is found through the parent ids
CROSS = {"click->notification": ("flow", "notification", "click", "click"),
         "click->ack": ("webhook", "ack", "click", "click"),
         "publish->flow_start": ("flow", "flow_start", "platform_event", "publish")}
SUBSCRIBER_PREFIXES = ("apex:", "pubsub:")  # each gets "click-><kind>" (click to processed)
# actor -> (kind, stage) whose stamps count the messages leaving it; None stage = delivered
THROUGHPUT = {
    "ingestion": [("click", "ingest")],
    "lakehouse": [("click", "lakehouse")],
    "identity": [("click", "identity")],
    "insights": [("click", "insight")],
    "data_actions": [("platform_event", "action"), ("webhook", "action")],
    "event_bus": [("platform_event", "publish")],
    "crm": [("flow", None)],
    "webhooks": [("webhook", "ack")],
}


def latency_stats(values: np.ndarray) -> dict:
    """count, p50, p95, p99, max, mean of latencies in seconds (None when there are none)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"count": int(len(values)), "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "max": float(values.max()), "mean": float(values.mean())}


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
    pipeline: object = field(default=None, repr=False)  # the wired actors, for inspection
    _cache: dict = field(default_factory=dict, repr=False)

    # -- latencies -----------------------------------------------------------------------------
    def latency_keys(self) -> list[str]:
        keys = []
        for kind, table in self.ledger.tables.items():
            stages = table.stages
            keys += [f"{a}->{b}" for a, b in zip(stages, stages[1:])]
            if len(stages) > 2:
                keys.append(f"{stages[0]}->{stages[-1]}")
        keys += [k for k, (kind, *_) in self.cross().items() if kind in self.ledger.tables]
        return keys

    def cross(self) -> dict[str, tuple[str, str, str, str]]:
        """The cross-kind latency keys of this run (fixed ones plus one per extra subscriber)."""
        out = dict(CROSS)
        for kind in self.ledger.tables:
            if kind.startswith(SUBSCRIBER_PREFIXES):
                out[f"click->{kind}"] = (kind, "processed", "click", "click")
        return out

    def _origin(self, kind: str, ids: np.ndarray, origin_kind: str) -> np.ndarray:
        """The ids of ``origin_kind`` ancestors of messages ``ids`` of ``kind`` (−1 if none)."""
        while kind != origin_kind:
            table = self.ledger.table(kind)
            ids = np.where(ids >= 0, table.parent[np.maximum(ids, 0)], -1)
            kind = table.parent_kind
            if kind is None:
                return np.full(len(ids), -1)
        return ids

    def kind_of(self, key: str) -> str:
        cross = self.cross()
        if key in cross:
            return cross[key][0]
        a, b = key.split("->")
        for kind, table in self.ledger.tables.items():
            if a in table.stages and b in table.stages:
                return kind
        raise KeyError(f"unknown latency key {key!r}; known: {', '.join(self.latency_keys())}")

    def latency(self, key: str, since: float = 0.0) -> np.ndarray:
        """Latencies in seconds of the messages that passed both stages of ``key`` by the horizon;
        with ``since`` (a warm-up, seconds) only those whose first stage was at or after it."""
        if (key, since) in self._cache:
            return self._cache[(key, since)]
        h = self.horizon_s
        cross = self.cross()
        if key in cross:
            kind, stage, origin_kind, origin_stage = cross[key]
            end = self.ledger.stage_times(kind, stage, h)
            origin = self._origin(kind, np.arange(len(end)), origin_kind)
            ok = np.isfinite(end) & (origin >= 0)
            start = self.ledger.stage_times(origin_kind, origin_stage, h)[origin[ok]]
            end = end[ok]
        else:
            kind = self.kind_of(key)
            a, b = key.split("->")
            start, end = self.ledger.stage_times(kind, a, h), self.ledger.stage_times(kind, b, h)
        values = end - start
        keep = np.isfinite(values) & (start >= since) if since > 0 else np.isfinite(values)
        values = values[keep]
        self._cache[(key, since)] = values
        return values

    def latencies(self) -> dict[str, np.ndarray]:
        return {k: self.latency(k) for k in self.latency_keys()}

    # -- throughput ----------------------------------------------------------------------------
    def _passed(self, kind: str, stage: str | None) -> int:
        if kind not in self.ledger.tables:
            return 0
        if stage is None:
            return int((self.ledger.states_at(kind, self.horizon_s) == DELIVERED).sum())
        return int(np.isfinite(self.ledger.stage_times(kind, stage, self.horizon_s)).sum())

    def throughput(self) -> dict[str, float]:
        """Messages per second leaving each actor over the horizon."""
        spec = dict(THROUGHPUT)
        spec.update({kind: [(kind, "processed")] for kind in self.ledger.tables if kind.startswith(SUBSCRIBER_PREFIXES)})
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
            stats = latency_stats(self.latency(key))
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
        last were dropped (seconds), and the last stage those messages had reached."""
        rows = []
        h = self.horizon_s
        for kind, table in self.ledger.tables.items():
            states = self.ledger.states_at(kind, h)
            dropped = np.flatnonzero(states == DROPPED)
            if not len(dropped):
                continue
            codes = table.reason[dropped]
            stamps = np.vstack([self.ledger.stage_times(kind, s, h)[dropped] for s in table.stages])
            reached = np.where(np.isfinite(stamps), np.arange(len(table.stages))[:, None], -1).max(axis=0)
            for code in np.unique(codes):
                sel = codes == code
                last = np.bincount(reached[sel] + 1).argmax() - 1
                rows.append({"kind": kind, "reason": self.ledger.reasons[code], "count": int(sel.sum()),
                             "first_s": float(table.end_t[dropped[sel]].min()),
                             "last_s": float(table.end_t[dropped[sel]].max()),
                             "last_stage": table.stages[last] if last >= 0 else "-"})
        return pd.DataFrame(rows, columns=["kind", "reason", "count", "first_s", "last_s", "last_stage"])

    # -- intents: the ground truth of what the activation should catch ------------------------
    def intents(self) -> pd.DataFrame:
        """Every intent of a known prospect (``threshold`` views of the insight's page by one true
        person within ``window``), each with its ``status`` (caught, late, missed, pending) and
        ``cause`` (why missed, why pending), ``acted``, ``action_t`` and ``time_to_data_action``
        (the first Data Action for the person within ``catch_within``), ``reaction_t`` and
        ``time_to_action`` (the first reaction the business saw: the owner's bell or the webhook's
        acknowledgement). Times in seconds; see :mod:`sim.domain.intents`."""
        from sim.core.ledger import DELIVERED, IN_FLIGHT
        from sim.core.lineage import reactions
        from sim.domain.intents import classify, find_intents
        from sim.scenario.build import ACTION_KINDS, REACTIONS

        if "intents" in self._cache:
            return self._cache["intents"].copy()
        pipe = self.pipeline
        sc = pipe.ctx.scenario
        truth, h, ledger = pipe.truth, self.horizon_s, self.ledger
        ids, person, t = truth.views()
        found = find_intents(person, t, sc.insights.threshold, sc.insights.window, click=ids)
        clicks = found["click"].to_numpy()
        states = ledger.states_at("click", h)[clicks]
        fate = np.array([ledger.reasons[r] if r >= 0 else "" for r in ledger.table("click").reason[clicks]],
                        dtype=object)
        fate[states == DELIVERED] = "delivered"
        fate[states == IN_FLIGHT] = "in_flight"
        found["click_fate"] = fate
        parts = []
        for kind in ACTION_KINDS:
            if kind not in ledger.tables:
                continue
            table = ledger.table(kind)
            reaction_t, fate = reactions(ledger, kind, REACTIONS, h)
            parts.append(pd.DataFrame({"person": truth.person_of(table.parent[: table.n]),
                                       "t": ledger.stage_times(kind, "action", h),
                                       "reaction_t": reaction_t, "fate": fate}))
        actions = pd.concat(parts, ignore_index=True) if parts else \
            pd.DataFrame({"person": [], "t": [], "reaction_t": [], "fate": []})
        fired = ledger.table("firing")
        firings = pd.DataFrame({"person": truth.person_of(fired.parent[: fired.n]),
                                "t": ledger.stage_times("firing", "fired", h),
                                "filtered": ledger.states_at("firing", h) == DROPPED})
        out = classify(found, actions[actions["person"] >= 0], firings, sc.catch_within, h)
        self._cache["intents"] = out
        return out.copy()

    def intent_summary(self) -> dict:
        """Intents per status (caught + late + missed + pending = intents), ``acted``,
        ``missed_by_reason``, ``pending_by_cause``, ``time_to_action_s`` (intent to the reaction,
        over caught and late intents) and ``time_to_data_action_s`` (intent to the Data Action,
        over acted intents), in seconds."""
        from sim.domain.intents import summarize

        frame = self.intents()
        return {**summarize(frame),
                "time_to_action_s": latency_stats(frame["time_to_action"].to_numpy(dtype=float)),
                "time_to_data_action_s": latency_stats(frame["time_to_data_action"].to_numpy(dtype=float))}

    def warnings(self) -> list[str]:
        """Things about the run's set-up that make its numbers easy to misread."""
        out = []
        sc = self.pipeline.ctx.scenario if self.pipeline is not None else None
        if sc is not None and sc.catch_within > self.horizon_s:
            out.append(f"catch_within ({sc.catch_within:g} s) is longer than the horizon ({self.horizon_s:g} s): "
                       "no intent can be counted as missed, and unanswered ones stay pending")
        return out

    def to_dict(self) -> dict:
        stats = {k: latency_stats(self.latency(k)) for k in self.latency_keys()}
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
            "intents": self.intent_summary() if self.pipeline is not None else None,
            "warnings": self.warnings(),
            "ledger_digest": self.ledger.digest(self.horizon_s),
            "version": self.version,
            "wall_s": self.wall_s,
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The summary as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    # -- time series ---------------------------------------------------------------------------
    def primary_e2e(self) -> str | None:
        """The end-to-end key of the scenario's delivery path: ``click->notification`` when the Flow
        gets the alerts, else ``click->ack`` (webhook only); None when neither runs."""
        return next((key for key, (kind, *_) in CROSS.items()
                     if key.startswith("click->") and kind in self.ledger.tables), None)

    def fault_windows(self) -> list[dict]:
        """The scenario's faults: target, kind, start and end (seconds)."""
        if self.pipeline is None:
            return []
        return [{"target": f.target, "kind": f.kind, "start": f.start, "end": f.end}
                for f in self.pipeline.ctx.faults.faults]

    def allocation_series(self, grid: np.ndarray) -> np.ndarray | None:
        """The hourly publish allocation at each time of ``grid`` (None without an event bus)."""
        bus = getattr(self.pipeline, "event_bus", None)
        return None if bus is None else np.array([bus.allocation_at(x) for x in grid])

    def occupancy(self, kind: str, a: str, b: str, grid: np.ndarray) -> np.ndarray:
        """Messages between stages ``a`` and ``b`` (entered ``a``, not yet left ``b``) at each time."""
        h = self.horizon_s
        ta = self.ledger.stage_times(kind, a, h)
        tb = self.ledger.stage_times(kind, b, h)
        end = self.ledger.table(kind).end_t[: len(ta)].copy()
        end[end > h] = np.nan
        leave = np.where(np.isfinite(tb), tb, np.where(np.isfinite(end), end, np.inf))
        entered = np.sort(ta[np.isfinite(ta)])
        left = np.sort(leave[np.isfinite(ta)])
        return np.searchsorted(entered, grid, side="right") - np.searchsorted(left, grid, side="right")

    def queue_series(self, points: int = 400) -> pd.DataFrame:
        """Occupancy of every stage over time (columns ``<from>-><to>``, index: time in seconds)."""
        grid = np.linspace(0.0, self.horizon_s, points)
        data = {}
        for kind, table in self.ledger.tables.items():
            if table.n == 0:
                continue
            for a, b in zip(table.stages, table.stages[1:]):
                data[f"{a}->{b}"] = self.occupancy(kind, a, b, grid)
        return pd.DataFrame(data, index=pd.Index(grid, name="t_s"))

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
        return None if self.pipeline is None else self.pipeline.ctx.scenario.model_dump(mode="json")

    def write(self, out_dir: str | Path, plots: bool = True, command: str | None = None) -> list[Path]:
        """Write ``summary.json``, the PNG plots (unless ``plots`` is false) and ``report.html``
        (the summary, losses, intents, figures and scenario in one self-contained page) into
        ``out_dir``; return the paths written."""
        from sim.report import html
        from sim.report.plots import render_pngs, save_all

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.to_json(out / "summary.json")
        pngs = render_pngs(self) if plots else {}
        paths = [out / "summary.json", *save_all(self, out, pngs)]
        paths.append(html.write(self, out / "report.html", pngs, command))
        return paths
