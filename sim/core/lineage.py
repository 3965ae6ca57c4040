"""Following messages through their parents in the ledger.

A message may have a parent (a ``platform_event``'s parent is the click that completed the
insight; a ``flow`` delivery's parent is the platform event). :func:`roots` walks such chains up
to an ancestor kind; :func:`reactions` answers, for each message of a root kind, when its first
*reaction* happened (a descendant reaching a given stage, such as the Flow's ``notification``)
and, when none did by the horizon, why not.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sim.core.ledger import DROPPED, IN_FLIGHT, Ledger


def roots(ledger: Ledger, kind: str, ids: np.ndarray, root_kind: str) -> np.ndarray:
    """The ids of the ``root_kind`` ancestors of messages ``ids`` of ``kind`` (−1 where none)."""
    ids = np.asarray(ids, dtype=np.int64)
    while kind != root_kind:
        table = ledger.table(kind)
        if table.parent_kind is None or table.parent is None:
            return np.full(len(ids), -1, dtype=np.int64)
        ids = np.where(ids >= 0, table.parent[np.maximum(ids, 0)], -1)
        kind = table.parent_kind
    return ids


def descends_from(ledger: Ledger, kind: str, root_kind: str) -> bool:
    """Whether messages of ``kind`` have ``root_kind`` among their ancestor kinds (or are of it)."""
    while kind != root_kind:
        parent = ledger.table(kind).parent_kind
        if parent is None:
            return False
        kind = parent
    return True


def reactions(ledger: Ledger, root_kind: str, stages: Iterable[tuple[str, str]],
              horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """For every message of ``root_kind``: the time (s) of its first reaction, NaN if none by
    ``horizon``, and its fate: ``reacted``; ``in_flight`` (it or a descendant is still in the
    pipeline); the drop reason of the message or of a descendant; ``no_notification`` (delivered,
    but never reached a reaction stage, e.g. a Flow interview that faulted); ``no_reaction_path``
    (no descendant of a reacting kind exists, e.g. nobody subscribes).

    ``stages`` are the ``(kind, stage)`` pairs that count as a reaction; kinds that do not descend
    from ``root_kind`` (or are not in the ledger) are ignored.
    """
    n = ledger.table(root_kind).n
    first = np.full(n, np.inf)
    has_path = np.zeros(n, dtype=bool)
    flying = ledger.states_at(root_kind, horizon) == IN_FLIGHT
    own = ledger.states_at(root_kind, horizon)
    reason = np.where(own == DROPPED, ledger.table(root_kind).reason[:n], -1).astype(np.int64)
    for kind, stage in stages:
        if kind not in ledger.tables or not descends_from(ledger, kind, root_kind):
            continue
        table = ledger.table(kind)
        ids = np.arange(table.n)
        root = roots(ledger, kind, ids, root_kind)
        ok = root >= 0
        root, ids = root[ok], ids[ok]
        t = ledger.stage_times(kind, stage, horizon)[ids]
        np.minimum.at(first, root, np.where(np.isfinite(t), t, np.inf))
        has_path[root] = True
        state = ledger.states_at(kind, horizon)[ids]
        flying[root[state == IN_FLIGHT]] = True
        dropped = state == DROPPED
        mine = reason[root[dropped]]
        reason[root[dropped]] = np.where(mine >= 0, mine, table.reason[ids[dropped]])
    reacted = np.isfinite(first)
    fate = np.full(n, "no_reaction_path", dtype=object)
    fate[has_path & ~reacted] = "no_notification"
    dropped = (reason >= 0) & ~reacted
    fate[dropped] = [ledger.reasons[c] for c in reason[dropped]]
    fate[flying & ~reacted] = "in_flight"
    fate[reacted] = "reacted"
    first[~reacted] = np.nan
    return first, fate
