"""Edges of the identity graph (sim.domain.identity.graph): per-namespace limits across merges, the
identity cap exactly at and one past its value under both policies, deletion order (tiers, then
first-seen time, then order of sight), the newest link keeping its profile, and profile ids."""

import numpy as np

from sim.domain.identity import GraphLimits, IdentityGraph
from sim.domain.identity.graph import Merge, Split, is_identity


def test_regression_a_merged_profile_keeps_its_absorbed_contact_ids():
    """Regression (issue 13): after a merge the survivor holds the absorbed profile's contact id, so a
    second contact id cannot join it (one contact id per profile); the merge forgot it."""
    g = IdentityGraph()
    g.link([("email", "e"), ("cookie", 2)], "login", "web", 0.0)        # profile 0: no contact id
    g.link([("cookie", 1), ("contact_id", "c1")], "crm", "crm", 1.0)    # profile 1: contact c1
    res = g.link([("cookie", 2), ("cookie", 1)], "device", "web", 2.0)  # 1 is absorbed into 0
    assert res.merges == [Merge(0, 1, 2.0, "device")] and res.profile == 0
    res = g.link([("email", "e"), ("contact_id", "c2")], "crm", "crm", 3.0)
    assert res.refused and g.refused_by_rule == {"crm": 1}
    assert g.profile_of("contact_id", "c2") is None
    assert sorted(g.identifiers(0, "contact_id")) == [("contact_id", "c1")]


def test_regression_delete_oldest_keeps_the_newest_links_side():
    """Regression (issue 13): deletion never removes the identity the newest link brought, and the
    parts that no longer reach it split off; it anchored on the older end of the link."""
    g = IdentityGraph(limits=GraphLimits(max_identities=2))
    g.connect(("email", "e1"), ("email", "e2"), "r", "s", 0.0)
    res = g.connect(("email", "e1"), ("email", "e3"), "r", "s", 1.0)  # e1 is the oldest: deleted
    assert res.evicted == [("email", "e1")]
    assert res.splits == [Split(0, 1, 1.0)] and res.profile == 0
    assert (g.profile_of("email", "e1"), g.profile_of("email", "e2"), g.profile_of("email", "e3")) == (None, 1, 0)
    assert g.unified_profiles() == 2 and g.splits == 1 and g.evicted == 1


def test_the_identity_cap_is_reached_without_deleting_and_passed_by_one_deletes_one():
    """``max_identities`` identities fit; the one past it deletes exactly one (the oldest)."""
    g = IdentityGraph(limits=GraphLimits(max_identities=3))
    g.connect(("email", "a"), ("cookie", 1), "r", "s", 0.0)
    res = g.connect(("email", "a"), ("cookie", 2), "r", "s", 1.0)
    assert res.evicted == [] and len(g.identifiers(0)) == 3
    res = g.connect(("cookie", 2), ("cookie", 3), "r", "s", 2.0)
    assert res.evicted == [("email", "a")] and res.splits and g.evicted == 1
    assert sorted(g.identifiers(g.profile_of("cookie", 3))) == [("cookie", 2), ("cookie", 3)]


def test_refuse_policy_at_the_cap_and_one_past():
    """Policy ``refuse``: a link reaching the cap is applied, one passing it is refused; records and
    rule keys do not count as identities."""
    g = IdentityGraph(limits=GraphLimits(max_identities=2, on_exceed="refuse"))
    assert not g.connect(("record", "r"), ("email", "a"), "r", "s", 0.0).refused
    assert not g.connect(("record", "r"), ("key:name", ("x", "y")), "r", "s", 0.0).refused
    assert not g.connect(("record", "r"), ("email", "b"), "r", "s", 0.0).refused
    assert g.connect(("record", "r"), ("email", "c"), "r", "s", 0.0).refused
    g.connect(("record", "q"), ("email", "d"), "r", "s", 0.0)
    res = g.connect(("email", "d"), ("email", "a"), "r", "s", 1.0)  # 1 + 2 > 2: refused merge
    assert res.refused and res.profile == min(g.profile_of("email", "d"), g.profile_of("email", "a"))
    assert g.refused == 2 and g.merges == 0
    assert is_identity(("email", "a")) and not is_identity(("record", 1)) and not is_identity(("key:x", 1))


def test_deletion_goes_by_tier_then_first_seen():
    """With ``deletion_tiers`` the lowest tier goes first whatever its age; unlisted namespaces go
    after every listed one; within a tier the oldest first."""
    limits = GraphLimits(max_identities=3, deletion_tiers={"cookie": 0, "device": 1})
    g = IdentityGraph(limits=limits)
    g.connect(("record", "r"), ("email", "old"), "r", "s", 0.0)
    g.connect(("record", "r"), ("device", "d"), "r", "s", 1.0)
    g.connect(("record", "r"), ("cookie", 7), "r", "s", 2.0)
    res = g.connect(("record", "r"), ("phone", "p"), "r", "s", 3.0)
    assert res.evicted == [("cookie", 7)]
    res = g.connect(("record", "r"), ("phone", "q"), "r", "s", 4.0)
    assert res.evicted == [("device", "d")]
    res = g.connect(("record", "r"), ("phone", "z"), "r", "s", 5.0)
    assert res.evicted == [("email", "old")]
    g2 = IdentityGraph(limits=GraphLimits(max_identities=2))
    g2.link([("email", "b"), ("email", "a")], "r", "s", 0.0)  # same time: order of sight decides
    res = g2.connect(("email", "a"), ("email", "c"), "r", "s", 0.0)
    assert res.evicted == [("email", "b")]


def test_the_oldest_profile_survives_a_merge():
    """Profile ids go by first sight; a merge keeps the smaller id whichever side the link names."""
    g = IdentityGraph(dense={"cookie": 4})
    assert [g.add_node(("cookie", k)) for k in (3, 1)] == [0, 1]
    assert g.add_node(("email", "x")) == 2
    res = g.connect(("email", "x"), ("cookie", 1), "r", "s", 5.0)
    assert res.merges == [Merge(1, 2, 5.0, "r")] and res.profile == 1
    res = g.connect(("cookie", 1), ("cookie", 3), "r", "s", 6.0)
    assert res.merges == [Merge(0, 1, 6.0, "r")] and res.profile == 0
    assert g.profile_of("email", "x") == 0 and g.unified_profiles() == 1 and g.linked_profiles() == 1
    assert g.profile_of("cookie", 2) is None and g.profile_of("cookie", 99) is None
    assert [e["rule"] for e in g.explain(("email", "x"), ("cookie", 3))] == ["r", "r"]
    assert g.explain(("email", "x"), ("email", "x")) == [] and g.explain(("email", "x"), ("cookie", 2)) == []


def test_link_anchors_on_the_oldest_known_identifier():
    """``link`` joins every identifier to the one of the oldest profile; new ones simply join."""
    g = IdentityGraph()
    g.add_node(("email", "old"))
    g.add_node(("email", "new"))
    res = g.link([("email", "new"), ("cookie", 9), ("email", "old")], "login", "web", 1.0)
    assert res.profile == 0 and res.merges == [Merge(0, 1, 1.0, "login")]
    assert sorted(g.identifiers(0)) == [("cookie", 9), ("email", "new"), ("email", "old")]
    res = g.link([("cookie", 10), ("cookie", 11)], "device", "web", 2.0)
    assert res.profile == 2 and res.merges == [] and g.profiles_created == 3


def test_dense_namespaces_resolve_in_order_of_first_appearance_and_grow():
    """Unseen dense identifiers get new profiles in order of first appearance; the array grows past
    its initial size; merged ones resolve to their survivor."""
    g = IdentityGraph(dense={"cookie": 2})
    got = g.resolve_dense("cookie", np.array([5, 1, 5, 0]))
    assert got.tolist() == [0, 1, 0, 2]
    g.connect(("cookie", 0), ("cookie", 5), "r", "s", 0.0)
    assert g.resolve_dense("cookie", np.array([0, 5, 1, 7])).tolist() == [0, 0, 1, 3]
    many = g.resolve_dense("cookie", np.arange(10, 3000))
    assert many[0] == 4 and many[-1] == 4 + 2989 and g.profiles_created == 2994
