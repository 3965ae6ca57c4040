"""A tap on the clicks as they are sent: who really made each click, kept for the intent ground
truth (:mod:`sim.domain.intents`). The pipeline never reads it. Not an actor: no timing.

It keeps the true person of every click (4 bytes a click) and, for the intents, the views of the
insight's page by known prospects.
"""

from __future__ import annotations

import numpy as np

from sim.core.dense_ids import SeenIds
from sim.domain.events import PAGE_VIEW


class GroundTruth:
    """Collects the person of every click and the prospects' views of one page."""

    def __init__(self, n_prospects: int, page_code: int) -> None:
        self.n_prospects = n_prospects
        self.page_code = page_code
        self._views: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._person: list[np.ndarray] = []
        self._n = 0
        self._seen = SeenIds()  # event ids seen (a resent copy repeats its id)

    def __call__(self, ids: np.ndarray, cols: dict) -> None:
        if not len(ids):
            return
        if int(ids[0]) != self._n or int(ids[-1]) != self._n + len(ids) - 1:
            raise ValueError("clicks must reach the ground-truth tap in id order, without gaps")
        person = cols["person"]
        self._person.append(person.astype(np.int32))
        self._n += len(ids)
        keep = (cols["event"] == PAGE_VIEW) & (cols["page"] == self.page_code) & (person >= 0) & \
               (person < self.n_prospects)
        if "event_id" in cols and keep.any():  # a resent copy is the same view, not another one
            keep &= self._seen.first_time(cols["event_id"])
        if keep.any():
            self._views.append((ids[keep], person[keep], cols["event_time"][keep]))

    def person_of(self, click_ids: np.ndarray) -> np.ndarray:
        """The true person of each click id (−1: unknown id or anonymous script row)."""
        if len(self._person) > 1:
            self._person = [np.concatenate(self._person)]
        people = self._person[0] if self._person else np.empty(0, dtype=np.int32)
        ids = np.asarray(click_ids, dtype=np.int64)
        ok = (ids >= 0) & (ids < len(people))
        return np.where(ok, people[np.where(ok, ids, 0)] if len(people) else -1, -1).astype(np.int64)

    def views(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(click ids ascending, person, event time) of every prospect's view of the page."""
        if not self._views:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        ids, person, t = (np.concatenate(c) for c in zip(*self._views))
        order = np.argsort(ids, kind="stable")
        return ids[order], person[order], t[order]
