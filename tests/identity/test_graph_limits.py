from sim.domain.identity import GraphLimits, IdentityGraph


def test_delete_oldest_keeps_the_profile_within_the_limit_and_splits_what_it_cut_off():
    g = IdentityGraph(limits=GraphLimits(max_identities=3, on_exceed="delete_oldest"))
    # a chain: e1 - c1 - c2 - c3 ; the 4th identity pushes out the oldest (e1)
    g.link([("email", "e1"), ("cookie", 1)], "login", "web", 1.0)
    g.link([("cookie", 1), ("cookie", 2)], "device", "web", 2.0)
    res = g.link([("cookie", 2), ("cookie", 3)], "device", "web", 3.0)
    assert res.evicted == [("email", "e1")]
    assert g.profile_of("email", "e1") is None
    assert len(g.identifiers(g.profile_of("cookie", 3))) == 3
    assert g.evicted == 1


def test_deleting_a_bridge_identity_splits_the_profile():
    g = IdentityGraph(limits=GraphLimits(max_identities=3))
    # records r1 and r2 hang on e-mail "hub" (the oldest identity); r2 also has a phone
    g.connect(("record", "r1"), ("email", "hub"), "namespace:email", "crm", 0.0)
    g.connect(("record", "r2"), ("email", "hub"), "namespace:email", "crm", 1.0)
    g.connect(("record", "r2"), ("phone", "p2"), "namespace:phone", "crm", 1.0)
    g.connect(("record", "r1"), ("phone", "p1"), "namespace:phone", "crm", 2.0)
    assert g.profile_of("record", "r1") == g.profile_of("record", "r2")
    res = g.connect(("record", "r2"), ("phone", "p3"), "namespace:phone", "crm", 3.0)
    assert res.evicted == [("email", "hub")]
    assert len(res.splits) == 1
    assert g.profile_of("record", "r1") != g.profile_of("record", "r2")
    assert g.profile_of("record", "r2") == res.profile  # the newest link keeps the profile id
    assert g.profile_of("phone", "p1") == g.profile_of("record", "r1") == res.splits[0].new


def test_refuse_policy_refuses_a_link_that_would_exceed_the_limit():
    g = IdentityGraph(limits=GraphLimits(max_identities=2, on_exceed="refuse"))
    g.link([("email", "a"), ("cookie", 1)], "login", "web", 0.0)
    res = g.link([("cookie", 1), ("cookie", 2)], "device", "web", 1.0)
    assert res.refused and g.refused == 1 and g.refused_by_rule == {"device": 1}
    assert g.profile_of("cookie", 2) is None  # nothing of the refused link was applied


def test_at_most_n_values_of_a_namespace_per_profile():
    g = IdentityGraph(limits=GraphLimits(max_per_namespace={"contact_id": 1, "email": 2}))
    g.link([("contact_id", "c1"), ("email", "a")], "crm", "crm", 0.0)
    assert not g.link([("contact_id", "c1"), ("email", "b")], "crm", "crm", 1.0).refused
    assert g.link([("contact_id", "c1"), ("email", "c")], "crm", "crm", 2.0).refused  # a third e-mail
    g.link([("contact_id", "c2"), ("email", "d")], "crm", "crm", 3.0)
    res = g.link([("email", "d"), ("email", "a")], "login", "web", 4.0)  # would join c1 and c2
    assert res.refused
    assert g.profile_of("email", "d") != g.profile_of("email", "a")
    assert g.refused == 2
