"""The Dataverse org: the record store and the trigger catalog of one environment.

Changes come from the record sources (agents, Power Apps, SDK integrations), from journeys
(``create_record`` tiles) and from customers' responses. Each is *pushed* with the time it happens
and applied in time order when the trigger service's cycle asks for them (:meth:`flush`): batch at
the boundaries. Every create or update that really changes a record is a ``change`` message
(created at its time, delivered when evaluated); each ready trigger it fires that a journey uses is
a ``trigger`` message (parent: the change), handed to the trigger service. Records that exist before
the run (the customers, a source's backlog) are created silently: no change, no trigger.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.domain.dynamics import Catalog, ChangeEvent, DataverseError, TriggerEvent

CREATE, UPDATE = "create", "update"


class DataverseOrg(Actor):
    """See the module docstring. ``used``: the triggers some journey listens to."""

    name = "dataverse"

    def __init__(self, ctx: RunContext, catalog: Catalog, used: set[str]) -> None:
        super().__init__(ctx)
        self.catalog = catalog
        self.store = catalog.store()
        self.used = used
        self._heap: list[tuple[float, int, tuple]] = []
        self._seq = 0
        self.on_push: Callable[[float], None] | None = None  # told the time of each pushed change
        self.changes: dict[str, int] = {}   # "table.operation" -> changes applied
        self.no_ops = 0
        self.rejected: dict[str, int] = {}  # origin -> operations the platform refused
        self.fired: dict[str, int] = {}     # trigger -> events for journeys
        self.silent = 0

    # -- before the run ------------------------------------------------------------------------
    def create_silently(self, table: str, rows: list[tuple[str, Mapping[str, Any]]]) -> None:
        """Records that exist at t = 0, ``(record id, values)`` (no change message, no trigger)."""
        self.silent += self.store.load(table, rows)

    # -- during the run ------------------------------------------------------------------------
    def push(self, t: float, op: tuple) -> None:
        """Apply ``op`` at time ``t`` (>= now): ``(CREATE, table, values, record_id, user, origin)`` or
        ``(UPDATE, table, record_id, values, user, origin)``."""
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, op))
        if self.on_push is not None:
            self.on_push(t)

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def flush(self, now: float) -> list[tuple[int, float, TriggerEvent]]:
        """Apply every change due at or before ``now`` in time order; return the new trigger
        messages as ``(id, time, event)``."""
        heap = self._heap
        applied = []
        store = self.store
        while heap and heap[0][0] <= now:
            t, _, op = heapq.heappop(heap)
            change: ChangeEvent | None
            try:
                if op[0] == CREATE:
                    _, table, values, record_id, user, origin = op
                    change = store.create(table, values, t=t, user=user, record_id=record_id)
                else:
                    _, table, record_id, values, user, origin = op
                    change = store.update(table, record_id, values, t=t, user=user)
            except DataverseError:
                self.rejected[origin] = self.rejected.get(origin, 0) + 1
                continue
            if change is None:
                self.no_ops += 1
                continue
            key = f"{change.table}.{change.operation}"
            self.changes[key] = self.changes.get(key, 0) + 1
            applied.append(change)
        if not applied:
            return []
        cids = self.ledger.create("change", np.array([c.t for c in applied]))
        self.ledger.deliver("change", cids, now)
        fired: list[tuple[int, TriggerEvent]] = []
        for cid, change in zip(cids.tolist(), applied):
            for event in self.catalog.evaluate(change):
                if event.trigger in self.used:
                    fired.append((cid, event))
                    self.fired[event.trigger] = self.fired.get(event.trigger, 0) + 1
        if not fired:
            return []
        tids = self.ledger.create("trigger", np.array([e.t for _, e in fired]),
                                  parent=np.array([cid for cid, _ in fired], dtype=np.int64))
        return [(tid, e.t, e) for tid, (_, e) in zip(tids.tolist(), fired)]

    def counts(self) -> dict:
        return {"changes": dict(sorted(self.changes.items())), "no_op_updates": self.no_ops,
                "rejected": dict(sorted(self.rejected.items())), "triggers_fired": dict(sorted(self.fired.items())),
                "records_at_start": self.silent, "pending_changes": len(self._heap)}
