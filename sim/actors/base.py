"""What every actor shares: the run context, and the record of the messages it holds.

Actors may stamp a message with a time later than the simulation clock (a batch is processed as
soon as it arrives, and each message gets the exact time it leaves). Until that time passes the
message is still *held* by the actor: :class:`TimedHold` keeps such messages so that, at the
horizon, every actor can say precisely which messages it holds (see :mod:`sim.core.ledger`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams
from sim.domain.faults import FaultSchedule


@dataclass
class RunContext:
    """Everything the actors of one run share."""

    env: simpy.Environment
    ledger: Ledger
    rng: RandomStreams
    horizon: float  # seconds
    start_epoch_s: float = 0.0  # wall-clock time of t = 0, epoch seconds
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    faults: FaultSchedule = field(default_factory=FaultSchedule)

    def at(self, t: float, callback, *args) -> None:
        """Call ``callback(*args)`` at simulation time ``t`` (>= now)."""
        delay = t - self.env.now
        if delay < 0:
            raise RuntimeError(f"cannot schedule in the past: t={t} < now={self.env.now}")
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda _ev: callback(*args))

    def sample(self, name: str, t: float, value: float) -> None:
        """Append a point to the time series ``name``."""
        self.series.setdefault(name, []).append((t, value))


class Actor:
    """Base of all actors."""

    name = "actor"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.ledger = ctx.ledger

    def held(self, horizon: float) -> dict[str, list[np.ndarray]]:
        """Ids of the messages this actor holds at ``horizon``, per kind."""
        return {}

    def counts(self) -> dict:
        """Counters for the run's summary."""
        return {}


class TimedHold:
    """Messages that leave an actor at known (possibly future) times."""

    def __init__(self) -> None:
        self._items: deque[tuple[float, np.ndarray, np.ndarray]] = deque()

    def add(self, ids: np.ndarray, release_t: np.ndarray) -> None:
        if len(ids):
            self._items.append((float(np.max(release_t)), np.asarray(ids), np.asarray(release_t)))

    def prune(self, now: float) -> None:
        items = self._items
        while items and items[0][0] <= now:
            items.popleft()

    def held(self, horizon: float) -> list[np.ndarray]:
        return [ids[rel > horizon] for last, ids, rel in self._items if last > horizon]


class IdSet:
    """An explicit set of held message ids (for low-volume kinds)."""

    def __init__(self) -> None:
        self._ids: set[int] = set()

    def add(self, i: int) -> None:
        self._ids.add(int(i))

    def remove(self, i: int) -> None:
        self._ids.remove(int(i))

    def __len__(self) -> int:
        return len(self._ids)

    def array(self) -> np.ndarray:
        return np.fromiter(sorted(self._ids), dtype=np.int64, count=len(self._ids))
