"""Identity resolution: an identity graph whose connected components are unified profiles.

Nodes are identifiers ``(namespace, value)`` — a cookie/device id, an e-mail, a CRM contact id.
A *record* that carries several identifiers at once (a login event carrying the cookie and the
e-mail, a CRM contact carrying its contact id and e-mail) links them: its identifiers become edges
of the graph labelled with the match rule, the source and the time. A unified profile is a
connected component; identifiers that were never linked are singleton profiles and are kept out of
the networkx graph, in a dense array per namespace, so that millions of anonymous cookies cost a
few bytes each.

Profile ids are allocated in order of first sight, so the *oldest* profile has the smallest id;
when a link joins profiles, the oldest survives and the others are absorbed (:class:`Merge`), so
that streaming consumers (window state of an insight) can combine their state.

Namespaces listed in ``unique_namespaces`` may hold at most one value per profile (at most one CRM
contact id per person): a link that would join two profiles with different values there is
refused, nothing of it is applied, and it is counted in :attr:`IdentityGraph.refused`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

import networkx as nx
import numpy as np

Identifier = tuple[str, Hashable]


@dataclass(frozen=True)
class Merge:
    """Profile ``absorbed`` became part of ``survivor`` (the oldest) at time ``t`` (seconds)."""

    survivor: int
    absorbed: int
    t: float
    rule: str


@dataclass
class LinkResult:
    """What one record did to the graph."""

    profile: int
    merges: list[Merge] = field(default_factory=list)
    refused: bool = False


class IdentityGraph:
    """Unified profiles as connected components of an identifier graph; see the module docstring."""

    def __init__(self, dense: dict[str, int] | None = None,
                 unique_namespaces: tuple[str, ...] = ("contact_id",)) -> None:
        self.graph = nx.Graph()
        self._dense = {ns: np.full(max(int(size), 1), -1, dtype=np.int64) for ns, size in (dense or {}).items()}
        self._sparse: dict[Identifier, int] = {}
        self.members: dict[int, list[Identifier]] = {}
        self.unique_namespaces = tuple(unique_namespaces)
        self.profiles_created = 0
        self.merges = 0
        self.refused = 0
        self.links = 0
        self.links_by_rule: dict[str, int] = {}

    # -- lookups -----------------------------------------------------------------------------
    def _get(self, ident: Identifier) -> int:
        ns, value = ident
        arr = self._dense.get(ns)
        if arr is not None:
            v = int(value)  # type: ignore[arg-type]
            return int(arr[v]) if 0 <= v < len(arr) else -1
        return self._sparse.get(ident, -1)

    def _set(self, ident: Identifier, profile: int) -> None:
        ns, value = ident
        arr = self._dense.get(ns)
        if arr is not None:
            v = int(value)  # type: ignore[arg-type]
            if v >= len(arr):
                grown = np.full(max(v + 1, 2 * len(arr)), -1, dtype=np.int64)
                grown[: len(arr)] = arr
                self._dense[ns] = arr = grown
            arr[v] = profile
        else:
            self._sparse[ident] = profile

    def profile_of(self, namespace: str, value: Hashable) -> int | None:
        """The profile holding an identifier, or None if it was never seen."""
        p = self._get((namespace, value))
        return None if p < 0 else p

    def resolve_dense(self, namespace: str, values: np.ndarray) -> np.ndarray:
        """Profiles of many identifiers of a dense namespace at once; unseen ones get new profiles
        in order of first appearance in ``values``."""
        values = np.asarray(values, dtype=np.int64)
        arr = self._dense[namespace]
        if len(values) and values.max() >= len(arr):
            self._set((namespace, int(values.max())), -1)
            arr = self._dense[namespace]
        prof = arr[values]
        new = prof < 0
        if new.any():
            uniq, first = np.unique(values[new], return_index=True)
            order = np.argsort(first, kind="stable")
            fresh = uniq[order]
            arr[fresh] = np.arange(self.profiles_created, self.profiles_created + len(fresh))
            self.profiles_created += len(fresh)
            prof = arr[values]
        return prof

    def identifiers(self, profile: int, namespace: str | None = None) -> list[Identifier]:
        """Identifiers of a linked profile (a singleton's one identifier is not listed here)."""
        ids = self.members.get(profile, [])
        return [i for i in ids if namespace is None or i[0] == namespace]

    # -- linking -----------------------------------------------------------------------------
    def link(self, identifiers: list[Identifier], rule: str, source: str, t: float) -> LinkResult:
        """Apply one record that carries ``identifiers`` together; merge their profiles.

        Identifiers seen before bring their profiles; the oldest survives and the others are
        merged into it. Identifiers never seen before simply join it (a record made only of new
        identifiers creates one profile, and no merge).
        """
        known = [self._get(i) for i in identifiers]
        distinct = sorted({p for p in known if p >= 0})
        if distinct and self._violates_uniqueness(distinct, identifiers):
            self.refused += 1
            return LinkResult(profile=distinct[0], refused=True)
        if not distinct:
            distinct = [self.profiles_created]
            self.profiles_created += 1
        survivor = distinct[0]
        for ident, p in zip(identifiers, known):
            if p >= 0 and p not in self.members:
                self.members[p] = [ident]  # a singleton becomes a graph member
                self.graph.add_node(ident)
        self.members.setdefault(survivor, [])
        for ident, p in zip(identifiers, known):
            if p < 0:
                self._set(ident, survivor)
                self.members[survivor].append(ident)
                self.graph.add_node(ident)
        anchor = identifiers[0]
        for ident in identifiers[1:]:
            if ident != anchor:
                self.graph.add_edge(anchor, ident, rule=rule, source=source, t=t)
        self.links += 1
        self.links_by_rule[rule] = self.links_by_rule.get(rule, 0) + 1
        merges = []
        for absorbed in distinct[1:]:
            moved = self.members.pop(absorbed)
            for ident in moved:
                self._set(ident, survivor)
            self.members[survivor].extend(moved)
            merges.append(Merge(survivor, absorbed, t, rule))
        self.merges += len(merges)
        return LinkResult(profile=survivor, merges=merges)

    def _violates_uniqueness(self, profiles: list[int], record: list[Identifier]) -> bool:
        for ns in self.unique_namespaces:
            values = {v for n, v in record if n == ns}
            for p in profiles:
                values.update(v for n, v in self.members.get(p, []) if n == ns)
            if len(values) > 1:
                return True
        return False

    # -- explanation -------------------------------------------------------------------------
    def explain(self, a: Identifier, b: Identifier) -> list[dict]:
        """The chain of links that puts ``a`` and ``b`` in one profile (empty if they are not)."""
        pa, pb = self._get(a), self._get(b)
        if pa < 0 or pa != pb:
            return []
        if a == b:
            return []
        path = nx.shortest_path(self.graph, a, b)
        return [{"from": u, "to": v, **self.graph.edges[u, v]} for u, v in zip(path, path[1:])]

    def linked_profiles(self) -> int:
        """Profiles with more than one identifier."""
        return sum(1 for m in self.members.values() if len(m) > 1)
