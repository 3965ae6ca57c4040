"""The journey orchestrator: one :class:`~sim.domain.dynamics.JourneyEngine` per live journey, given
time by a single SimPy process.

Processed triggers (from the trigger service, due at their first-step time) and the engines' timers
wait in one heap of due items; the process sleeps until the earliest is due (or until an earlier
one is handed over) and then takes, in time order, every item due before the trigger service's
next cycle boundary (``safe_until``; nothing can be handed over before it, so items are taken at
their own times, ahead of the clock, as the Dataverse org applies changes only at boundaries
anyway): one wake-up per cycle while busy, and never polling. A trigger is
stamped ``first_step`` and delivered for the time the orchestrator will act on it (known when it is
handed over; it is held until then), and is given to every
journey that uses it (entry, goal, exit, an awaited trigger). The engines' effects become:

* ``Entered`` -> a ``journey`` message (parent: the trigger), stage ``entered``, in flight until
  its ``Outcome`` (stamped ``ended``, delivered);
* ``Send`` -> a ``message`` (parent: the journey) handed to the channels (the messages of one
  wake-up are written to the ledger and handed over together);
* ``ActionFailed`` of a channel (``missing_attribute``: a placeholder without a value) -> a message
  dropped with that reason; of ``create_record`` -> counted;
* ``CreateRecord`` -> a change pushed to the Dataverse org (which may fire triggers again);
* ``StartTimer`` -> a timer in the heap (stale timers are ignored by the engine).

It also keeps, per journey and wait tile, how many customers are there over time (for the
``journey_tiles.png`` figure).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from sim.actors.base import Actor, RunContext, TimedHold
from sim.actors.dynamics.org import CREATE, DataverseOrg
from sim.domain.dynamics import (
    ActionFailed,
    CreateRecord,
    Definitions,
    Entered,
    JourneyEngine,
    Outcome,
    Send,
    StartTimer,
)
from sim.domain.dynamics.journeys import AttributeConditionTile, WaitForTriggerTile

TRIGGER, TIMER = 0, 1


def triggers_used(journey) -> set[str]:
    """The triggers a journey listens to: entry, goal, exit, awaited and branched-on triggers."""
    out = {journey.entry.trigger}
    for use in (journey.goal, journey.exit):
        if use is not None:
            out.add(use.trigger)
    for tile in journey.walk():
        if isinstance(tile, WaitForTriggerTile):
            out.add(tile.trigger)
        elif isinstance(tile, AttributeConditionTile) and tile.trigger:
            out.add(tile.trigger)
    return out


class JourneyOrchestrator(Actor):
    name = "journeys"

    def __init__(self, ctx: RunContext, definitions: Definitions, org: DataverseOrg,
                 send: Callable[[np.ndarray, list[Send]], None]) -> None:
        super().__init__(ctx)
        self.org = org
        self.send = send
        self.engines = {name: JourneyEngine(j, definitions.catalog, profiles=org.store.profile)
                        for name, j in definitions.journeys.items()}
        self.listeners: dict[str, list[JourneyEngine]] = {}
        for engine in self.engines.values():
            for trig in sorted(triggers_used(engine.journey)):
                self.listeners.setdefault(trig, []).append(engine)
        self.tiles: list[tuple[str, str]] = [(n, t.id) for n, e in self.engines.items() for t in e.journey.walk()]
        self._tile_code = {key: i for i, key in enumerate(self.tiles)}
        self.message_tile: list[int] = []          # message id -> tile code
        # (due, seq, TRIGGER or TIMER, (tid, event) or (journey, token))
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        self._wake_at = math.inf
        self._signal = self.env.event()
        self._journey_id: dict[tuple[str, int], int] = {}
        self._triggers = TimedHold()
        self._messages: list[tuple[float, int, int, Send | str]] = []  # (t, journey id, tile code, Send | reason)
        self._ended: list[tuple[int, float]] = []
        self._waiting_at: dict[tuple[str, int], int] = {}   # instance -> tile code it waits at
        self.tile_events: list[tuple[float, int, int]] = []  # (t, code, +1/-1); code -1 - j: in journey j
        self.journey_names = list(self.engines)
        self._journey_code = {n: i for i, n in enumerate(self.journey_names)}
        self.triggers_acted = 0
        self.create_record_failed = 0
        self.records_created = 0
        self.safe_until: Callable[[], float] = lambda: self.env.now  # set by the trigger service
        self._last_t = -math.inf
        self.env.process(self._run())

    # -- input ---------------------------------------------------------------------------------
    def deliver(self, items: list[tuple[float, int, object]]) -> None:
        """Processed triggers ``(first-step time, trigger id, event)``."""
        if not items:
            return
        earliest = math.inf
        for due, tid, event in items:
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, TRIGGER, (tid, event)))
            earliest = min(earliest, due)
        ids = np.array([tid for _, tid, _ in items], dtype=np.int64)
        dues = np.array([due for due, _, _ in items])
        self.ledger.stamp("trigger", "first_step", ids, dues)
        self.ledger.deliver("trigger", ids, dues)
        self._triggers.prune(self.env.now)
        self._triggers.add(ids, dues)
        self.triggers_acted += len(items)
        if earliest < self._wake_at and not self._signal.triggered:
            self._signal.succeed()

    # -- the process -----------------------------------------------------------------------------
    def _run(self):
        env = self.env
        heap = self._heap
        while True:
            if not heap:
                self._wake_at = math.inf
                yield self._signal
                self._signal = env.event()
                continue
            due = heap[0][0]
            if due > env.now:
                self._wake_at = due
                yield env.timeout(due - env.now) | self._signal
                if self._signal.triggered:
                    self._signal = env.event()
                continue
            self._wake_at = math.inf
            now = env.now
            limit = min(self.safe_until(), self.ctx.horizon)
            while heap and (heap[0][0] <= now or heap[0][0] < limit):
                t, _, what, item = heapq.heappop(heap)
                t = max(t, self._last_t)  # never back, even by a rounding error
                self._last_t = t
                if what == TRIGGER:
                    tid, event = item
                    for engine in self.listeners.get(event.trigger, ()):
                        self._apply(engine, engine.on_trigger(event, t), tid, t)
                else:
                    name, token = item
                    engine = self.engines[name]
                    self._apply(engine, engine.on_timer(token, t), -1, t)
            self._write()

    def _write(self) -> None:
        """Write the wake-up's outcomes and messages to the ledger; hand the messages over."""
        ledger = self.ledger
        if self._ended:
            ids = np.array([j for j, _ in self._ended], dtype=np.int64)
            times = np.array([t for _, t in self._ended])
            ledger.stamp("journey", "ended", ids, times)
            ledger.deliver("journey", ids, times)
            self._ended = []
        if not self._messages:
            return
        msgs, self._messages = self._messages, []
        mids = ledger.create("message", np.array([m[0] for m in msgs]),
                             parent=np.array([m[1] for m in msgs], dtype=np.int64))
        self.message_tile.extend(m[2] for m in msgs)
        failed = [k for k, m in enumerate(msgs) if isinstance(m[3], str)]
        for k in failed:
            ledger.drop("message", mids[k:k + 1], cast(str, msgs[k][3]), msgs[k][0])
        sends = [k for k, m in enumerate(msgs) if not isinstance(m[3], str)]
        if sends:
            self.send(mids[sends], [cast(Send, msgs[k][3]) for k in sends])

    def _apply(self, engine: JourneyEngine, effects: list, tid: int, now: float) -> None:
        name = engine.journey.name
        ledger = self.ledger
        for e in effects:
            if isinstance(e, StartTimer):
                self._seq += 1
                heapq.heappush(self._heap, (e.at, self._seq, TIMER, (name, e.token)))
                key = (name, e.instance)
                before = self._waiting_at.get(key)
                if before is not None:
                    self.tile_events.append((now, before, -1))
                code = self._tile_code[(name, e.tile)]
                self._waiting_at[key] = code
                self.tile_events.append((now, code, 1))
            elif isinstance(e, Send):
                self._messages.append((e.t, self._journey_id[(name, e.instance)], self._tile_code[(name, e.tile)], e))
            elif isinstance(e, Entered):
                jid = int(ledger.create("journey", e.t, parent=tid)[0])
                self._journey_id[(name, e.instance)] = jid
                self.tile_events.append((e.t, -1 - self._journey_code[name], 1))
            elif isinstance(e, Outcome):
                key = (name, e.instance)
                self._ended.append((self._journey_id.pop(key), e.t))
                before = self._waiting_at.pop(key, None)
                if before is not None:
                    self.tile_events.append((e.t, before, -1))
                self.tile_events.append((e.t, -1 - self._journey_code[name], -1))
            elif isinstance(e, ActionFailed):
                if e.action == "create_record":
                    self.create_record_failed += 1
                else:
                    self._messages.append((e.t, self._journey_id[(name, e.instance)],
                                           self._tile_code[(name, e.tile)], e.reason))
            elif isinstance(e, CreateRecord):
                self.records_created += 1
                self.org.push(e.t, (CREATE, e.table, dict(e.values), None, f"journey:{name}", f"journey:{name}"))

    # -- results ---------------------------------------------------------------------------------
    def tile_series(self, grid: np.ndarray) -> dict[str, np.ndarray]:
        """Customers in each journey, and waiting at each wait tile, at the times of ``grid``."""
        if not self.tile_events:
            return {}
        ev = np.array(self.tile_events, dtype=float)
        order = np.argsort(ev[:, 0], kind="stable")
        ev = ev[order]
        out = {}
        for code in np.unique(ev[:, 1]).astype(int):
            sel = ev[ev[:, 1] == code]
            level = np.cumsum(sel[:, 2])
            pos = np.searchsorted(sel[:, 0], grid, side="right") - 1
            values = np.where(pos >= 0, level[np.maximum(pos, 0)], 0)
            if code < 0:
                label = f"{self.journey_names[-1 - code]}: in the journey"
            else:
                j, tile = self.tiles[code]
                label = f"{j}: waiting at {tile}"
            out[label] = values
        return out

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        journeys = np.fromiter(sorted(self._journey_id.values()), dtype=np.int64, count=len(self._journey_id))
        return {"trigger": self._triggers.held(horizon), "journey": [journeys]}

    def counts(self) -> dict:
        return {"triggers_acted_on": self.triggers_acted, "records_created": self.records_created,
                "create_record_failed": self.create_record_failed,
                "in_progress": {n: e.counts.in_progress for n, e in self.engines.items()}}
