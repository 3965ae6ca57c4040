"""More edges of the identity graph (sim.domain.identity.graph), each from the module docstring:
what counts as an identity, the default one-contact-id limit, dense identifiers (in range, at and
past the end of their array, never linked ones not listed), profile ids past the first 1,024,
links refused before any change, identities counted across merges, several deletions at once and
the profiles a deletion splits off keeping their own limits, and the explanation of a link chain."""

import numpy as np

from sim.domain.identity import GraphLimits, IdentityGraph
from sim.domain.identity.graph import LinkResult, Merge, Split, is_identity


def test_identities_are_every_namespace_but_records_and_rule_keys():
    assert is_identity(("email", "a")) and is_identity(("keys", 1)) and is_identity(("recordx", 1))
    assert not is_identity(("record", 1)) and not is_identity(("key:", 1)) and not is_identity(("key:n", 1))


def test_a_link_result_absorbs_another():
    first = LinkResult(profile=1, merges=[Merge(1, 2, 0.0, "r")], refused=True, evicted=[("a", 1)])
    first.absorb(LinkResult(profile=3, merges=[Merge(3, 4, 1.0, "r")], splits=[Split(3, 5, 1.0)],
                            evicted=[("b", 2)]))
    assert first.profile == 3 and first.refused
    assert first.merges == [Merge(1, 2, 0.0, "r"), Merge(3, 4, 1.0, "r")]
    assert first.splits == [Split(3, 5, 1.0)] and first.evicted == [("a", 1), ("b", 2)]
    second = LinkResult(profile=0)
    second.absorb(LinkResult(profile=0, refused=True))
    assert second.refused
    assert LinkResult(profile=0).refused is False and LinkResult(profile=0).merges == []


def test_the_default_limit_is_one_value_of_each_unique_namespace():
    assert IdentityGraph().limits == GraphLimits(max_per_namespace={"contact_id": 1})
    g = IdentityGraph(unique_namespaces=("crm", "loyalty"))
    assert g.limits.max_per_namespace == {"crm": 1, "loyalty": 1}
    g.connect(("email", "e"), ("contact_id", "c1"), "r", "s", 0.0)
    assert not g.connect(("email", "e"), ("contact_id", "c2"), "r", "s", 0.0).refused  # not unique here
    g.connect(("email", "e"), ("crm", "a"), "r", "s", 0.0)
    res = g.connect(("email", "e"), ("crm", "b"), "r", "s", 1.0)
    assert res.refused and res.profile == 0 and g.refused_by_rule == {"r": 1}
    limits = GraphLimits()
    assert limits.max_per_namespace == {} and limits.max_identities is None
    assert limits.on_exceed == "delete_oldest" and limits.deletion_tiers == {}


def test_dense_identifiers_at_the_edges_of_their_array():
    g = IdentityGraph(dense={"cookie": 2, "device": 0})
    assert g.add_node(("cookie", 0)) == 0 and g.profile_of("cookie", 0) == 0
    assert g.add_node(("cookie", 1)) == 1 and g.profile_of("cookie", -1) is None
    assert g.profile_of("cookie", 2) is None
    assert g.add_node(("cookie", 2)) == 2  # one past the end: the array grows
    assert g.profile_of("cookie", 2) == 2 and g.profile_of("cookie", 3) is None
    assert g.add_node(("cookie", 10)) == 3 and g.profile_of("cookie", 10) == 3
    assert [g.profile_of("cookie", k) for k in range(3, 10)] == [None] * 7
    assert g.add_node(("device", 0)) == 4 and g.profile_of("device", 0) == 4  # size 0 holds one
    assert g.resolve_dense("device", np.array([1, 0])).tolist() == [5, 4]


def test_resolving_dense_identifiers_at_the_end_of_the_array():
    g = IdentityGraph(dense={"cookie": 2})
    assert g.resolve_dense("cookie", np.array([2])).tolist() == [0]
    assert g.resolve_dense("cookie", np.array([1, 2, 1])).tolist() == [1, 0, 1]
    assert g.resolve_dense("cookie", np.array([], dtype=np.int64)).tolist() == []
    assert g.identifiers(0) == [] and g.nodes(0) == []  # never linked: not listed
    assert g.profiles_created == 2 and g.unified_profiles() == 2 and g.linked_profiles() == 0


def test_merged_dense_profiles_resolve_to_their_survivor_through_chains():
    g = IdentityGraph(dense={"cookie": 8})
    assert g.resolve_dense("cookie", np.arange(4)).tolist() == [0, 1, 2, 3]
    g.connect(("cookie", 2), ("cookie", 3), "r", "s", 0.0)  # 3 -> 2
    g.connect(("cookie", 1), ("cookie", 2), "r", "s", 1.0)  # 2 -> 1
    g.connect(("cookie", 0), ("cookie", 1), "r", "s", 2.0)  # 1 -> 0
    assert g.resolve_dense("cookie", np.array([3, 2, 1, 0])).tolist() == [0, 0, 0, 0]
    assert [g.profile_of("cookie", k) for k in range(4)] == [0, 0, 0, 0]
    assert sorted(g.identifiers(3)) == [("cookie", k) for k in range(4)]
    assert g.merges == 3 and g.unified_profiles() == 1


def test_profile_ids_past_the_first_thousand():
    g = IdentityGraph()
    ids = [g.add_node(("email", k)) for k in range(1500)]
    assert ids == list(range(1500))
    res = g.connect(("email", 1400), ("email", 1300), "r", "s", 0.0)
    assert res.merges == [Merge(1300, 1400, 0.0, "r")]
    g.connect(("email", 1300), ("email", 1200), "r", "s", 0.0)
    assert g.profile_of("email", 1400) == 1200 and g.add_node(("email", "new")) == 1500
    d = IdentityGraph(dense={"cookie": 1})
    d.add_node(("email", "x"))
    assert d.resolve_dense("cookie", np.arange(2000))[[0, 1999]].tolist() == [1, 2000]
    assert d.resolve_dense("cookie", np.arange(2000, 2100))[-1] == 2100
    assert d.add_node(("email", "y")) == 2101


def test_a_refused_link_changes_nothing():
    g = IdentityGraph()
    g.connect(("email", "e"), ("contact_id", "c1"), "crm", "crm", 0.0)
    res = g.connect(("email", "e"), ("contact_id", "c2"), "crm", "crm", 1.0)  # c2 is new
    assert res.refused and res.profile == 0 and res.merges == []
    assert g.profile_of("contact_id", "c2") is None and g.links_by_rule == {"crm": 1}
    assert g.refused == 1 and sorted(g.identifiers(0)) == [("contact_id", "c1"), ("email", "e")]
    g.connect(("record", 1), ("contact_id", "c1"), "same", "crm", 2.0)  # the same value: fine
    assert g.profile_of("record", 1) == 0 and g.links_by_rule == {"crm": 1, "same": 1}


def test_two_values_fit_a_limit_of_two_and_a_third_does_not():
    g = IdentityGraph(limits=GraphLimits(max_per_namespace={"phone": 2}))
    g.connect(("record", 1), ("phone", "a"), "r", "s", 0.0)
    g.connect(("record", 2), ("phone", "b"), "r", "s", 0.0)
    assert not g.connect(("record", 1), ("record", 2), "r", "s", 1.0).refused  # a + b
    g.connect(("record", 3), ("phone", "c"), "r", "s", 0.0)
    res = g.connect(("record", 3), ("record", 1), "r", "s", 2.0)
    assert res.refused and res.profile == 0 and g.refused_by_rule == {"r": 1}
    assert not g.connect(("record", 3), ("email", "x"), "r", "s", 3.0).refused


def test_refuse_counts_identities_of_both_profiles_after_merges():
    g = IdentityGraph(limits=GraphLimits(max_identities=4, on_exceed="refuse"))
    g.connect(("email", "a"), ("email", "b"), "r", "s", 0.0)
    g.connect(("email", "c"), ("record", 1), "r", "s", 0.0)
    assert not g.connect(("email", "a"), ("email", "c"), "r", "s", 1.0).refused  # 2 + 1 = 3
    assert not g.connect(("email", "d"), ("email", "a"), "r", "s", 2.0).refused  # 1 + 3 = 4
    assert g.connect(("email", "a"), ("email", "e"), "r", "s", 3.0).refused       # 4 + 1 > 4
    assert g.connect(("email", "f"), ("email", "a"), "r", "s", 4.0).refused       # 1 + 4 > 4
    assert g.connect(("email", "a"), ("record", 2), "r", "s", 5.0).refused is False
    open_ = IdentityGraph(limits=GraphLimits(max_identities=1))  # delete_oldest: never refused
    assert not open_.connect(("email", "a"), ("email", "b"), "r", "s", 0.0).refused


def test_a_merge_past_the_cap_deletes_several_oldest_at_once():
    g = IdentityGraph(limits=GraphLimits(max_identities=2))
    g.connect(("email", "a"), ("email", "b"), "r", "s", 0.0)
    g.connect(("email", "c"), ("email", "d"), "r", "s", 1.0)
    res = g.connect(("email", "a"), ("email", "d"), "r", "s", 2.0)
    assert res.merges == [Merge(0, 1, 2.0, "r")]
    assert res.evicted == [("email", "a"), ("email", "b")] and g.evicted == 2
    assert [g.profile_of("email", k) for k in "abcd"] == [None, None, 0, 0]
    assert res.splits == [] and g.unified_profiles() == 1
    again = g.add_node(("email", "a"), 9.0)  # seen again after deletion: a new node
    assert again == 2 and g.profile_of("email", "a") == 2


def test_every_part_a_deletion_cuts_off_becomes_a_profile_with_its_own_limits():
    g = IdentityGraph(limits=GraphLimits(max_identities=3, max_per_namespace={"contact_id": 1}))
    g.connect(("email", "hub"), ("record", 1), "r", "s", 0.0)
    g.connect(("email", "hub"), ("record", 2), "r", "s", 0.0)
    g.connect(("record", 1), ("contact_id", "c1"), "r", "s", 1.0)
    g.connect(("record", 2), ("phone", "p"), "r", "s", 2.0)
    res = g.connect(("email", "hub"), ("phone", "new"), "r", "s", 3.0)  # 4 > 3: hub goes
    assert res.evicted == [("email", "hub")] and res.profile == 0
    assert res.splits == [Split(0, 1, 3.0), Split(0, 2, 3.0)] or res.splits == [Split(0, 2, 3.0), Split(0, 1, 3.0)]
    c1, p = g.profile_of("contact_id", "c1"), g.profile_of("phone", "p")
    assert {c1, p} == {1, 2} and g.profile_of("phone", "new") == 0
    assert g.splits == 2 and g.unified_profiles() == 3
    assert sorted(g.nodes(c1)) == [("contact_id", "c1"), ("record", 1)]
    assert g.identifiers(c1) == [("contact_id", "c1")] and g.identifiers(0) == [("phone", "new")]
    # the part holding c1 keeps the one-contact-id limit; the newest link's part lost it
    assert g.connect(("record", 1), ("contact_id", "c2"), "r", "s", 4.0).refused
    assert not g.connect(("phone", "new"), ("contact_id", "c3"), "r", "s", 5.0).refused
    # identities are counted per part: the c1 part holds 1 of 3
    assert g.connect(("record", 1), ("email", "x"), "r", "s", 6.0).evicted == []
    assert g.connect(("record", 1), ("email", "y"), "r", "s", 7.0).evicted == []
    assert g.connect(("record", 1), ("email", "z"), "r", "s", 8.0).evicted == [("contact_id", "c1")]


def test_the_explanation_is_the_chain_of_links_with_their_labels():
    g = IdentityGraph()
    g.connect(("email", "a"), ("record", 1), "exact", "crm", 1.0, score=0.9)
    g.connect(("record", 1), ("cookie", 5), "login", "web", 2.0)
    chain = g.explain(("email", "a"), ("cookie", 5))
    assert chain == [
        {"from": ("email", "a"), "to": ("record", 1), "rule": "exact", "source": "crm", "t": 1.0, "score": 0.9},
        {"from": ("record", 1), "to": ("cookie", 5), "rule": "login", "source": "web", "t": 2.0},
    ]
    assert g.explain(("email", "nobody"), ("email", "nobody")) == []
    assert g.explain(("email", "a"), ("email", "nobody")) == []
    assert g.explain(("email", "nobody"), ("email", "a")) == []
    assert g.nodes(0) == [("email", "a"), ("record", 1), ("cookie", 5)]
    listed = g.nodes(0)
    listed.clear()
    assert len(g.nodes(0)) == 3
    assert g.identifiers(0, "cookie") == [("cookie", 5)] and g.identifiers(0, "phone") == []
    g.add_node(("email", "alone"))
    assert g.linked_profiles() == 1 and g.unified_profiles() == 2


def test_an_event_links_every_identifier_to_the_oldest_profiles_one():
    g = IdentityGraph()
    g.add_node(("email", "old"))
    g.add_node(("email", "new"))
    g.link([("email", "new"), ("cookie", 9), ("email", "old")], "login", "web", 1.0)
    chain = g.explain(("cookie", 9), ("email", "old"))
    assert chain == [{"from": ("cookie", 9), "to": ("email", "old"), "rule": "login", "source": "web", "t": 1.0}]
    assert len(g.explain(("cookie", 9), ("email", "new"))) == 2
    solo = g.link([("email", "solo")], "r", "s", 2.0)  # one identifier: a profile of its own
    assert solo.profile == 2 and g.profile_of("email", "solo") == 2  # profiles 0 and 1 exist


def test_the_anchor_of_an_event_is_first_seen_at_the_event_time():
    g = IdentityGraph(limits=GraphLimits(max_identities=3))
    g.connect(("email", "a"), ("email", "b"), "r", "s", 1.0)
    g.link([("email", "c"), ("email", "d")], "r", "s", 5.0)
    res = g.connect(("email", "c"), ("email", "b"), "r", "s", 6.0)  # 4 > 3: the oldest, a, goes
    assert res.evicted == [("email", "a")]


def test_refusals_are_counted_per_rule():
    g = IdentityGraph()
    g.connect(("email", "e"), ("contact_id", "c1"), "r", "s", 0.0)
    g.connect(("email", "e"), ("contact_id", "c2"), "r", "s", 1.0)
    g.connect(("email", "e"), ("contact_id", "c3"), "r", "s", 2.0)
    g.connect(("email", "e"), ("contact_id", "c4"), "q", "s", 3.0)
    assert g.refused_by_rule == {"r": 2, "q": 1} and g.refused == 3


def test_a_profile_without_identities_absorbs_one_with_identities():
    g = IdentityGraph(limits=GraphLimits(max_identities=1))
    g.connect(("record", 1), ("key:name", "x"), "r", "s", 0.0)  # profile 0: no identity
    g.add_node(("email", "e"), 1.0)  # profile 1
    res = g.connect(("record", 1), ("email", "e"), "r", "s", 2.0)
    assert res.merges == [Merge(0, 1, 2.0, "r")] and res.evicted == []
    assert g.identifiers(0) == [("email", "e")]
    res = g.connect(("record", 1), ("email", "f"), "r", "s", 3.0)  # 2 > 1: e goes
    assert res.evicted == [("email", "e")] and g.evicted == 1


def test_a_deletion_leaves_other_profiles_alone():
    g = IdentityGraph(limits=GraphLimits(max_identities=2))
    g.connect(("email", "x"), ("email", "y"), "r", "s", 0.0)  # profile 0: a bystander
    g.connect(("email", "a"), ("email", "b"), "r", "s", 1.0)
    res = g.connect(("email", "b"), ("email", "c"), "r", "s", 2.0)  # a goes; b - c stay linked
    assert res.evicted == [("email", "a")] and res.splits == [] and g.splits == 0
    assert [g.profile_of("email", k) for k in "xybc"] == [0, 0, 1, 1] and g.unified_profiles() == 2
    res = g.connect(("email", "x"), ("email", "z"), "r", "s", 3.0)
    assert res.evicted == [("email", "x")] and res.splits == [Split(0, 2, 3.0)] and g.evicted == 2
    assert g.linked_profiles() == 1  # {b, c}; {z} and {y} have one node each
    assert sorted(g.nodes(0)) == [("email", "z")] and g.nodes(2) == [("email", "y")]


def test_a_split_off_part_keeps_its_values_of_a_limited_namespace():
    g = IdentityGraph(limits=GraphLimits(max_identities=3, max_per_namespace={"contact_id": 2}))
    g.connect(("email", "hub"), ("record", 1), "r", "s", 0.0)
    g.connect(("record", 1), ("contact_id", "c1"), "r", "s", 1.0)
    g.connect(("record", 1), ("contact_id", "c2"), "r", "s", 2.0)
    res = g.connect(("email", "hub"), ("phone", "p"), "r", "s", 3.0)
    assert res.evicted == [("email", "hub")] and res.splits == [Split(0, 1, 3.0)]
    assert g.connect(("record", 1), ("contact_id", "c3"), "r", "s", 4.0).refused  # c1, c2 and c3 > 2
    assert not g.connect(("phone", "p"), ("contact_id", "c3"), "r", "s", 5.0).refused


def test_identities_are_counted_after_a_profile_without_identities_absorbs_one():
    g = IdentityGraph(limits=GraphLimits(max_identities=2, on_exceed="refuse"))
    g.connect(("record", 1), ("key:name", "x"), "r", "s", 0.0)  # profile 0: no identity
    g.add_node(("email", "e"), 1.0)
    g.connect(("record", 1), ("email", "e"), "r", "s", 2.0)  # 0 + 1 identities
    assert not g.connect(("record", 1), ("email", "f"), "r", "s", 3.0).refused  # 1 + 1 = 2
    assert g.connect(("record", 1), ("email", "h"), "r", "s", 4.0).refused  # 2 + 1 > 2


def test_a_new_node_is_first_seen_at_the_link_time():
    g = IdentityGraph(limits=GraphLimits(max_identities=3))
    g.connect(("email", "x"), ("email", "y"), "r", "s", 1.0)
    g.connect(("email", "c"), ("email", "d"), "r", "s", 5.0)
    res = g.connect(("email", "d"), ("email", "y"), "r", "s", 6.0)  # 4 > 3: the oldest, x, goes
    assert res.evicted == [("email", "x")]


def test_a_dense_singleton_joins_at_the_link_time():
    g = IdentityGraph(dense={"cookie": 4}, limits=GraphLimits(max_identities=2))
    g.resolve_dense("cookie", np.array([1]))
    g.connect(("email", "a"), ("email", "b"), "r", "s", 1.0)
    g.connect(("email", "b"), ("cookie", 1), "r", "s", 2.0)  # 3 > 2: a goes
    res = g.connect(("cookie", 1), ("email", "c"), "r", "s", 3.0)  # b (1.0) before cookie 1 (2.0)
    assert res.evicted == [("email", "b")] and g.profile_of("cookie", 1) == g.profile_of("email", "c")


def test_refuse_counts_a_profile_without_identities_as_none():
    g = IdentityGraph(limits=GraphLimits(max_identities=1, on_exceed="refuse"))
    g.add_node(("email", "e"))
    g.connect(("record", 1), ("key:name", "x"), "r", "s", 0.0)
    assert not g.connect(("email", "e"), ("record", 1), "r", "s", 1.0).refused  # 1 + 0 = 1


def test_order_of_sight_breaks_ties_of_time_after_the_first_node():
    g = IdentityGraph(limits=GraphLimits(max_identities=2))
    g.add_node(("email", "first"))
    g.link([("email", "b"), ("email", "a")], "r", "s", 0.0)  # b is seen before a
    res = g.connect(("email", "a"), ("email", "c"), "r", "s", 0.0)
    assert res.evicted == [("email", "b")]


def test_a_dense_singleton_added_as_a_node_is_first_seen_then():
    g = IdentityGraph(dense={"cookie": 4}, limits=GraphLimits(max_identities=2))
    g.resolve_dense("cookie", np.array([1]))
    g.add_node(("cookie", 1), 2.0)
    g.connect(("email", "a"), ("email", "b"), "r", "s", 1.0)
    res = g.connect(("email", "b"), ("cookie", 1), "r", "s", 3.0)  # 3 > 2: a (1.0) goes
    assert res.evicted == [("email", "a")]
