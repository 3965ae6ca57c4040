"""The journey engine: one journey's customers, moved tile by tile, with no clock of its own.

Each customer who enters gets an *instance* that runs through the tiles at once until it reaches a
wait. The engine never waits itself: it returns **effects**, and the caller (a SimPy actor) turns
them into time. Times are inputs, in seconds, and never go backwards.

* :meth:`JourneyEngine.on_trigger` — call it for every :class:`TriggerEvent` delivered to the
  journey. For each instance of that customer: the goal, then the exit, then an awaited trigger
  (a ``wait_for_trigger`` tile) are checked; then, if it is the entry trigger and its filter holds,
  the re-entry rules decide whether a new instance starts (:meth:`enter`).
* :meth:`JourneyEngine.on_timer` — call it when a :class:`StartTimer` falls due, with its token. A
  token whose wait was pre-empted (goal, exit) or satisfied (the awaited trigger came) is *stale*
  and ignored, so a caller never needs to cancel timers.
* :meth:`JourneyEngine.advance` — fires every timer due at or before ``t`` (for callers that do not
  schedule timers, and at the horizon).

Effects: :class:`Entered`, :class:`Send` (a rendered message for a channel), :class:`ActionFailed`
(e.g. reason ``missing_attribute``: the message is not sent, the customer goes on),
:class:`CreateRecord` (the caller applies it to its Dataverse store, which may fire triggers
again), :class:`StartTimer` and :class:`Outcome` (``completed``, ``goal_reached`` or ``exited``).

Timing rules. A wait of ``d`` started at ``t`` falls due at exactly ``t + d``. A trigger or timer at
the same instant as a due time is taken in call order; a trigger that arrives strictly after a
wait's due time finds the wait already over (the engine ends it first, with effects stamped at
the due time), so the outcome never depends on a late timer delivery.

Counts: ``counts.entered == completed + goal_reached + exited + in_progress`` at every moment;
``by_tile[id]`` is the number of instances that reached each tile.

Usage from an actor (``env`` a SimPy environment)::

    engine = JourneyEngine(journey, catalog, profiles=store.profile)

    def apply(effects):
        for e in effects:
            if isinstance(e, StartTimer):
                env.process(timer(e))
            elif isinstance(e, Send):
                email_inbox.put(e)
            elif isinstance(e, CreateRecord):
                for ev in catalog.evaluate(store.create(e.table, e.values, t=env.now)):
                    trigger_inbox.put(ev)

    def timer(e):
        yield env.timeout(e.at - env.now)
        apply(engine.on_timer(e.token, env.now))

    apply(engine.on_trigger(trigger_event, env.now))   # for each trigger event delivered
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from sim.domain.dynamics.dataverse import Audience, Ref
from sim.domain.dynamics.journeys import (
    ActionTile,
    AttributeConditionTile,
    CreateRecordTile,
    Journey,
    WaitForTriggerTile,
    WaitTile,
    check_journey,
)
from sim.domain.dynamics.templates import PersonalisationError
from sim.domain.dynamics.triggers import Catalog, TriggerEvent

OutcomeKind = Literal["completed", "goal_reached", "exited"]
COMPLETED: OutcomeKind = "completed"
GOAL_REACHED: OutcomeKind = "goal_reached"
EXITED: OutcomeKind = "exited"
MISSING_ATTRIBUTE = "missing_attribute"
Profiles = Callable[[Audience], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Entered:
    journey: str
    instance: int
    customer: Audience
    t: float


@dataclass(frozen=True)
class Send:
    """A message to send now on ``channel`` (email, sms, push, survey)."""

    journey: str
    instance: int
    customer: Audience
    tile: str
    channel: str
    message: str
    t: float


@dataclass(frozen=True)
class ActionFailed:
    """An action not carried out; ``action`` is the channel or ``create_record``."""

    journey: str
    instance: int
    customer: Audience
    tile: str
    action: str
    reason: str
    detail: str
    t: float


@dataclass(frozen=True)
class CreateRecord:
    """A Dataverse record to create in ``table`` with ``values`` (templates rendered)."""

    journey: str
    instance: int
    customer: Audience
    tile: str
    table: str
    values: Mapping[str, Any]
    t: float


@dataclass(frozen=True)
class StartTimer:
    """Call :meth:`JourneyEngine.on_timer` with ``token`` at time ``at`` (seconds)."""

    journey: str
    instance: int
    tile: str
    at: float
    token: int


@dataclass(frozen=True)
class Outcome:
    journey: str
    instance: int
    customer: Audience
    outcome: OutcomeKind
    t: float


Effect = Entered | Send | ActionFailed | CreateRecord | StartTimer | Outcome


@dataclass
class JourneyCounts:
    """Instance counts; ``entered == completed + goal_reached + exited + in_progress``."""

    entered: int = 0
    completed: int = 0
    goal_reached: int = 0
    exited: int = 0
    in_progress: int = 0
    filtered_out: int = 0   # entry trigger events whose filter did not hold
    refused: int = 0        # entries refused by the re-entry rules
    goals_met: int = 0      # instances that met the goal (whether or not it ends them)
    sent: int = 0
    failed: int = 0

    def balanced(self) -> bool:
        return self.entered == self.completed + self.goal_reached + self.exited + self.in_progress


@dataclass
class _Instance:
    id: int
    customer: Audience
    frames: list[list]                      # [tiles, next index] stack; a branch pushes a frame
    context: dict[str, Mapping[str, Any]]   # personalisation namespaces
    sources: dict[str, Mapping[str, Any]]   # trigger name -> attributes (attribute conditions)
    wait: WaitTile | WaitForTriggerTile | None = None
    due: float = math.inf
    token: int | None = None
    goal_met: bool = False


def _row(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as the filter engine reads them: lookups as ids, null as blank, booleans as text."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            value = ""
        elif isinstance(value, Ref):
            value = value.id
        elif isinstance(value, bool):
            value = str(value)
        out[key] = value
    return out


class JourneyEngine:
    """Runs one journey (checked against ``catalog``); see the module docstring.

    ``profiles(customer)`` gives the customer's own record for ``{{contact.…}}`` placeholders
    (e.g. :meth:`DataverseStore.profile`); without it those placeholders fail as missing.
    """

    def __init__(self, journey: Journey, catalog: Catalog, profiles: Profiles | None = None) -> None:
        self.journey = check_journey(journey, catalog)
        self.catalog = catalog
        self.profiles = profiles
        self.counts = JourneyCounts()
        self.by_tile: dict[str, int] = {tile.id: 0 for tile in journey.walk()}
        self.now = -math.inf
        entry_table = catalog.namespace(journey.entry.trigger)
        self._entry_namespaces = (journey.entry.trigger,) + ((entry_table,) if entry_table else ())
        self._instances: dict[int, _Instance] = {}
        self._by_customer: dict[Audience, list[int]] = {}
        self._last_entry: dict[Audience, float] = {}
        self._timers: dict[int, int] = {}           # live token -> instance id
        self._heap: list[tuple[float, int]] = []    # (due, token), stale entries pruned lazily
        self._next_instance = 0
        self._next_token = 0

    # ------------------------------------------------------------------ public API

    def on_trigger(self, event: TriggerEvent, t: float) -> list[Effect]:
        """Apply one trigger event at ``t`` to the customer's instances, then to the entry."""
        self._clock(t)
        out: list[Effect] = []
        for iid in list(self._by_customer.get(event.audience, ())):
            inst = self._instances.get(iid)
            if inst is not None:
                self._catch_up(inst, t, out)
            inst = self._instances.get(iid)
            if inst is not None:
                self._apply(inst, event, t, out)
        if event.trigger == self.journey.entry.trigger:
            out += self.enter(event, t)
        return out

    def enter(self, event: TriggerEvent, t: float) -> list[Effect]:
        """Start an instance if ``event`` is the entry trigger, its filter holds and the re-entry
        rules allow it; ``[]`` otherwise. (:meth:`on_trigger` calls it: do not call both.)"""
        self._clock(t)
        j = self.journey
        if event.trigger != j.entry.trigger:
            return []
        if not j.entry.compiled(_row(event.attributes)):
            self.counts.filtered_out += 1
            return []
        customer = event.audience
        if not self._may_enter(customer, t):
            self.counts.refused += 1
            return []
        self._next_instance += 1
        attrs = event.attributes
        inst = _Instance(self._next_instance, customer, [[j.tiles, 0]],
                         dict.fromkeys(self._entry_namespaces, attrs), {event.trigger: attrs})
        self._instances[inst.id] = inst
        self._by_customer.setdefault(customer, []).append(inst.id)
        self._last_entry[customer] = t
        self.counts.entered += 1
        self.counts.in_progress += 1
        out: list[Effect] = [Entered(j.name, inst.id, customer, t)]
        self._run(inst, t, out)
        return out

    def on_timer(self, token: int, t: float) -> list[Effect]:
        """The timer ``token`` fell due at ``t``; ``[]`` for a stale token."""
        self._clock(t)
        iid = self._timers.get(token)
        if iid is None:
            return []
        inst = self._instances[iid]
        if t < inst.due:
            raise ValueError(f"timer {token} delivered at {t} s, before it is due at {inst.due} s")
        out: list[Effect] = []
        self._expire(inst, t, out)
        return out

    def advance(self, t: float) -> list[Effect]:
        """Fire, in time order, every timer due at or before ``t`` (effects at their due times)."""
        self._clock(t)
        out: list[Effect] = []
        while self._heap and self._heap[0][0] <= t:
            due, token = heapq.heappop(self._heap)
            iid = self._timers.get(token)
            if iid is not None:
                self._expire(self._instances[iid], due, out)
        return out

    def next_due(self) -> float | None:
        """The earliest time a live timer falls due, or ``None``."""
        while self._heap and self._heap[0][1] not in self._timers:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def waiting(self, customer: Audience) -> list[str | None]:
        """For each instance of ``customer`` in progress, the id of the tile it waits at."""
        return [w.id if (w := self._instances[i].wait) else None for i in self._by_customer.get(customer, ())]

    # ------------------------------------------------------------------ internals

    def _clock(self, t: float) -> None:
        if not math.isfinite(t) or t < self.now:
            raise ValueError(f"time {t} s is before the engine's last time {self.now} s (times never go back)")
        self.now = t

    def _may_enter(self, customer: Audience, t: float) -> bool:
        if self._by_customer.get(customer) and not self.journey.concurrent:
            return False
        last = self._last_entry.get(customer)
        rule = self.journey.reentry
        if last is None or rule == "always":
            return True
        if rule == "never":
            return False
        return t >= last + rule.after

    def _catch_up(self, inst: _Instance, t: float, out: list[Effect]) -> None:
        """End waits that fell due strictly before ``t`` (the timer has not been delivered yet)."""
        while inst.id in self._instances and inst.wait is not None and inst.due < t:
            self._expire(inst, inst.due, out)

    def _apply(self, inst: _Instance, event: TriggerEvent, t: float, out: list[Effect]) -> None:
        j = self.journey
        row: dict[str, Any] | None = None
        if j.goal is not None and event.trigger == j.goal.trigger and not inst.goal_met:
            row = _row(event.attributes)
            if j.goal.compiled(row):
                inst.goal_met = True
                self.counts.goals_met += 1
                if j.goal.ends_journey:
                    self._finish(inst, GOAL_REACHED, t, out)
                    return
        if j.exit is not None and event.trigger == j.exit.trigger:
            row = row if row is not None else _row(event.attributes)
            if j.exit.compiled(row):
                self._finish(inst, EXITED, t, out)
                return
        wait = inst.wait
        if isinstance(wait, WaitForTriggerTile) and event.trigger == wait.trigger:
            row = row if row is not None else _row(event.attributes)
            if wait.compiled(row):
                self._cancel_timer(inst)
                inst.context[event.trigger] = event.attributes
                if event.table:
                    inst.context[event.table] = event.attributes
                inst.sources[event.trigger] = event.attributes
                inst.frames.append([wait.triggered, 0])
                self._run(inst, t, out)

    def _expire(self, inst: _Instance, t: float, out: list[Effect]) -> None:
        wait = inst.wait
        self._cancel_timer(inst)
        if isinstance(wait, WaitForTriggerTile):
            inst.frames.append([wait.timed_out, 0])
        self._run(inst, t, out)

    def _cancel_timer(self, inst: _Instance) -> None:
        if inst.token is not None:
            self._timers.pop(inst.token, None)
            if len(self._heap) > 2 * len(self._timers) + 64:
                self._heap = [(d, k) for d, k in self._heap if k in self._timers]
                heapq.heapify(self._heap)
        inst.wait, inst.due, inst.token = None, math.inf, None

    def _start_timer(self, inst: _Instance, tile: WaitTile | WaitForTriggerTile, due: float,
                     out: list[Effect]) -> None:
        self._next_token += 1
        inst.wait, inst.due, inst.token = tile, due, self._next_token
        self._timers[inst.token] = inst.id
        heapq.heappush(self._heap, (due, inst.token))
        out.append(StartTimer(self.journey.name, inst.id, tile.id, due, inst.token))

    def _finish(self, inst: _Instance, outcome: OutcomeKind, t: float, out: list[Effect]) -> None:
        self._cancel_timer(inst)
        del self._instances[inst.id]
        ids = self._by_customer[inst.customer]
        ids.remove(inst.id)
        if not ids:
            del self._by_customer[inst.customer]
        self.counts.in_progress -= 1
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        out.append(Outcome(self.journey.name, inst.id, inst.customer, outcome, t))

    def _context(self, inst: _Instance) -> dict[str, Mapping[str, Any]]:
        profile = self.profiles(inst.customer) if self.profiles else None
        return {inst.customer.type: profile, **inst.context} if profile is not None else inst.context

    def _fail(self, inst: _Instance, tile: str, action: str, exc: PersonalisationError, t: float,
              out: list[Effect]) -> None:
        self.counts.failed += 1
        out.append(ActionFailed(self.journey.name, inst.id, inst.customer, tile, action, MISSING_ATTRIBUTE,
                                str(exc), t))

    def _run(self, inst: _Instance, t: float, out: list[Effect]) -> None:
        """Run tiles from the instance's position until a wait or the end of the journey."""
        name = self.journey.name
        while inst.frames:
            frame = inst.frames[-1]
            tiles, i = frame
            if i >= len(tiles):
                inst.frames.pop()
                continue
            frame[1] = i + 1
            tile = tiles[i]
            self.by_tile[tile.id] += 1
            if isinstance(tile, ActionTile):
                try:
                    message = tile.compiled.render(self._context(inst))
                except PersonalisationError as exc:
                    self._fail(inst, tile.id, tile.channel, exc, t, out)
                else:
                    self.counts.sent += 1
                    out.append(Send(name, inst.id, inst.customer, tile.id, tile.channel, message, t))
            elif isinstance(tile, CreateRecordTile):
                context = self._context(inst)
                try:
                    values = {k: tile.templates[k].render(context) if k in tile.templates else v
                              for k, v in tile.values.items()}
                except PersonalisationError as exc:
                    self._fail(inst, tile.id, "create_record", exc, t, out)
                else:
                    out.append(CreateRecord(name, inst.id, inst.customer, tile.id, tile.table,
                                            MappingProxyType(values), t))
            elif isinstance(tile, AttributeConditionTile):
                attrs = inst.sources.get(tile.trigger or self.journey.entry.trigger, {})
                row = _row(attrs)
                chosen = next((b.tiles for b in tile.branches if b.compiled(row)), tile.otherwise)
                inst.frames.append([chosen, 0])
            elif isinstance(tile, WaitTile):
                self._start_timer(inst, tile, t + tile.duration, out)
                return
            elif isinstance(tile, WaitForTriggerTile):
                assert tile.timeout is not None  # check_journey guarantees it
                self._start_timer(inst, tile, t + tile.timeout, out)
                return
        self._finish(inst, COMPLETED, t, out)

