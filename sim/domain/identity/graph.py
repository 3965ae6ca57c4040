"""The identity graph: nodes are identifiers and records, a unified profile is a connected component.

Node kinds (a node is a ``(namespace, value)`` tuple):

* **identifiers** ``("email", "ann@x.com")``, ``("cookie", 812)``, ``("contact_id", "003…")``;
  these are the *identities* that limits count;
* **records** ``("record", rec_id)``: a row of a source that carries identifiers and attributes;
* **keys** ``("key:<rule>", values)``: the shared value of a multi-field exact match rule.

Edges are links labelled with the match rule, the source and the time (seconds). :meth:`connect`
adds one link; :meth:`link` links several identifiers carried by one event (a login carrying a
cookie and an e-mail). Identifiers of dense namespaces (integer ids such as cookies) that were never
linked live in a numpy array, so that millions of anonymous visitors cost a few bytes each; only
linked nodes enter the networkx graph.

Profile ids are allocated in order of first sight, so the *oldest* profile has the smallest id;
when a link joins two profiles the oldest survives and the other is absorbed (:class:`Merge`),
which lets streaming consumers (window state of an insight) combine their state. Internally a
profile id that was absorbed aliases its survivor (union-find with path halving), so a merge costs
the size of the smaller profile, not of the larger.

Limits (:class:`GraphLimits`), checked on every link that would join two profiles:

* ``max_per_namespace``: at most *n* distinct identifiers of a namespace per profile (one CRM
  contact id per person). A link that would exceed it is **refused**: not applied, counted in
  :attr:`IdentityGraph.refused` (and per rule).
* ``max_identities``: identities per profile (Adobe's default 50). Policy ``refuse`` refuses the
  link; policy ``delete_oldest`` (Adobe's documented behaviour) applies it and then deletes the
  profile's oldest identities (by first-seen time, then order of first sight) until it fits.
  ``deletion_tiers`` (namespace -> tier) makes the deletion go by identity type first, as Adobe
  does (cookie ids, then device ids, then cross-device ids): lower tiers are deleted first,
  namespaces not listed come after every listed one, oldest first within a tier. A
  deleted identity leaves the graph with its links; if it held parts of the profile together, the
  parts that no longer reach the newest link become profiles of their own (:class:`Split`). An
  identity seen again after deletion comes back as a new node.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np

Node = tuple[str, Hashable]
Identifier = Node
RECORD = "record"
KEY_PREFIX = "key:"


def is_identity(node: Node) -> bool:
    """Identifiers count as identities; records and rule keys do not."""
    ns = node[0]
    return ns != RECORD and not ns.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class Merge:
    """Profile ``absorbed`` became part of ``survivor`` (the oldest) at time ``t`` (seconds)."""

    survivor: int
    absorbed: int
    t: float
    rule: str


@dataclass(frozen=True)
class Split:
    """Deleting identities cut profile ``profile``; the part without the newest link is ``new``."""

    profile: int
    new: int
    t: float


@dataclass
class LinkResult:
    """What one link (or one event's links) did to the graph."""

    profile: int
    merges: list[Merge] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)
    refused: bool = False
    evicted: list[Node] = field(default_factory=list)

    def absorb(self, other: LinkResult) -> None:
        self.profile = other.profile
        self.merges += other.merges
        self.splits += other.splits
        self.refused |= other.refused
        self.evicted += other.evicted


@dataclass(frozen=True)
class GraphLimits:
    """Per-profile limits; ``None`` means unlimited."""

    max_per_namespace: dict[str, int] = field(default_factory=dict)
    max_identities: int | None = None
    on_exceed: Literal["delete_oldest", "refuse"] = "delete_oldest"
    deletion_tiers: dict[str, int] = field(default_factory=dict)


class IdentityGraph:
    """Unified profiles as connected components of an identifier/record graph (module docstring)."""

    def __init__(self, dense: dict[str, int] | None = None, limits: GraphLimits | None = None,
                 unique_namespaces: tuple[str, ...] | None = None) -> None:
        if limits is None:
            names = ("contact_id",) if unique_namespaces is None else tuple(unique_namespaces)
            limits = GraphLimits(max_per_namespace=dict.fromkeys(names, 1))
        self.limits = limits
        self.graph = nx.Graph()
        self._dense = {ns: np.full(max(int(size), 1), -1, dtype=np.int64) for ns, size in (dense or {}).items()}
        self._sparse: dict[Node, int] = {}
        self._alias = np.zeros(1024, dtype=np.int64)
        self.members: dict[int, list[Node]] = {}
        self._first_seen: dict[Node, tuple[float, int]] = {}
        self._seen = 0
        self._n_ident: dict[int, int] = {}
        self._ns_values: dict[int, dict[str, set]] = {}
        self.profiles_created = 0
        self.merges = 0
        self.refused = 0
        self.refused_by_rule: dict[str, int] = {}
        self.links_by_rule: dict[str, int] = {}
        self.evicted = 0
        self.splits = 0

    # -- profile ids -------------------------------------------------------------------------
    def _new_profile(self) -> int:
        p = self.profiles_created
        if p >= len(self._alias):
            grown = np.zeros(2 * len(self._alias), dtype=np.int64)
            grown[: len(self._alias)] = self._alias
            self._alias = grown
        self._alias[p] = p
        self.profiles_created += 1
        return p

    def _new_profiles(self, n: int) -> np.ndarray:
        first = self.profiles_created
        need = first + n
        if need > len(self._alias):
            grown = np.zeros(max(need, 2 * len(self._alias)), dtype=np.int64)
            grown[: len(self._alias)] = self._alias
            self._alias = grown
        ids = np.arange(first, need, dtype=np.int64)
        self._alias[first:need] = ids
        self.profiles_created = need
        return ids

    def _find(self, p: int) -> int:
        alias = self._alias
        while alias[p] != p:
            alias[p] = alias[alias[p]]
            p = int(alias[p])
        return p

    def _find_many(self, p: np.ndarray) -> np.ndarray:
        alias = self._alias
        while True:
            nxt = alias[p]
            if np.array_equal(nxt, p):
                return p
            p = nxt

    # -- node lookups ------------------------------------------------------------------------
    def _raw(self, node: Node) -> int:
        ns, value = node
        arr = self._dense.get(ns)
        if arr is not None:
            v = int(value)  # type: ignore[call-overload]  # a dense namespace's values are ints
            return int(arr[v]) if 0 <= v < len(arr) else -1
        return self._sparse.get(node, -1)

    def _get(self, node: Node) -> int:
        raw = self._raw(node)
        return raw if raw < 0 else self._find(raw)

    def _set(self, node: Node, profile: int) -> None:
        ns, value = node
        arr = self._dense.get(ns)
        if arr is not None:
            v = int(value)  # type: ignore[call-overload]  # a dense namespace's values are ints
            if v >= len(arr):
                grown = np.full(max(v + 1, 2 * len(arr)), -1, dtype=np.int64)
                grown[: len(arr)] = arr
                self._dense[ns] = arr = grown
            arr[v] = profile
        elif profile < 0:
            self._sparse.pop(node, None)
        else:
            self._sparse[node] = profile

    def profile_of(self, namespace: str, value: Hashable) -> int | None:
        """The profile holding a node, or None if it was never seen (or was deleted)."""
        p = self._get((namespace, value))
        return None if p < 0 else p

    def resolve_dense(self, namespace: str, values: np.ndarray) -> np.ndarray:
        """Profiles of many identifiers of a dense namespace at once; unseen ones get new profiles
        in order of first appearance in ``values``."""
        values = np.asarray(values, dtype=np.int64)
        if len(values) and values.max() >= len(self._dense[namespace]):
            self._set((namespace, int(values.max())), -1)
        arr = self._dense[namespace]
        prof = arr[values]
        new = prof < 0
        if new.any():
            uniq, first = np.unique(values[new], return_index=True)
            fresh = uniq[np.argsort(first, kind="stable")]
            arr[fresh] = self._new_profiles(len(fresh))
            prof = arr[values]
        return self._find_many(prof)

    def identifiers(self, profile: int, namespace: str | None = None) -> list[Node]:
        """Identifiers of a linked profile (a singleton's one identifier is not listed here)."""
        ids = self.members.get(self._find(profile), [])
        return [i for i in ids if is_identity(i) and (namespace is None or i[0] == namespace)]

    def nodes(self, profile: int) -> list[Node]:
        """Every node (records, identifiers, keys) of a linked profile."""
        return list(self.members.get(self._find(profile), []))

    # -- building ----------------------------------------------------------------------------
    def _promote(self, node: Node, profile: int, t: float) -> None:
        """Make ``node`` a graph member of ``profile`` (it was a dense singleton or brand new)."""
        self.graph.add_node(node)
        self.members.setdefault(profile, []).append(node)
        self._first_seen[node] = (t, self._seen)
        self._seen += 1
        if is_identity(node):
            self._n_ident[profile] = self._n_ident.get(profile, 0) + 1
            if node[0] in self.limits.max_per_namespace:
                self._ns_values.setdefault(profile, {}).setdefault(node[0], set()).add(node[1])

    def add_node(self, node: Node, t: float = 0.0) -> int:
        """The profile of ``node``, creating a one-node profile if it was never seen."""
        p = self._get(node)
        if p < 0:
            p = self._new_profile()
            self._set(node, p)
            self._promote(node, p, t)
        elif node not in self._first_seen:
            self._promote(node, p, t)
        return p

    def connect(self, a: Node, b: Node, rule: str, source: str, t: float, **attrs) -> LinkResult:
        """Link ``a`` and ``b`` (either may be new); see the module docstring for limits."""
        pa = self.add_node(a, t)
        pb = self._get(b)
        if pb < 0:  # a new node simply joins a's profile: no merge
            if self._would_exceed(pa, [b]):
                return self._refuse(pa, rule)
            self._set(b, pa)
            self._promote(b, pa, t)
            pb = pa
        elif b not in self._first_seen:
            self._promote(b, pb, t)
        if pa != pb and self._would_exceed(pa, pb):
            return self._refuse(min(pa, pb), rule)
        self.graph.add_edge(a, b, rule=rule, source=source, t=t, **attrs)
        self.links_by_rule[rule] = self.links_by_rule.get(rule, 0) + 1
        result = LinkResult(profile=pa)
        if pa != pb:
            survivor, absorbed = (pa, pb) if pa < pb else (pb, pa)
            self._union(survivor, absorbed)
            result.profile = survivor
            result.merges.append(Merge(survivor, absorbed, t, rule))
        cap = self.limits.max_identities
        if cap is not None and self._n_ident.get(result.profile, 0) > cap:
            self._evict(result, keep=b, t=t)
        return result

    def link(self, identifiers: Sequence[Node], rule: str, source: str, t: float) -> LinkResult:
        """One event carrying ``identifiers`` together: link each to one anchor (a star), the
        identifier of the oldest profile among them (the first identifier when none is known yet).

        Identifiers seen before bring their profiles; the oldest survives and the others are
        merged into it. Identifiers never seen before simply join (a record made only of new
        identifiers creates one profile, and no merge). Each link is checked against the limits on
        its own; ``refused`` is set if any was refused.
        """
        known = [(p, i) for i, p in enumerate(self._get(n) for n in identifiers) if p >= 0]
        anchor = identifiers[min(known)[1] if known else 0]  # the oldest profile's identifier
        result = LinkResult(profile=self.add_node(anchor, t))
        for ident in identifiers:
            if ident != anchor:
                result.absorb(self.connect(anchor, ident, rule, source, t))
        result.profile = self._get(anchor)
        return result

    # -- limits ------------------------------------------------------------------------------
    def _refuse(self, profile: int, rule: str) -> LinkResult:
        self.refused += 1
        self.refused_by_rule[rule] = self.refused_by_rule.get(rule, 0) + 1
        return LinkResult(profile=profile, refused=True)

    def _would_exceed(self, pa: int, other: int | list[Node]) -> bool:
        """Would joining profile ``pa`` with profile ``other`` (or with new nodes) break a limit?"""
        lim = self.limits
        if isinstance(other, list):
            new_ids = [n for n in other if is_identity(n)]
            extra_vals: dict[str, set] = {}
            for ns, v in new_ids:
                extra_vals.setdefault(ns, set()).add(v)
            extra_n = len(new_ids)
        else:
            extra_vals = self._ns_values.get(other, {})
            extra_n = self._n_ident.get(other, 0)
        mine = self._ns_values.get(pa, {})
        for ns, cap in lim.max_per_namespace.items():
            theirs = extra_vals.get(ns)
            if theirs and len(mine.get(ns, set()) | theirs) > cap:
                return True
        if lim.max_identities is not None and lim.on_exceed == "refuse":
            return self._n_ident.get(pa, 0) + extra_n > lim.max_identities
        return False

    def _union(self, survivor: int, absorbed: int) -> None:
        small, big = self.members.pop(absorbed), self.members[survivor]
        if len(small) > len(big):
            small, big = big, small
        big.extend(small)
        self.members[survivor] = big
        self._alias[absorbed] = survivor
        self._n_ident[survivor] = self._n_ident.get(survivor, 0) + self._n_ident.pop(absorbed, 0)
        theirs = self._ns_values.pop(absorbed, None)
        if theirs:
            mine = self._ns_values.setdefault(survivor, {})
            for ns, vals in theirs.items():
                mine.setdefault(ns, set()).update(vals)
        self.merges += 1

    def _evict(self, result: LinkResult, keep: Node, t: float) -> None:
        """Delete the oldest identities of ``result.profile`` until it fits; split if cut."""
        p = result.profile
        cap = self.limits.max_identities
        assert cap is not None  # only called with a cap
        nodes = self.members[p]
        tiers = self.limits.deletion_tiers
        last = max(tiers.values(), default=0) + 1
        idents = sorted((tiers.get(n[0], last), self._first_seen[n], n) for n in nodes if is_identity(n) and n != keep)
        excess = self._n_ident[p] - cap
        gone = [n for *_, n in idents[:excess]]
        for n in gone:
            self.graph.remove_node(n)
            self._set(n, -1)
            del self._first_seen[n]
        gone_set = set(gone)
        remaining = [n for n in nodes if n not in gone_set]
        self.evicted += len(gone)
        result.evicted += gone
        parts = list(nx.connected_components(self.graph.subgraph(remaining)))
        home = next(c for c in parts if keep in c)
        self._reassign(p, home)
        for part in parts:
            if part is not home:
                q = self._new_profile()
                for n in part:
                    self._set(n, q)
                self._reassign(q, part)
                self.splits += 1
                result.splits.append(Split(p, q, t))

    def _reassign(self, profile: int, nodes: set[Node]) -> None:
        ordered = sorted(nodes, key=self._first_seen.__getitem__)
        self.members[profile] = ordered
        idents = [n for n in ordered if is_identity(n)]
        self._n_ident[profile] = len(idents)
        vals: dict[str, set] = {}
        for ns, v in idents:
            if ns in self.limits.max_per_namespace:
                vals.setdefault(ns, set()).add(v)
        self._ns_values[profile] = vals

    # -- explanation -------------------------------------------------------------------------
    def explain(self, a: Node, b: Node) -> list[dict]:
        """The chain of links that puts ``a`` and ``b`` in one profile (empty if they are not)."""
        pa, pb = self._get(a), self._get(b)
        if pa < 0 or pa != pb or a == b:
            return []
        path = nx.shortest_path(self.graph, a, b)
        return [{"from": u, "to": v, **self.graph.edges[u, v]} for u, v in itertools.pairwise(path)]

    def linked_profiles(self) -> int:
        """Profiles with more than one node."""
        return sum(1 for m in self.members.values() if len(m) > 1)

    def unified_profiles(self) -> int:
        """Profiles alive now (created minus absorbed; splits add profiles)."""
        return self.profiles_created - self.merges
