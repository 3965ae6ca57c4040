"""Real-Time Customer Profile: mapped records -> identity graphs -> merged profile attributes.

Each XDM record (:class:`~sim.domain.aep.mappings.XdmRecord`) written to a profile-enabled dataset
is a **fragment** of a profile. Its identities go to the identity graph — the twin's shared
:class:`~sim.domain.identity.graph.IdentityGraph`, with AEP's documented limits (at most **50
identities per graph**; when a link would exceed it the graph keeps the newest and deletes by
**identity type, then age**: cookie ids (ECID) first, then device ids (IDFA, GAID), then
cross-device ids (CRM ids, e-mail, phone, custom namespaces unless typed otherwise); no
per-namespace cap) — so records sharing an identity belong to one profile, and a record
carrying two known identities merges their profiles. Without the type order a person's CRM id,
the hub that holds the graph together, would be the oldest identity and be deleted first,
splitting the graph into its devices.

Identity values are validated as Identity Service does: an ECID must be exactly 38 digits (else
the record is skipped); other values must be non-blank, at most 1,024 characters and not
``null``/``anonymous``/``invalid`` (else that identity is blocked, the rest of the record goes on).

Fragments are kept per (dataset, primary identity) and upserted attribute by attribute (a newer
record of the same person in the same dataset replaces the values it carries); each is reachable
from every identity of its record, so deleting one identity from a graph does not orphan it.

A **merge policy** decides, at read time, each attribute's value among the fragments of one
profile (several policies can be compared on the same data; an organisation has at most 5):

* ``timestamp_ordered``: the value from the fragment updated most recently (the record's
  timestamp — the source row's delta value when the flow has one — else the ingestion time; ties
  go to the later ingestion);
* ``dataset_precedence``: the value from the first dataset of ``dataset_order`` that has one
  (datasets not listed come after all listed ones); within a dataset, the most recent.

Records are refused by the profile (counted, they stay in the dataset) when they carry **no
identity** (the seed's own mapping set marks none: its records cannot reach the profile) or more
than **20** identities. Deleting identities from a graph does not touch profile data (as
documented): a fragment stays reachable through its record's other identities.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sim.domain.aep.mappings import MAX_IDENTITIES_PER_RECORD, XdmRecord
from sim.domain.aep.problems import AepError, Problem
from sim.domain.aep.xdm import flatten, set_path
from sim.domain.identity.graph import GraphLimits, IdentityGraph, Node

MERGE_POLICY_KINDS = ("timestamp_ordered", "dataset_precedence")
MAX_MERGE_POLICIES = 5
MAX_IDENTITIES_PER_GRAPH = 50
IDENTITY_TYPES = ("cookie", "device", "cross_device")  # deletion order when a graph is full
AEP_IDENTITY_TYPES = {"ECID": "cookie", "AAID": "cookie", "TNTID": "cookie", "IDFA": "device", "GAID": "device"}
MAX_IDENTITY_VALUE_CHARS = 1024
_BLOCKED_VALUES = {"null", "anonymous", "invalid"}


def aep_limits(identity_types: dict[str, str] | None = None) -> GraphLimits:
    """AEP's graph limits; ``identity_types`` types extra namespaces (unlisted: cross-device)."""
    types = {**AEP_IDENTITY_TYPES, **(identity_types or {})}
    bad = [Problem(f"identity_types.{ns}", f"{t!r}; allowed: {', '.join(IDENTITY_TYPES)}")
           for ns, t in types.items() if t not in IDENTITY_TYPES]
    if bad:
        raise AepError(bad)
    return GraphLimits(max_per_namespace={}, max_identities=MAX_IDENTITIES_PER_GRAPH, on_exceed="delete_oldest",
                       deletion_tiers={ns: IDENTITY_TYPES.index(t) for ns, t in types.items()})


AEP_LIMITS = aep_limits()


def identity_value_problem(namespace: str, value: str) -> str | None:
    """Why Identity Service would refuse this identity value (None if it is fine)."""
    if namespace == "ECID":
        return None if len(value) == 38 and value.isdigit() else "an ECID is exactly 38 digits"
    if not value.strip() or value.strip().lower() in _BLOCKED_VALUES:
        return f"{value!r} is not an identity value"
    if len(value) > MAX_IDENTITY_VALUE_CHARS:
        return f"longer than {MAX_IDENTITY_VALUE_CHARS} characters"
    return None


@dataclass(frozen=True)
class MergePolicy:
    kind: str = "timestamp_ordered"
    dataset_order: tuple[str, ...] = ()
    name: str = "default"

    def __post_init__(self) -> None:
        if self.kind not in MERGE_POLICY_KINDS:
            allowed = ", ".join(MERGE_POLICY_KINDS)
            raise AepError([Problem("kind", f"{self.kind!r} is not a merge policy; allowed: {allowed}")])
        if self.kind == "dataset_precedence" and not self.dataset_order:
            raise AepError([Problem("dataset_order", "dataset precedence needs the datasets in order of precedence")])


def check_merge_policies(policies: Iterable[MergePolicy]) -> list[Problem]:
    """An organisation's policies: at most 5, distinct names."""
    policies = list(policies)
    problems = []
    if len(policies) > MAX_MERGE_POLICIES:
        problems.append(Problem("mergePolicies", f"{len(policies)} merge policies; at most {MAX_MERGE_POLICIES} "
                                                 "per organisation"))
    names = [p.name for p in policies]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("mergePolicies", f"name {n!r} is used twice"))
    return problems


@dataclass
class Fragment:
    """One (dataset, primary identity) fragment: path -> (value, timestamp, ingestion order)."""

    dataset_id: str
    key: Node
    values: dict[str, tuple[Any, float, int]] = field(default_factory=dict)


@dataclass
class IngestStats:
    records: int = 0
    accepted: int = 0
    no_identity: int = 0
    too_many_identities: int = 0
    invalid_ecid: int = 0
    blocked_identities: int = 0
    merges: int = 0
    evicted: int = 0
    splits: int = 0
    profiles: set[int] = field(default_factory=set)


class RealTimeProfile:
    """Profiles fed by mapped records (module docstring)."""

    def __init__(self, merge_policy: MergePolicy | None = None, limits: GraphLimits = AEP_LIMITS,
                 max_identities_per_record: int = MAX_IDENTITIES_PER_RECORD) -> None:
        self.merge_policy = merge_policy or MergePolicy()
        self.graph = IdentityGraph(limits=limits)
        self.max_identities_per_record = max_identities_per_record
        self._fragments: dict[tuple[str, Node], Fragment] = {}
        self._by_identity: dict[Node, set[tuple[str, Node]]] = {}
        self._seq = 0

    def ingest(self, records: Iterable[XdmRecord], dataset_id: str, t: float) -> IngestStats:
        """Write mapped records of ``dataset_id`` at time ``t`` (epoch s) into the profile store."""
        stats = IngestStats()
        for rec in records:
            stats.records += 1
            idents = list(dict.fromkeys((ns, str(v)) for ns, v in rec.identities))
            if any(ns == "ECID" and identity_value_problem(ns, v) for ns, v in idents):
                stats.invalid_ecid += 1
                continue
            kept = [(ns, v) for ns, v in idents if identity_value_problem(ns, v) is None]
            stats.blocked_identities += len(idents) - len(kept)
            idents = kept
            if not idents:
                stats.no_identity += 1
                continue
            if len(idents) > self.max_identities_per_record:
                stats.too_many_identities += 1
                continue
            link = self.graph.link(idents, rule="record", source=dataset_id, t=t)
            stats.merges += len(link.merges)
            stats.evicted += len(link.evicted)
            stats.splits += len(link.splits)
            key = (dataset_id, idents[0])
            frag = self._fragments.get(key)
            if frag is None:
                frag = self._fragments[key] = Fragment(dataset_id, idents[0])
            for node in idents:
                self._by_identity.setdefault(node, set()).add(key)
            ts = t if rec.timestamp is None else float(rec.timestamp)
            self._seq += 1
            for path, value in flatten(rec.data).items():
                if path == "identityMap" or value is None:
                    continue
                old = frag.values.get(path)
                if old is None or (ts, self._seq) >= (old[1], old[2]):
                    frag.values[path] = (value, ts, self._seq)
            stats.accepted += 1
            stats.profiles.add(self.graph.profile_of(*idents[0]))  # type: ignore[arg-type]
        return stats

    def profile_id(self, namespace: str, value: Any) -> int | None:
        return self.graph.profile_of(namespace, str(value))

    def identities(self, namespace: str, value: Any) -> list[Node]:
        p = self.profile_id(namespace, value)
        return [] if p is None else self.graph.identifiers(p)

    def fragments(self, namespace: str, value: Any) -> list[Fragment]:
        keys: set[tuple[str, Node]] = set()
        for node in self.identities(namespace, value):
            keys |= self._by_identity.get(node, set())
        return [self._fragments[k] for k in sorted(keys, key=str)]

    def attributes(self, namespace: str, value: Any, policy: MergePolicy | None = None) -> dict[str, Any]:
        """The merged attributes (dotted path -> value) of the profile holding the identity."""
        policy = policy or self.merge_policy
        rank = {ds: i for i, ds in enumerate(policy.dataset_order)}
        best: dict[str, tuple[tuple, Any]] = {}
        for frag in self.fragments(namespace, value):
            for path, (v, ts, seq) in frag.values.items():
                if policy.kind == "dataset_precedence":
                    score: tuple = (-rank.get(frag.dataset_id, len(rank)), ts, seq)
                else:
                    score = (ts, seq)
                if path not in best or score > best[path][0]:
                    best[path] = (score, v)
        return {path: v for path, (_, v) in sorted(best.items())}

    def profile(self, namespace: str, value: Any, policy: MergePolicy | None = None) -> dict:
        """The merged profile as a nested XDM document."""
        doc: dict = {}
        for path, v in self.attributes(namespace, value, policy).items():
            set_path(doc, path, v)
        return doc
