"""Real-Time Customer Profile in simulated time, its segments and the activation; and the
streaming web events that feed the same profile.

* **Profile updates.** A landed batch's records reach the profile one by one, each
  ``profile.latency`` after landing (:class:`~sim.domain.aep.profile.RealTimeProfile`: the shared
  identity graph with AEP's limits, fragments, the merge policy). A record the profile refuses
  (no identity, more than 20, an invalid ECID) drops its change ``identity_refused``; otherwise the
  change is delivered at stage ``profile``. Rows that existed before the start (``history:
  loaded``) are in the profile at t = 0.
* **Segments.** A condition on the merged attributes (XDM paths) and optionally a web event of a
  page within a window. ``streaming`` segments are evaluated at every update of a profile;
  ``batch`` segments once a day at ``batch_time`` over the profiles updated since the previous
  evaluation, published ``batch_duration`` later. A profile that enters a segment (it did not
  qualify at the previous evaluation) is one ``activation`` message (stages ``qualified ->
  sent``), whose parent is the latest source change that updated that profile (none for a
  profile only web events touched), sent to the destination after ``activation.latency``.
* **Web events** (kind ``web_event``: ``event -> profile``): ExperienceEvents streamed into the
  profile after ``web_events.latency``, identified by the e-mail of a known contact or an ECID.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.actors.aep.dataflow import lognormal
from sim.actors.aep.source import poisson_times
from sim.actors.base import Actor, RunContext, TimedHold
from sim.domain.aep.mappings import XdmRecord
from sim.domain.aep.profile import MergePolicy, RealTimeProfile
from sim.domain.aep.xdm import xdm_condition, xdm_name
from sim.domain.filters import compile_filter

if TYPE_CHECKING:
    from sim.actors.aep.dataflow import DataflowActor
    from sim.scenario.aep import Activation, Profile, Segment, WebEvents


class SegmentState:
    def __init__(self, spec: Segment) -> None:
        self.spec = spec
        self.filter = compile_filter(xdm_condition(spec.condition))
        self.members: set[int] = set()
        self.touched: dict = {}  # node -> None (ordered set), batch only
        self.entries = 0
        self.exits = 0
        self.evaluations = 0
        self.activations: list[int] = []  # activation message ids
        self.triggers: dict[str, int] = {}  # entries by what triggered the evaluation


class ProfileActor(Actor):
    """See the module docstring."""

    name = "profile"

    def __init__(self, ctx: RunContext, profile_spec: Profile, segments: list[Segment], activation: Activation,
                 dataset_ids: dict[str, str]) -> None:
        super().__init__(ctx)
        order = tuple(dataset_ids.get(d, d) for d in profile_spec.dataset_order)
        self.profile = RealTimeProfile(MergePolicy(profile_spec.merge_policy, order))
        self._rows: dict[int, dict] = {}  # profile id -> its merged attributes by XDM name (see _ingest)
        self.latency = lognormal(ctx.rng("profile.latency"), profile_spec.latency)
        self.act_latency = lognormal(ctx.rng("activation.latency"), activation.latency)
        self.batch_latency = ctx.rng("segments.batch")
        self.segments = [SegmentState(s) for s in segments]
        self.pending: set[int] = set()  # changes waiting for their profile update
        self.sent = TimedHold()
        self.last_change: dict[int, int] = {}
        self.initialized: set[int] = set()  # profiles whose memberships are known
        self.page_seen: dict[tuple, dict[str, float]] = {}
        self.c = {"records": 0, "accepted": 0, "no_identity": 0, "too_many_identities": 0, "invalid_ecid": 0,
                  "blocked_identities": 0, "merges": 0, "evicted_identities": 0, "history_records": 0,
                  "web_events": 0, "activations": 0}
        batch = [s for s in self.segments if s.spec.evaluation == "batch"]
        if batch:
            self.env.process(self._batch_evaluations(batch))

    # -- history ---------------------------------------------------------------------------------
    def preload(self, records, dataset_id: str) -> None:
        """Rows that were in the profile before the start (no messages, no segment entries)."""
        t = self.ctx.start_epoch_s
        for rec in records:
            self._ingest([rec], dataset_id, t=t if rec.timestamp is None else rec.timestamp)
            self.c["history_records"] += 1

    # -- landed batches ---------------------------------------------------------------------------
    def receive(self, flow_actor: DataflowActor, records: list[XdmRecord], ids: np.ndarray, now: float) -> None:
        dataset = flow_actor.flow.target.dataset.id
        h = self.ctx.horizon
        for rec, cid in zip(records, ids.tolist()):
            t = now + self.latency()
            if cid >= 0:
                self.pending.add(cid)
            if t < h:
                self.ctx.at(t, self._apply, rec, cid, dataset)

    def _node(self, rec: XdmRecord) -> tuple[str, str] | None:
        for ns, v in rec.identities:
            if self.profile.profile_id(ns, v) is not None:
                return (ns, str(v))
        return None

    def _first_touch(self, rec: XdmRecord, now: float) -> None:
        """A profile's segment memberships before its first update of the run (so that a profile
        already in a segment at the start does not count as entering it)."""
        if not self.segments:
            return
        node = self._node(rec)
        if node is None:
            return
        pid = self.profile.profile_id(*node)
        assert pid is not None  # _node returns an identity of a profile
        if pid in self.initialized:
            return
        self.initialized.add(pid)
        for seg in self.segments:
            if self._qualifies(seg, node, now)[0]:
                seg.members.add(pid)

    def _apply(self, rec: XdmRecord, cid: int, dataset: str) -> None:
        now = self.env.now
        self._first_touch(rec, now)
        stats = self._ingest([rec], dataset, t=self.ctx.start_epoch_s + now)
        c = self.c
        c["records"] += 1
        c["no_identity"] += stats.no_identity
        c["too_many_identities"] += stats.too_many_identities
        c["invalid_ecid"] += stats.invalid_ecid
        c["blocked_identities"] += stats.blocked_identities
        c["merges"] += stats.merges
        c["evicted_identities"] += stats.evicted
        if cid >= 0:
            self.pending.discard(cid)
            if stats.accepted:
                self.ledger.stamp("change", "profile", [cid], now)
                self.ledger.deliver("change", [cid], now)
            else:
                self.ledger.drop("change", [cid], "identity_refused", now)
        if stats.accepted:
            c["accepted"] += 1
            node = self._node(rec)
            if node is not None:
                if cid >= 0:
                    pid = self.profile.profile_id(*node)
                    assert pid is not None  # _node returns an identity of a profile
                    self.last_change[pid] = cid
                self._updated(node, now)

    def apply_web(self, rec: XdmRecord, page: str, dataset: str) -> None:
        now = self.env.now
        self._first_touch(rec, now)
        stats = self._ingest([rec], dataset, t=self.ctx.start_epoch_s + now)
        self.c["web_events"] += 1
        self.c["merges"] += stats.merges
        if stats.accepted:
            node = self._node(rec)
            if node is not None:
                self.page_seen.setdefault(node, {})[page] = now
                self._updated(node, now, "web_event")

    def _ingest(self, records, dataset: str, t: float):
        """Records into the profile. The cached rows of the profiles they updated expire; all of them
        when identities merged, split or were evicted (profile ids change)."""
        stats = self.profile.ingest(records, dataset, t=t)
        if stats.merges or stats.evicted or stats.splits:
            self._rows.clear()
        else:
            for pid in stats.profiles:
                self._rows.pop(pid, None)
        return stats

    # -- segments ---------------------------------------------------------------------------------
    def _updated(self, node, now: float, trigger: str = "change") -> None:
        for seg in self.segments:
            if seg.spec.evaluation == "streaming":
                self._evaluate(seg, node, now, now, trigger)
            else:
                seg.touched[node] = None

    def _qualifies(self, seg: SegmentState, node, now: float) -> tuple[bool, int | None]:
        pid = self.profile.profile_id(*node)
        if pid is None:
            return False, None
        row = self._rows.get(pid)
        if row is None:
            row = self._rows[pid] = {xdm_name(k): v for k, v in self.profile.attributes(*node).items()}
        ok = seg.filter(row) if seg.filter.fields or seg.filter.expression else True
        ev = seg.spec.event
        if ok and ev is not None:
            nodes = set(self.profile.graph.identifiers(pid)) | {node}
            seen = max((self.page_seen.get(n, {}).get(ev.page, -math.inf) for n in nodes), default=-math.inf)
            ok = seen >= now - ev.within
        return ok, pid

    def _evaluate(self, seg: SegmentState, node, now: float, publish: float, trigger: str = "batch") -> None:
        seg.evaluations += 1
        ok, pid = self._qualifies(seg, node, now)
        if pid is None:
            return
        if ok and pid not in seg.members:
            seg.members.add(pid)
            seg.entries += 1
            seg.triggers[trigger] = seg.triggers.get(trigger, 0) + 1
            if seg.spec.activate:
                parent = self.last_change.get(pid, -1)
                if publish <= now:
                    self._activate(parent, now, seg)
                else:
                    self.ctx.at(publish, self._activate, parent, publish, seg)
        elif not ok and pid in seg.members:
            seg.members.discard(pid)
            seg.exits += 1

    def _batch_evaluations(self, batch: list[SegmentState]):
        start, h = self.ctx.start_epoch_s, self.ctx.horizon
        for seg in batch:
            seg.next_day = math.floor(start / 86400.0)  # type: ignore[attr-defined]
        while True:
            due = []
            for seg in batch:
                t = seg.next_day * 86400.0 + seg.spec.batch_time - start  # type: ignore[attr-defined]
                while t < self.env.now:
                    seg.next_day += 1  # type: ignore[attr-defined]
                    t += 86400.0
                due.append(t)
            t = min(due)
            if t >= h:
                return
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            for seg, when in zip(batch, due):
                if when == t:
                    seg.next_day += 1  # type: ignore[attr-defined]
                    publish = t + lognormal(self.batch_latency, seg.spec.batch_duration)()
                    nodes, seg.touched = list(seg.touched), {}
                    for node in nodes:
                        self._evaluate(seg, node, t, publish)

    def _activate(self, parent: int, t: float, seg: SegmentState) -> None:
        aid = self.ledger.create("activation", t, parent)
        seg.activations.append(int(aid[0]))
        sent = t + self.act_latency()
        self.ledger.stamp("activation", "sent", aid, sent)
        self.ledger.deliver("activation", aid, sent)
        self.sent.add(aid, np.array([sent]))
        self.c["activations"] += 1

    # -- accounting ---------------------------------------------------------------------------------
    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"change": [np.fromiter(sorted(self.pending), dtype=np.int64, count=len(self.pending))],
                "activation": self.sent.held(horizon)}

    def counts(self) -> dict:
        out: dict[str, Any] = dict(self.c)
        out["profiles"] = int(self.profile.graph.unified_profiles())
        out["segments"] = {s.spec.name: {"entries": s.entries, "exits": s.exits, "members": len(s.members),
                                         "evaluations": s.evaluations, "entries_triggered_by": dict(s.triggers)}
                           for s in self.segments}
        return out


class WebEventSource(Actor):
    """Streaming web events (module docstring); all drawn at the start."""

    name = "web_events"

    def __init__(self, ctx: RunContext, spec: WebEvents, known_rows: int, profile: ProfileActor) -> None:
        super().__init__(ctx)
        rng = ctx.rng("web_events")
        t = poisson_times(rng, spec.per_hour, spec.daily_profile, ctx.start_epoch_s, ctx.horizon)
        n = len(t)
        known = (rng.random(n) < spec.known_share) & (known_rows > 0)
        person = rng.integers(0, max(known_rows, 1), n)
        anon = rng.integers(0, 1_000_000, n)
        pages = list(spec.pages)
        p = np.asarray([spec.pages[k] for k in pages], dtype=float)
        page = rng.choice(len(pages), size=n, p=p / p.sum()) if pages else np.zeros(n, dtype=int)
        lat = lognormal(ctx.rng("web_events.latency"), spec.latency)
        arrive = t + np.array([lat() for _ in range(n)])
        self.hold = TimedHold()
        self.n = n
        if n == 0:
            return
        ids = ctx.ledger.create("web_event", t)
        ctx.ledger.stamp("web_event", "profile", ids, arrive)
        ctx.ledger.deliver("web_event", ids, arrive)
        self.hold.add(ids, arrive)
        for i in np.flatnonzero(arrive < ctx.horizon):
            ident = ("Email", f"c{person[i]}@{spec.domain}") if known[i] else ("ECID", str(10**37 + int(anon[i])))
            rec = XdmRecord({"web": {"webPageDetails": {"name": pages[page[i]]}}}, [ident], None)
            ctx.at(float(arrive[i]), profile.apply_web, rec, pages[page[i]], spec.dataset)

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        return {"web_event": self.hold.held(horizon)}

    def counts(self) -> dict:
        return {"events": self.n}
