import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.identity import IdentityGraph


def test_login_merges_anonymous_cookie_into_the_older_crm_profile():
    g = IdentityGraph(dense={"cookie": 10, "email": 5, "contact_id": 5})
    crm = g.link([("contact_id", 1), ("email", 1)], "crm_contact", "crm", 0.0).profile
    cookie = int(g.resolve_dense("cookie", np.array([7]))[0])
    assert cookie != crm
    res = g.link([("cookie", 7), ("email", 1)], "login", "web", 50.0)
    assert res.profile == crm == min(crm, cookie)
    assert [(m.survivor, m.absorbed) for m in res.merges] == [(crm, cookie)]
    assert g.profile_of("cookie", 7) == crm
    assert g.resolve_dense("cookie", np.array([7])).tolist() == [crm]


def test_a_link_joining_two_contact_ids_is_refused_and_counted():
    g = IdentityGraph(dense={"cookie": 10, "email": 5, "contact_id": 5})
    g.link([("contact_id", 1), ("email", 1)], "crm_contact", "crm", 0.0)
    g.link([("contact_id", 2), ("email", 2)], "crm_contact", "crm", 0.0)
    g.link([("cookie", 3), ("email", 1)], "login", "web", 1.0)
    res = g.link([("cookie", 3), ("email", 2)], "login", "web", 2.0)  # shared device, other person
    assert res.refused and g.refused == 1
    assert g.profile_of("email", 1) != g.profile_of("email", 2)


def test_explain_gives_the_path_of_links_and_rules():
    g = IdentityGraph(dense={"cookie": 10, "email": 5, "contact_id": 5})
    g.link([("contact_id", 1), ("email", 1)], "crm_contact", "crm", 0.0)
    g.link([("cookie", 3), ("email", 1)], "login", "web", 5.0)
    path = g.explain(("cookie", 3), ("contact_id", 1))
    assert [(p["from"], p["to"], p["rule"]) for p in path] == [
        (("cookie", 3), ("email", 1), "login"), (("email", 1), ("contact_id", 1), "crm_contact")]
    assert g.explain(("cookie", 3), ("cookie", 4)) == []


def test_new_cookies_get_profiles_in_order_of_first_sight():
    g = IdentityGraph(dense={"cookie": 4})
    assert g.resolve_dense("cookie", np.array([9, 2, 9, 5])).tolist() == [0, 1, 0, 2]


@settings(max_examples=100, deadline=None)
@given(links=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), max_size=25), seed=st.integers(0, 1000))
def test_profiles_are_connected_components_whatever_the_order(links, seed):
    """Without limits, the partition equals the graph's components, independent of input order."""
    order = np.random.default_rng(seed).permutation(len(links))

    def partition(seq):
        g = IdentityGraph(dense={"cookie": 16}, unique_namespaces=())
        for a, b in seq:
            g.link([("cookie", a), ("cookie", b)], "r", "s", 0.0)
        groups = {}
        for c in range(16):
            p = g.profile_of("cookie", c)
            if p is not None:
                groups.setdefault(p, set()).add(c)
        return sorted(sorted(v) for v in groups.values())

    assert partition(links) == partition([links[i] for i in order])
    # oracle: union-find over the same pairs
    parent = list(range(16))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    seen = set()
    for a, b in links:
        seen |= {a, b}
        parent[find(a)] = find(b)
    comps = {}
    for c in seen:
        comps.setdefault(find(c), set()).add(c)
    assert partition(links) == sorted(sorted(v) for v in comps.values())


def test_a_record_of_new_identifiers_makes_one_profile_without_merging():
    g = IdentityGraph(dense={"email": 5, "contact_id": 5})
    res = g.link([("contact_id", 1), ("email", 1)], "crm_contact", "crm", 0.0)
    assert res.merges == [] and g.merges == 0 and g.profiles_created == 1
    assert g.profile_of("email", 1) == g.profile_of("contact_id", 1) == res.profile


def test_a_second_contact_id_cannot_join_a_profile_that_has_one():
    g = IdentityGraph(dense={"cookie": 5, "email": 5, "contact_id": 5})
    g.link([("contact_id", 1), ("email", 1)], "crm_contact", "crm", 0.0)
    res = g.link([("email", 1), ("contact_id", 2)], "crm_contact", "crm", 1.0)
    assert res.refused and g.profile_of("contact_id", 2) is None
