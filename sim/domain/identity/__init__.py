"""Identity resolution: normalisers, match rules, the identity graph, batch/incremental resolution
and reconciliation. See :mod:`sim.domain.identity.graph` for the graph and its limits and
:mod:`sim.domain.identity.resolver` for how records link."""

from sim.domain.identity.graph import GraphLimits, Identifier, IdentityGraph, LinkResult, Merge, Node, Split
from sim.domain.identity.reconcile import reconcile
from sim.domain.identity.resolver import Resolver, Stats, resolve
from sim.domain.identity.rules import RulesError, RuleSet, load_rules, parse_rules

__all__ = [
                                       "GraphLimits",
                                       "Identifier",
                                       "IdentityGraph",
                                       "LinkResult",
                                       "Merge",
                                       "Node",
                                       "Resolver",
                                       "RuleSet",
                                       "RulesError",
                                       "Split",
                                       "Stats",
                                       "load_rules",
                                       "parse_rules",
                                       "reconcile",
                                       "resolve",
]
