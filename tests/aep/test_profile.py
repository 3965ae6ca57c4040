"""Real-Time Customer Profile: the shared identity graph with AEP's limits, and merge policies."""

import re

import pytest

from sim.domain.aep.mappings import XdmRecord
from sim.domain.aep.problems import AepError
from sim.domain.aep.profile import (
    AEP_LIMITS,
    MergePolicy,
    RealTimeProfile,
    aep_limits,
    check_merge_policies,
    identity_value_problem,
)
from sim.domain.identity.graph import GraphLimits, IdentityGraph


def rec(identities, ts=None, **fields):
    data = {}
    for path, v in fields.items():
        node = data
        *parents, leaf = path.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = v
    return XdmRecord(data, list(identities), ts)


def test_the_profile_uses_the_shared_identity_graph_with_aep_limits():
    profile = RealTimeProfile()
    assert isinstance(profile.graph, IdentityGraph)
    assert AEP_LIMITS.max_identities == 50 and AEP_LIMITS.on_exceed == "delete_oldest"
    assert AEP_LIMITS.max_per_namespace == {} and AEP_LIMITS.deletion_tiers["ECID"] < AEP_LIMITS.deletion_tiers["IDFA"]


def test_records_sharing_an_identity_merge_into_one_profile():
    profile = RealTimeProfile()
    profile.ingest([rec([("Email", "ann@x.com")], person__name__firstName="Ann")], "crm", t=10)
    e1 = "1" * 38
    profile.ingest([rec([("ECID", e1)], web__page="pricing")], "web", t=20)
    assert profile.profile_id("Email", "ann@x.com") != profile.profile_id("ECID", e1)
    stats = profile.ingest([rec([("ECID", e1), ("Email", "ann@x.com")])], "web", t=30)  # a login
    assert stats.merges == 1 and stats.accepted == 1
    assert profile.profile_id("Email", "ann@x.com") == profile.profile_id("ECID", e1)
    assert profile.profile("ECID", e1) == {"person": {"name": {"firstName": "Ann"}}, "web": {"page": "pricing"}}


def test_timestamp_ordered_and_dataset_precedence_pick_different_values_from_the_same_fragments():
    profile = RealTimeProfile()
    profile.ingest([rec([("Email", "a@x.com")], ts=100, loyalty__tier="gold", person__name__lastName="Lee")], "crm",
                   t=500)
    profile.ingest([rec([("Email", "a@x.com")], ts=200, loyalty__tier="silver")], "sfmc", t=400)
    newest = profile.attributes("Email", "a@x.com", MergePolicy("timestamp_ordered"))
    crm_first = profile.attributes("Email", "a@x.com", MergePolicy("dataset_precedence", ("crm", "sfmc")))
    sfmc_first = profile.attributes("Email", "a@x.com", MergePolicy("dataset_precedence", ("sfmc",)))
    assert newest == {"loyalty.tier": "silver", "person.name.lastName": "Lee"}  # record time 200 > 100
    assert crm_first == {"loyalty.tier": "gold", "person.name.lastName": "Lee"}
    assert sfmc_first == {"loyalty.tier": "silver", "person.name.lastName": "Lee"}  # unlisted crm comes after


def test_timestamp_ties_go_to_the_later_ingestion_and_ingestion_time_stands_in_for_a_missing_timestamp():
    profile = RealTimeProfile()
    profile.ingest([rec([("Email", "a@x.com")], ts=100, loyalty__tier="gold")], "a", t=1)
    profile.ingest([rec([("Email", "a@x.com")], ts=100, loyalty__tier="silver")], "b", t=2)
    assert profile.attributes("Email", "a@x.com")["loyalty.tier"] == "silver"
    profile.ingest([rec([("Email", "a@x.com")], loyalty__tier="bronze")], "c", t=99)  # stamped 99 < 100
    assert profile.attributes("Email", "a@x.com")["loyalty.tier"] == "silver"


def test_a_newer_record_of_a_dataset_replaces_only_the_values_it_carries():
    profile = RealTimeProfile()
    profile.ingest([rec([("Email", "a@x.com")], ts=1, person__name__firstName="Ann", loyalty__tier="gold")], "crm", t=1)
    profile.ingest([rec([("Email", "a@x.com")], ts=2, loyalty__tier="silver")], "crm", t=2)
    assert len(profile.fragments("Email", "a@x.com")) == 1  # upserted: one fragment per (dataset, identity)
    assert profile.attributes("Email", "a@x.com") == {"loyalty.tier": "silver", "person.name.firstName": "Ann"}


def test_records_without_identity_or_with_more_than_20_are_refused_and_counted():
    profile = RealTimeProfile()
    twenty = [("CRMID", str(i)) for i in range(20)]
    stats = profile.ingest([rec([]), rec(twenty), rec([*twenty, ("CRMID", "x")])], "d", t=1)
    assert (stats.records, stats.accepted, stats.no_identity, stats.too_many_identities) == (3, 1, 1, 1)


def ecid(i: int) -> str:
    return f"{i:038d}"


def test_the_graph_holds_50_identities_and_deletes_the_oldest_cookie_first():
    profile = RealTimeProfile()
    for i in range(49):  # one person, one new browser (ECID) per day, linked by the CRM id
        profile.ingest([rec([("CRMID", "p1"), ("ECID", ecid(i))])], "web", t=float(i))
    ids = profile.identities("CRMID", "p1")
    assert len(ids) == 50 and profile.graph.evicted == 0  # exactly 50: nothing deleted
    stats = profile.ingest([rec([("CRMID", "p1"), ("ECID", ecid(49))])], "web", t=49.0)
    ids = profile.identities("CRMID", "p1")
    assert len(ids) == 50 and stats.evicted == 1 and stats.splits == 0
    assert ("ECID", ecid(0)) not in ids and ("ECID", ecid(49)) in ids and ("CRMID", "p1") in ids
    assert profile.profile_id("ECID", ecid(0)) is None


def test_without_the_type_order_the_oldest_identity_the_crm_hub_would_go_and_split_the_graph():
    """Why the deletion goes by identity type: age alone deletes the CRM id (seen first), and the
    star of browsers around it falls apart."""
    plain = RealTimeProfile(limits=GraphLimits(max_identities=50, on_exceed="delete_oldest", max_per_namespace={}))
    for i in range(50):
        plain.ingest([rec([("CRMID", "p1"), ("ECID", ecid(i))])], "web", t=float(i))
    assert plain.profile_id("CRMID", "p1") is None and plain.graph.splits == 49


def test_deletion_goes_by_type_before_age():
    profile = RealTimeProfile(limits=aep_limits({"Loyalty": "device"}))
    profile.ingest([rec([("Email", "a@x.com"), ("Loyalty", "L1"), ("IDFA", "i1")])], "crm", t=0)
    for i in range(47):
        profile.ingest([rec([("Email", "a@x.com"), ("ECID", ecid(i))])], "web", t=10.0 + i)
    assert len(profile.identities("Email", "a@x.com")) == 50
    def add_phone(n):
        profile.ingest([rec([("Email", "a@x.com"), ("Phone", f"+33{n:09d}")])], "crm", t=100.0 + n)
    add_phone(0)  # the 51st identity
    assert profile.profile_id("ECID", ecid(0)) is None  # the oldest cookie, not the older e-mail or device ids
    for n in range(1, 47):
        add_phone(n)
    left = {ns for ns, _ in profile.identities("Email", "a@x.com")}
    assert left == {"Email", "Loyalty", "IDFA", "Phone"}  # every cookie went before any device id
    add_phone(47)  # then devices, oldest first: Loyalty (typed device here) was seen before IDFA
    left = {ns for ns, _ in profile.identities("Email", "a@x.com")}
    assert left == {"Email", "IDFA", "Phone"} and len(profile.identities("Email", "a@x.com")) == 50
    with pytest.raises(AepError, match=re.escape("identity_types.X")):
        aep_limits({"X": "person"})


def test_identity_values_are_validated_like_identity_service():
    assert identity_value_problem("ECID", ecid(7)) is None
    assert identity_value_problem("ECID", "1" * 37) and identity_value_problem("ECID", "a" * 38)
    assert identity_value_problem("Email", "x" * 1024) is None and identity_value_problem("Email", "x" * 1025)
    assert identity_value_problem("Email", "null") and identity_value_problem("CRMID", "  ")
    profile = RealTimeProfile()
    stats = profile.ingest([rec([("ECID", "42"), ("Email", "a@x.com")]),  # a bad ECID skips the record
                            rec([("Email", "anonymous"), ("CRMID", "c1")])], "d", t=1)  # a blocked value is dropped
    assert (stats.invalid_ecid, stats.blocked_identities, stats.accepted) == (1, 1, 1)
    assert profile.identities("CRMID", "c1") == [("CRMID", "c1")] and profile.profile_id("Email", "a@x.com") is None


def test_a_fragment_survives_the_deletion_of_its_primary_identity():
    profile = RealTimeProfile()
    profile.ingest([rec([("ECID", ecid(999)), ("CRMID", "p1")], loyalty__tier="gold")], "crm", t=0)
    for i in range(49):
        profile.ingest([rec([("CRMID", "p1"), ("ECID", ecid(i))])], "web", t=1.0 + i)
    assert profile.profile_id("ECID", ecid(999)) is None  # 51 identities: the oldest cookie, the primary, deleted
    assert profile.attributes("CRMID", "p1") == {"loyalty.tier": "gold"}


def test_merge_policy_rules():
    with pytest.raises(AepError, match="kind: 'newest' is not a merge policy"):
        MergePolicy("newest")
    with pytest.raises(AepError, match="dataset_order"):
        MergePolicy("dataset_precedence")
    five = [MergePolicy(name=f"p{i}") for i in range(5)]
    assert check_merge_policies(five) == []
    assert [str(p) for p in check_merge_policies([*five, MergePolicy(name="p5")])] == \
        ["mergePolicies: 6 merge policies; at most 5 per organisation"]
    assert [str(p) for p in check_merge_policies([MergePolicy(name="a"), MergePolicy(name="a")])] == \
        ["mergePolicies: name 'a' is used twice"]
