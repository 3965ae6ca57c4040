"""A tap on the clicks as they are sent: the matching views of known prospects, with their true
person, kept for the intent ground truth (:mod:`sim.domain.intents`). Not an actor: no timing."""

from __future__ import annotations

import numpy as np

from sim.domain.events import PAGE_VIEW


class IntentViews:
    """Collects (click id, person, event time) of prospects' views of one page."""

    def __init__(self, n_prospects: int, page_code: int) -> None:
        self.n_prospects = n_prospects
        self.page_code = page_code
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, ids: np.ndarray, cols: dict) -> None:
        person = cols["person"]
        keep = (cols["event"] == PAGE_VIEW) & (cols["page"] == self.page_code) & (person >= 0) & \
               (person < self.n_prospects)
        if keep.any():
            self._chunks.append((ids[keep], person[keep], cols["event_time"][keep]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(click ids ascending, person, event time) of every view seen."""
        if not self._chunks:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        ids, person, t = (np.concatenate(c) for c in zip(*self._chunks))
        order = np.argsort(ids, kind="stable")
        return ids[order], person[order], t[order]
