"""Resolving records into unified profiles with a :class:`~sim.domain.identity.rules.RuleSet`.

A record links into the graph through:

* its **namespace identifiers** (rule ``namespace:<field>``): records sharing a normalised e-mail,
  phone, contact id … are one profile;
* **exact match rules** (every criterion exact or normalised): records with equal values on all the
  rule's fields share a key node (rule = the rule's name); a one-field normalised rule on a
  namespace uses the identifier node itself;
* **fuzzy match rules**: record-to-record links (rule = the rule's name, ``score`` = the lowest
  criterion similarity) with earlier records found through blocking: the rule's own ``blocking``
  keys if given, else its exact criteria, else the rule set's ``blocking`` keys.
  A block larger than ``limits.max_block_size`` generates no pairs and is reported.

Records are applied in a **canonical order**, (record time, rec_id), so the same records give the
same profiles whatever order the input lists them in. A record with more than
``limits.max_identities_per_record`` identifiers is refused (it stays a profile of its own).

:meth:`Resolver.add` applies one record incrementally (and reports merges, as the streaming twin
needs); :func:`resolve` does a whole table at once with vectorised candidate scoring and gives the
same partition, except around a block that outgrows ``limits.max_block_size``: the batch skips the
whole block, while records added one by one are paired until the block passes the limit (the
incremental resolver cannot know that a block will grow).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.domain.identity import normalize
from sim.domain.identity.graph import KEY_PREFIX, RECORD, GraphLimits, IdentityGraph, LinkResult, Node
from sim.domain.identity.rules import MatchRule, RuleSet
from sim.domain.identity.scorers import criterion_holds, criterion_mask

ID, SOURCE, TIME = "rec_id", "_source", "_t"


@dataclass
class Stats:
    """What a resolution did."""

    records: int = 0
    profiles: int = 0
    links_by_rule: dict[str, int] = field(default_factory=dict)
    refused_links: int = 0
    refused_by_rule: dict[str, int] = field(default_factory=dict)
    refused_records: int = 0
    evicted_identities: int = 0
    skipped_blocks: int = 0
    candidate_pairs: int = 0


class Resolver:
    """An identity graph driven by a rule set; records go in one by one (:meth:`add`)."""

    def __init__(self, rules: RuleSet, fields: Sequence[str] | None = None) -> None:
        self.rules = rules
        if fields is not None:
            missing = [f for f in rules.fields() if f not in fields]
            if missing:
                raise ValueError(f"the rules use fields the input does not have: {', '.join(missing)}; "
                                 f"input fields: {', '.join(fields)}")
        lim = rules.limits
        self.graph = IdentityGraph(limits=GraphLimits(max_per_namespace=dict(lim.max_per_namespace),
                                                      max_identities=lim.max_identities,
                                                      on_exceed=lim.on_exceed))
        self.key_rules = [r for r in rules.match_rules if not r.fuzzy]
        self.fuzzy_rules = [r for r in rules.match_rules if r.fuzzy]
        self._norm: dict[tuple[str, str], Callable[[str], str]] = {}
        for fieldname, spec in self._needed():
            self._norm[(fieldname, spec)] = normalize.get(spec)
        self.ids: list[str] = []
        self.values: dict[tuple[str, str], list[str]] = {k: [] for k in self._norm}
        self._blocks: dict[tuple, list[int]] = {}
        self.refused_records = 0
        self.skipped_blocks: set[tuple] = set()
        self.skipped_block_count = 0
        self.candidate_pairs = 0

    # -- what is compared how ------------------------------------------------------------------
    def _needed(self) -> list[tuple[str, str]]:
        r = self.rules
        out = [(f, spec) for f, spec in r.namespaces.items()]
        out += [(c.field, r.normalizer_for(c.field, c)) for rule in r.match_rules for c in rule.criteria
                if c.method != "exact"]
        out += [(c.field, "exact") for rule in r.match_rules for c in rule.criteria if c.method == "exact"]
        out += [(f, r.normalizer_for(f)) for key in r.blocking for f in key]
        out += [(f, r.normalizer_for(f)) for rule in r.match_rules for key in rule.blocking or [] for f in key]
        return list(dict.fromkeys(out))

    def column(self, criterion) -> tuple[str, str]:
        spec = "exact" if criterion.method == "exact" else self.rules.normalizer_for(criterion.field, criterion)
        return criterion.field, spec

    def block_keys(self, rule: MatchRule) -> list[tuple[str, list[tuple[str, str]]]]:
        """The blocking keys of a fuzzy rule: (key name, [(field, normaliser), ...]): the rule's own
        ``blocking`` if it has one, else its exact criteria, else the rule set's ``blocking``."""
        if rule.blocking:
            return [(f"rule:{rule.name}:" + "+".join(key), [(f, self.rules.normalizer_for(f)) for f in key])
                    for key in rule.blocking]
        exact = [self.column(c) for c in rule.criteria if c.method != "fuzzy"]
        if exact:
            return [(f"rule:{rule.name}", exact)]
        return [("blocking:" + "+".join(key), [(f, self.rules.normalizer_for(f)) for f in key])
                for key in self.rules.blocking]

    # -- links of one record -------------------------------------------------------------------
    def _identity_nodes(self, pos: int) -> list[tuple[Node, str]]:
        """(node, rule) links of record ``pos`` to identifiers and rule keys, in a fixed order."""
        out: list[tuple[Node, str]] = []
        seen: set[Node] = set()
        for rule in self.key_rules:
            vals = []
            for c in rule.criteria:
                v = self.values[self.column(c)][pos]
                if not v and not c.match_on_blank:
                    break
                vals.append(v)
            else:
                c0 = rule.criteria[0]
                if len(rule.criteria) == 1 and c0.method == "normalized" and c0.field in self.rules.namespaces:
                    node: Node = (c0.field, vals[0])
                else:
                    node = (KEY_PREFIX + rule.name, tuple(vals))
                if node not in seen:
                    seen.add(node)
                    out.append((node, rule.name))
        for ns, spec in self.rules.namespaces.items():
            v = self.values[(ns, spec)][pos]
            if v and (ns, v) not in seen:
                seen.add((ns, v))
                out.append(((ns, v), f"namespace:{ns}"))
        return out

    def _apply(self, pos: int, t: float, source: str, fuzzy: list[tuple[int, str, float]]) -> LinkResult:
        """Put record ``pos`` in the graph with its identifier/key links and fuzzy links."""
        g = self.graph
        rec: Node = (RECORD, self.ids[pos])
        nodes = self._identity_nodes(pos)
        n_ident = sum(1 for node, _ in nodes if not node[0].startswith(KEY_PREFIX))
        if n_ident > self.rules.limits.max_identities_per_record:
            self.refused_records += 1
            return LinkResult(profile=g.add_node(rec, t))
        links: list[tuple[Node, str, dict]] = [(node, rule, {}) for node, rule in nodes]
        links += [((RECORD, self.ids[other]), rule, {"score": round(score, 4)}) for other, rule, score in fuzzy]
        # the record joins the oldest profile it links to first (no merge for the new record itself)
        known = [(p, i) for i, p in enumerate(g._get(node) for node, _, _ in links) if p >= 0]
        first = min(known)[1] if known else None
        if first is None:
            result = LinkResult(profile=g.add_node(rec, t))
        else:
            node, rule, attrs = links[first]
            result = g.connect(node, rec, rule, source, t, **attrs)
        for k, (node, rule, attrs) in enumerate(links):
            if k != first:
                result.absorb(g.connect(rec, node, rule, source, t, **attrs))
        result.profile = g._get(rec)
        return result

    # -- incremental -------------------------------------------------------------------------
    def add(self, rec_id: str, fields: Mapping[str, str], source: str = "input", t: float = 0.0) -> LinkResult:
        """Add one record; fuzzy candidates come from the blocking index of the records so far."""
        pos = len(self.ids)
        self.ids.append(str(rec_id))
        for (f, spec), fn in self._norm.items():
            self.values[(f, spec)].append(fn(str(fields.get(f, "") or "")))
        matches: dict[int, tuple[str, float]] = {}
        for rule in self.fuzzy_rules:
            for other in self._candidates(rule, pos):
                if other in matches:
                    continue
                self.candidate_pairs += 1
                ok, score = self._rule_holds(rule, pos, other)
                if ok:
                    matches[other] = (rule.name, score)
        fuzzy = [(o, r, s) for o, (r, s) in sorted(matches.items())]
        return self._apply(pos, t, source, fuzzy)

    def _candidates(self, rule: MatchRule, pos: int) -> list[int]:
        cap = self.rules.limits.max_block_size
        out: list[int] = []
        for name, cols in self.block_keys(rule):
            vals = tuple(self.values[c][pos] for c in cols)
            if not all(vals):
                continue
            block = self._blocks.setdefault((name, vals), [])
            if len(block) + 1 > cap:
                self.skipped_blocks.add((name, vals))
            else:
                out.extend(block)
            block.append(pos)
        return out

    def _rule_holds(self, rule: MatchRule, a: int, b: int) -> tuple[bool, float]:
        low = 1.0
        for c in rule.criteria:
            col = self.values[self.column(c)]
            ok, score = criterion_holds(c, col[a], col[b])
            if not ok:
                return False, 0.0
            low = min(low, score)
        return True, low

    # -- results -----------------------------------------------------------------------------
    def profile_of(self, rec_id: str) -> int | None:
        return self.graph.profile_of(RECORD, str(rec_id))

    def explain(self, rec_a: str, rec_b: str) -> list[dict]:
        """The links (rule, source, time, score) that put two records in one profile, in order."""
        return self.graph.explain((RECORD, str(rec_a)), (RECORD, str(rec_b)))

    def stats(self) -> Stats:
        g = self.graph
        return Stats(records=len(self.ids), profiles=len({self.profile_of(r) for r in self.ids}),
                     links_by_rule=dict(sorted(g.links_by_rule.items())), refused_links=g.refused,
                     refused_by_rule=dict(sorted(g.refused_by_rule.items())),
                     refused_records=self.refused_records, evicted_identities=g.evicted,
                     skipped_blocks=len(self.skipped_blocks) + self.skipped_block_count,
                     candidate_pairs=self.candidate_pairs)


# -- batch -------------------------------------------------------------------------------------
def canonical_order(frame: pd.DataFrame) -> np.ndarray:
    """Positions of ``frame`` rows sorted by (record time, rec_id): the order records are applied."""
    t = frame[TIME].to_numpy(dtype=np.float64) if TIME in frame else np.zeros(len(frame))
    t = np.where(np.isnan(t), 0.0, t)
    return np.lexsort((frame[ID].astype(str).to_numpy(), t))


def normalize_column(raw: np.ndarray, fn: Callable[[str], str]) -> np.ndarray:
    """``fn`` over a column of raw values, computed once per distinct value (missing → blank)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    normed = np.array([fn(str(u)) for u in uniques] + [""], dtype=object)
    return normed[codes]  # code −1 (missing) picks the trailing blank


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    x = np.sort(x)
    return x[np.concatenate(([True], x[1:] != x[:-1]))] if len(x) else x


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of string values; equal values equal codes, blank = −1."""
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int64)
    blank = np.flatnonzero(uniques == "")
    if len(blank):
        codes[codes == blank[0]] = -1
    return codes


def _block_pairs(key_codes: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, int]:
    """All pairs (i < j) of rows with the same key code (≥ 0), skipping blocks larger than ``cap``.
    Returns (i, j, number of skipped blocks)."""
    rows = np.flatnonzero(key_codes >= 0)
    if len(rows) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    order = rows[np.argsort(key_codes[rows], kind="stable")]
    sorted_codes = key_codes[order]
    edges = np.flatnonzero(np.concatenate(([True], sorted_codes[1:] != sorted_codes[:-1], [True])))
    size = np.diff(edges)
    too_big = size > cap
    keep = np.repeat(~too_big, size)
    order, sorted_codes = order[keep], sorted_codes[keep]
    lo, hi = [], []
    for k in range(1, int(size[~too_big].max(initial=1))):
        same = sorted_codes[:-k] == sorted_codes[k:]
        if not same.any():
            break
        a, b = order[:-k][same], order[k:][same]
        lo.append(np.minimum(a, b))
        hi.append(np.maximum(a, b))
    if not lo:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), int(too_big.sum())
    return np.concatenate(lo), np.concatenate(hi), int(too_big.sum())


def resolve(frame: pd.DataFrame, rules: RuleSet, progress: Callable[[int], None] | None = None
            ) -> tuple[Resolver, np.ndarray]:
    """Resolve a table of records (columns ``rec_id``, optional ``_source`` and ``_t``, and the
    fields). Returns the resolver (graph, stats, explain) and each row's profile id.

    Candidate pairs and their scores are computed column-wise (numpy + rapidfuzz ``cpdist``); the
    graph is then built record by record in canonical order, exactly as :meth:`Resolver.add` would.
    ``progress(n)`` is called as records are applied.
    """
    fields = [c for c in frame.columns if c not in (SOURCE, TIME)]
    res = Resolver(rules, fields)
    order = canonical_order(frame)
    n = len(frame)
    res.ids = frame[ID].astype(str).to_numpy()[order].tolist()
    codes: dict[tuple[str, str], np.ndarray] = {}
    arrays: dict[tuple[str, str], np.ndarray] = {}
    for (f, spec), fn in res._norm.items():
        normed = normalize_column(frame[f].to_numpy()[order], fn)
        arrays[(f, spec)] = normed
        res.values[(f, spec)] = normed.tolist()
        codes[(f, spec)] = _codes(normed)

    # fuzzy candidates: pairs (earlier i, later j) by blocking, scored per rule, first rule wins
    cap = rules.limits.max_block_size
    found: dict[int, list[tuple[int, str, float]]] = {}
    taken = np.zeros(0, np.int64)
    candidates = skipped = 0
    for rule in res.fuzzy_rules:
        i_all, j_all = [], []
        for _, cols in res.block_keys(rule):
            stacked = np.stack([codes[c] for c in cols], axis=1)
            key = pd.DataFrame(stacked).groupby(list(range(len(cols))), sort=False).ngroup().to_numpy()
            key = np.where((stacked < 0).any(axis=1), -1, key)
            i, j, s = _block_pairs(key, cap)
            skipped += s
            i_all.append(i)
            j_all.append(j)
        if not i_all:
            continue
        pair_id = _sorted_unique(np.concatenate(i_all) * n + np.concatenate(j_all))
        pair_id = pair_id[~np.isin(pair_id, taken, assume_unique=True)]
        candidates += len(pair_id)
        i, j = pair_id // n, pair_id % n
        ok = np.ones(len(i), bool)
        low = np.ones(len(i))
        for c in rule.criteria:
            col = res.column(c)
            idx = np.flatnonzero(ok)
            holds, score = criterion_mask(c, arrays[col][i[idx]], arrays[col][j[idx]],
                                          codes[col][i[idx]], codes[col][j[idx]])
            ok[idx[~holds]] = False
            low[idx] = np.minimum(low[idx], score)
        for a, b, s in zip(i[ok].tolist(), j[ok].tolist(), low[ok].tolist()):
            found.setdefault(b, []).append((a, rule.name, s))
        taken = _sorted_unique(np.concatenate((taken, pair_id[ok])))

    t = frame[TIME].to_numpy(dtype=np.float64)[order] if TIME in frame else np.zeros(n)
    t = np.where(np.isnan(t), 0.0, t)
    src = frame[SOURCE].astype(str).to_numpy()[order] if SOURCE in frame else np.full(n, "input")
    for pos in range(n):
        res._apply(pos, float(t[pos]), str(src[pos]), sorted(found.get(pos, ())))
        if progress is not None and (pos + 1) % 5000 == 0:
            progress(5000)
    if progress is not None:
        progress(n % 5000)
    profile = np.empty(n, dtype=np.int64)
    profile[order] = [res.graph._get((RECORD, r)) for r in res.ids]
    res.candidate_pairs = candidates
    res.skipped_block_count = skipped
    return res, profile
