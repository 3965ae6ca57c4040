"""One dataflow in simulated time: its scheduler, its runs, its source API and its source table.

**The scheduler** creates a ``run`` message at each start of the flow's schedule
(:meth:`~sim.domain.aep.schedules.PeriodicSchedule.run_times`, those inside the horizon). When a
run is still going at the next start (it overlaps), the rule ``on_overlap`` decides:

* ``wait``: the due run queues and starts as soon as the running one finishes (runs queue in
  order; a backlog grows when runs are longer than the interval). It reads the changes up to its
  actual start.
* ``skip``: the due run is skipped (dropped ``skipped_overlap`` at its scheduled time); its
  changes are read by the next run that starts.

**A run** starting at ``r`` (stages ``scheduled -> started -> finished``):

1. brings the source table up to ``r``: a version written at or before ``r`` replaces its row's
   previous one, and an unread previous version is dropped ``superseded`` at that moment (the
   source keeps only the latest state of a row; the newer version carries it);
2. selects the rows with :meth:`~sim.domain.aep.delta.DeltaCopy.select_mask` (the platform's
   rule: delta value in ``[high-water mark, floor(r))``; without a Copy delta column every row, a
   full reload), ordered by delta value;
3. after ``scheduler.startup``, reads them through the source API plan
   (:meth:`~sim.domain.aep.sources.SourceApi.read`: pages, token requests and 401s, 429 waits),
   each row stamped ``read`` at the end of its page. A row updated again before its page call
   starts no longer matches the window: its selected version is dropped ``superseded`` (at the
   update) and the newer version goes to a later run. A read that exhausts the daily quota fails
   the run (dropped ``quota_exhausted``): nothing is written, the high-water mark is not
   committed, and the next run reads the same window again;
4. maps the rows never read before (:meth:`~sim.domain.aep.mappings.MappingSet.apply`; a row
   error drops the change ``mapping_failed``), writes the batch to the dataset after
   ``scheduler.write`` (+ ``write_per_row`` per row): ``landed``, the run ``finished``, and hands
   the records to the profile.

Pages are planned for the rows selected at the run's start. In a full reload, rows read before
(unchanged) are read, counted and written again, but not mapped into the profile a second time
(their fragments would not change). Each dataflow has its own API client (token, limiter, daily
count); ``other_requests_per_day`` stands for the other apps sharing an account's quota.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.actors.aep.source import SourceTable
from sim.actors.base import Actor, IdSet, RunContext
from sim.domain.aep.connections import HUBSPOT_SPEC
from sim.domain.aep.sources import SourceApi, SourceApiLimits, hubspot_limits, sfmc_v2_limits

if TYPE_CHECKING:
    from sim.domain.aep.dataflow import Dataflow
    from sim.domain.aep.mappings import XdmRecord
    from sim.scenario.aep import ApiSettings, Scheduler, Source

PENDING, READ, DROPPED = 0, 1, 2


def lognormal(rng: np.random.Generator, lat) -> Callable[[], float]:
    """A sampler of a :class:`~sim.scenario.common.Latency` (constant when p95 == median)."""
    median, sigma = float(lat.median), float(lat.sigma)
    if sigma == 0.0:
        return lambda: median
    return lambda: float(median * math.exp(sigma * rng.standard_normal()))


def api_limits(spec_id: str, api) -> SourceApiLimits:
    """The connector's published limits with the scenario's overrides."""
    over: dict = {}
    if api.page_size is not None:
        over["page_size"] = api.page_size
    if api.token_lifetime is not None:
        over["token_lifetime_s"] = float(api.token_lifetime)
    if api.static_token:
        over["token_lifetime_s"] = None
    if api.refresh is not None:
        over["refresh"] = api.refresh
    if api.daily_requests is not None:
        over["daily_requests"] = api.daily_requests
    if api.burst_requests is not None:
        over["burst_requests"] = api.burst_requests
    if api.burst_window is not None:
        over["burst_window_s"] = float(api.burst_window)
    if spec_id == HUBSPOT_SPEC:
        return hubspot_limits(api.tier or "starter", **over)
    return sfmc_v2_limits(**over)


def run_times_within(schedule, start_epoch: float, horizon: float) -> np.ndarray:
    """The schedule's run starts inside ``[start, start + horizon)``, in simulated seconds: the runs
    of :meth:`~sim.domain.aep.schedules.PeriodicSchedule.run_times` from the first at or after the
    start (a schedule that began long before is not enumerated from its startTime)."""
    end = start_epoch + horizon if schedule.end_time is None else min(start_epoch + horizon, schedule.end_time)
    first = schedule.start_time
    period = schedule.period_s
    if period is None:
        times = np.array([first], dtype=float) if start_epoch <= first < end else np.empty(0)
    else:
        k0 = max(0, math.ceil((start_epoch - first) / period))
        n = max(0, math.ceil((end - first) / period) - k0)
        times = first + period * (k0 + np.arange(n, dtype=float))
    return times - start_epoch


class DataflowActor(Actor):
    """See the module docstring. ``deliver(flow_actor, records, change_ids, t)`` hands a landed
    batch to the profile."""

    def __init__(self, ctx: RunContext, source_spec: Source, flow: Dataflow, api_settings: ApiSettings,
                 scheduler: Scheduler,
                 deliver: Callable[[DataflowActor, list[XdmRecord], np.ndarray, float], None]) -> None:
        super().__init__(ctx)
        self.spec = source_spec
        self.flow = flow
        self.name = f"dataflow:{source_spec.name}"
        self.label = source_spec.name
        self.scheduler = scheduler
        self.deliver_batch = deliver
        rng = ctx.rng
        mapping = flow.mapping
        self.delta = flow.delta_column
        self.copier = flow.copier
        mapped = {m.source_attribute for m in mapping.mappings}
        identity_columns = {m.source_attribute for m in mapping.identity_mappings}
        self.table = SourceTable(source_spec, flow.source.schema.fields, self.delta.name if self.delta else None,
                                 mapped, identity_columns, rng(f"source.{source_spec.name}.changes"),
                                 rng(f"source.{source_spec.name}.values"), ctx.start_epoch_s, ctx.horizon)
        tb = self.table
        self.first_id = int(ctx.ledger.create("change", tb.change_times())[0]) if tb.n_changes else 0
        self.state = np.zeros(tb.n_versions, dtype=np.int8)  # PENDING / READ / DROPPED (per version)
        self.state[: tb.rows] = READ if source_spec.history == "loaded" else PENDING
        self.handed = np.zeros(tb.n_changes, dtype=bool)  # passed to the profile
        self.gone_t = np.full(tb.n_changes, np.nan)  # dropped here, at this time
        self.cur_v = np.full(tb.n_rows, -1, dtype=np.int64)
        self.cur_v[: tb.rows] = np.arange(tb.rows)
        self.d = self._delta_values(tb.t)  # version -> truncated delta value (epoch s)
        self.cur_d = np.full(tb.n_rows, np.nan)
        self.cur_d[: tb.rows] = self.d[: tb.rows]
        self.applied = tb.rows  # versions applied to the table so far
        self.hwm: float | None = None
        if source_spec.history == "loaded" and self.delta is not None:
            self.hwm = self.delta.truncate(ctx.start_epoch_s)
        api_rng = rng(f"api.{source_spec.name}")
        page = lognormal(api_rng, api_settings.latency) if api_settings.latency else (lambda: 0.3)
        token = lognormal(api_rng, api_settings.token_latency) if api_settings.token_latency else (lambda: 0.2)
        reject = page
        self.api = SourceApi(api_limits(flow.source.connection_spec_id, api_settings),
                             lambda kind: token() if kind == "token" else reject() if kind == "rejected" else page())
        self.other_per_s = float(api_settings.other_requests_per_day or 0.0) / 86400.0
        self._other_t: float | None = None
        self._other_carry = 0.0
        self.startup = lognormal(rng(f"run.{source_spec.name}.startup"), scheduler.startup)
        self.write = lognormal(rng(f"run.{source_spec.name}.write"), scheduler.write)
        # the schedule, in simulated seconds
        self.run_times = run_times_within(flow.schedule, ctx.start_epoch_s, ctx.horizon)
        self.period_s = flow.schedule.period_s
        self.runs = IdSet()  # run messages queued or running
        self.run_end: dict[int, float] = {}  # running: when it ends
        self.queue: list[tuple[int, float]] = []
        self.busy = False
        self.history_rows_read = 0
        self.runlog: list[dict] = []
        self.c = {"runs_scheduled": 0, "runs_started": 0, "runs_finished": 0, "runs_failed": 0, "skipped_runs": 0,
                  "rows_read": 0, "rows_written": 0, "rows_failed": 0, "history_rows_read": 0, "superseded": 0,
                  "api_calls": 0, "page_calls": 0, "token_requests": 0, "token_refreshes": 0, "unauthorized": 0,
                  "rate_limit_waits": 0, "rate_limit_wait_s": 0.0, "changes": int(tb.n_changes)}
        self._wake = self.env.event()
        self.env.process(self._schedule())
        self.env.process(self._worker())
        # at the horizon the source holds each row's latest version: older unread ones are superseded
        ctx.at(float(np.nextafter(ctx.horizon, 0.0)), lambda: self._advance(self.env.now))

    # -- delta values ------------------------------------------------------------------------
    def _delta_values(self, t: np.ndarray) -> np.ndarray:
        if self.delta is None:
            return np.zeros(len(t))
        epoch = self.ctx.start_epoch_s + t
        res = self.delta.resolution_s
        if res <= 60 and self.delta.zone is not None and self.delta.timezone.upper() in ("UTC", "GMT", "Z"):
            return np.floor(epoch / res + 1e-9) * res
        return np.array([self.delta.truncate(float(e)) for e in epoch])

    def change_id(self, v: np.ndarray) -> np.ndarray:
        return self.first_id + np.asarray(v, dtype=np.int64) - self.table.rows

    # -- the source table ----------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        """Apply the versions written at or before ``now``; unread older versions are superseded."""
        tb = self.table
        q = int(np.searchsorted(tb.t[tb.rows:], now, side="right")) + tb.rows
        if q <= self.applied:
            return
        chunk = np.arange(self.applied, q)
        self.applied = q
        prev = tb.prev[chunk]
        sup = (prev >= tb.rows) & (self.state[np.maximum(prev, 0)] == PENDING) & (prev >= 0)
        if sup.any():
            self._supersede(prev[sup], tb.t[chunk][sup])
        rows = tb.row[chunk]
        np.maximum.at(self.cur_v, rows, chunk)
        touched = np.unique(rows)
        self.cur_d[touched] = self.d[self.cur_v[touched]]

    def _supersede(self, versions: np.ndarray, t: np.ndarray) -> None:
        self.state[versions] = DROPPED
        ids = self.change_id(versions)
        self.ledger.drop("change", ids, "superseded", t)
        self.gone_t[versions - self.table.rows] = t
        self.c["superseded"] += len(versions)

    # -- scheduler and runs --------------------------------------------------------------------
    def _schedule(self):
        skip = self.scheduler.on_overlap == "skip"
        for s in self.run_times:
            if s > self.env.now:
                yield self.env.timeout(s - self.env.now)
            rid = int(self.ledger.create("run", s)[0])
            self.c["runs_scheduled"] += 1
            if self.busy and skip:
                self.ledger.drop("run", [rid], "skipped_overlap", s)
                self.c["skipped_runs"] += 1
                self.runlog.append({"scheduled": s, "started": None, "finished": None, "rows_read": 0,
                                    "api_calls": 0, "outcome": "skipped_overlap"})
                continue
            self.runs.add(rid)
            self.queue.append((rid, s))
            if not self._wake.triggered:
                self._wake.succeed()

    def _worker(self):
        while True:
            if not self.queue:
                self._wake = self.env.event()
                yield self._wake
                continue
            rid, scheduled = self.queue.pop(0)
            self.busy = True
            end = self._run(rid, scheduled, self.env.now)
            self.run_end[rid] = end
            if end > self.env.now:
                yield self.env.timeout(end - self.env.now)
            self.runs.remove(rid)
            del self.run_end[rid]
            self.busy = False

    def _other_requests(self, epoch: float) -> None:
        if self.other_per_s <= 0:
            return
        if self._other_t is None:
            self._other_t = epoch - (epoch % 86400.0)
        self._other_carry += (epoch - self._other_t) * self.other_per_s
        self._other_t = epoch
        n = int(self._other_carry)
        if n:
            self.api.consume_quota(n, epoch)
            self._other_carry -= n

    def _run(self, rid: int, scheduled: float, r: float) -> float:
        """Carry out a run starting at ``r``; returns when it ends (finished or failed)."""
        led, tb, c = self.ledger, self.table, self.c
        led.stamp("run", "started", [rid], r)
        c["runs_started"] += 1
        self._advance(r)
        start_epoch = self.ctx.start_epoch_s
        run_epoch = start_epoch + r
        if self.delta is None:
            mask, cut = self.cur_v >= 0, None
            order = np.flatnonzero(mask)
        else:
            mask, cut = self.copier.select_mask(self.cur_d, self.hwm, run_epoch)
            sel = np.flatnonzero(mask)
            order = sel[np.lexsort((sel, self.cur_d[sel]))]
        n = len(order)
        read_start = run_epoch + self.startup()
        self._other_requests(read_start)
        had_token = self.api.token_issued_at is not None
        plan = self.api.read(n, read_start)
        calls = len(plan.calls)
        c["api_calls"] += calls
        c["page_calls"] += sum(1 for call in plan.calls if call.kind == "page")
        c["token_requests"] += plan.token_requests
        c["token_refreshes"] += plan.token_requests - (0 if had_token or not plan.token_requests else 1)
        c["unauthorized"] += plan.unauthorized
        c["rate_limit_waits"] += plan.throttled
        c["rate_limit_wait_s"] += plan.wait_s
        log = {"scheduled": scheduled, "started": r, "finished": None, "rows_read": 0, "api_calls": calls,
               "outcome": "finished"}
        self.runlog.append(log)
        if plan.failed:
            end = plan.end - start_epoch
            led.drop("run", [rid], "quota_exhausted", end)
            c["runs_failed"] += 1
            log.update(outcome="quota_exhausted", finished=end)
            return end
        # page times of each selected row
        page_start = np.empty(n)
        page_end = np.empty(n)
        for call in plan.calls:
            if call.kind == "page" and call.status == 200 and call.rows:
                page_start[call.offset: call.offset + call.rows] = call.start - start_epoch
                page_end[call.offset: call.offset + call.rows] = call.end - start_epoch
        versions = self.cur_v[order]
        # a row updated again before its page is read no longer matches the window
        late = tb.next_t[versions] < page_start
        fresh = self.state[versions] == PENDING
        sup = late & fresh & (versions >= tb.rows)
        if sup.any():
            self._supersede(versions[sup], tb.next_t[versions[sup]])
        read = ~late
        rows_read = int(read.sum())
        new = read & fresh
        new_v = versions[new]
        self.state[new_v] = READ
        is_change = new_v >= tb.rows
        ids = self.change_id(new_v[is_change])
        led.stamp("change", "read", ids, page_end[new][is_change])
        self.history_rows_read += int((~is_change).sum())
        c["history_rows_read"] += int((~is_change).sum())
        # map what was never read before
        texts = [self.delta.format(start_epoch + float(t)) for t in tb.t[new_v]] if self.delta is not None else None
        rows = [tb.record(int(v), texts[i] if texts else None) for i, v in enumerate(new_v)]
        stamps = list(self.d[new_v]) if self.delta is not None else None
        batch = self.flow.mapping.apply(rows, stamps)
        failed = np.zeros(len(new_v), dtype=bool)
        for err in batch.failed:
            failed[err.row] = True
        bad_old = int(tb.bad[versions[read & ~fresh]].sum()) if tb.bad_column is not None else 0
        rows_failed = int(failed.sum()) + bad_old
        written = rows_read - rows_failed
        landed = plan.end - start_epoch + self.write() + self.scheduler.write_per_row * max(written, 0)
        c["rows_read"] += rows_read
        c["rows_failed"] += rows_failed
        c["rows_written"] += written
        c["runs_finished"] += 1
        log.update(finished=landed, rows_read=rows_read)
        led.stamp("run", "finished", [rid], landed)
        led.deliver("run", [rid], landed)
        fail_ids = self.change_id(new_v[failed & is_change])
        if len(fail_ids):
            led.drop("change", fail_ids, "mapping_failed", landed)
            self.gone_t[fail_ids - self.first_id] = landed
        ok_ids = self.change_id(new_v[~failed & is_change])
        led.stamp("change", "landed", ok_ids, landed)
        # records in batch order are the rows that did not fail; their message ids (-1: history)
        rec_ids = np.where(new_v >= tb.rows, self.change_id(new_v), -1)[~failed]
        if cut is not None:
            self.hwm = cut
        if batch.records:
            if landed < self.ctx.horizon:
                self.ctx.at(landed, self._land, batch.records, rec_ids)
        return landed

    def _land(self, records, ids: np.ndarray) -> None:
        mine = ids[ids >= 0]
        self.handed[mine - self.first_id] = True
        self.deliver_batch(self, records, ids, self.env.now)

    # -- accounting ----------------------------------------------------------------------------
    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        gone = np.isfinite(self.gone_t) & (self.gone_t <= horizon)
        mine = np.flatnonzero(~self.handed & ~gone) + self.first_id
        runs = self.runs.array()
        runs = runs[[self.run_end.get(int(r), math.inf) > horizon for r in runs]] if len(runs) else runs
        return {"change": [mine], "run": [runs]}

    def counts(self) -> dict:
        out = dict(self.c)
        out["rate_limit_wait_s"] = float(out["rate_limit_wait_s"])
        return out
