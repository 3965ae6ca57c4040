"""Edges of the resolver (sim.domain.identity.resolver), each checked on a few hand-made records with
the expected profiles, links and counts worked out by hand (the module docstring's rules):

* the missing-field check, the blocking keys of a fuzzy rule (own keys, exact criteria, the rule
  set's keys), identifier and rule-key nodes, blanks, ``match_on_blank``;
* the per-record identity limit exactly at and one past its value (rule keys do not count);
* blocks exactly at ``max_block_size`` and one past it, blank blocking values, candidate counts,
  "the first rule wins", the lowest criterion similarity as the link's score;
* the canonical order (record time then rec_id, a missing time is 0) for profile ids, and the batch
  :func:`resolve` against :meth:`Resolver.add` on the same records;
* the vectorised helpers (``_block_pairs``, ``_codes``, ``normalize_column``) against brute force.

Similarities used as expected values are textbook ones: Jaro("martha", "marhta") = (1 + 1 + 5/6) / 3
= 0.9444, Jaro-Winkler adds 3 × 0.1 × (1 − 0.9444) for the common prefix "mar": 0.9611.
"""

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.domain.identity import Resolver, RuleSet, Stats, parse_rules, resolve
from sim.domain.identity.resolver import _block_pairs, _codes, _sorted_unique, canonical_order, normalize_column

JW_MARTHA = 0.9611  # Jaro-Winkler("martha", "marhta") to 4 decimals (module docstring)


def groups(ids, profiles) -> list[tuple]:
    """The partition as sorted tuples of record ids (independent of the profile numbers)."""
    out: dict = {}
    for rec, p in zip(ids, profiles):
        out.setdefault(int(p), []).append(str(rec))
    return sorted(tuple(sorted(g)) for g in out.values())


def incremental(rows: list[dict], rules) -> Resolver:
    """Records added one by one in the canonical order, sorted here by hand: (time, rec_id)."""
    inc = Resolver(rules)
    for row in sorted(rows, key=lambda r: (r.get("_t", 0.0), r["rec_id"])):
        inc.add(row["rec_id"], row, source=row.get("_source", "input"), t=row.get("_t", 0.0))
    return inc


def both(rows: list[dict], rules) -> tuple[Resolver, np.ndarray, Resolver]:
    """Batch resolution of the rows, and the same rows added incrementally."""
    batch, prof = resolve(pd.DataFrame(rows), rules)
    return batch, prof, incremental(rows, rules)


def inc_groups(inc: Resolver) -> list[tuple]:
    return groups(inc.ids, [inc.profile_of(r) for r in inc.ids])


def steps(res: Resolver, a: str, b: str) -> list[tuple]:
    return [(s["from"], s["to"], s["rule"]) for s in res.explain(a, b)]


# -- the rule set against the input ----------------------------------------------------------------
RULES_ZIP = parse_rules({"namespaces": {"email": "email"},
                         "match_rules": [{"name": "z", "criteria": [{"field": "zip", "method": "exact"},
                                                                    {"field": "city", "method": "normalized"}]}]})


def test_rules_using_fields_the_input_lacks_are_refused_naming_both_lists():
    with pytest.raises(ValueError) as err:
        Resolver(RULES_ZIP, ["rec_id", "email", "city"])
    assert str(err.value) == "the rules use fields the input does not have: zip; input fields: rec_id, email, city"
    with pytest.raises(ValueError) as err:
        Resolver(RULES_ZIP, ["rec_id"])
    assert str(err.value).startswith("the rules use fields the input does not have: email, zip, city; ")
    assert Resolver(RULES_ZIP, ["rec_id", "email", "zip", "city"]).ids == []  # every field there: fine
    assert Resolver(RULES_ZIP).ids == []  # no field list: nothing to check


def test_batch_input_fields_leave_out_the_source_and_time_columns():
    frame = pd.DataFrame({"rec_id": ["a"], "_source": ["crm"], "_t": [1.0], "email": ["a@x.io"], "city": ["x"]})
    with pytest.raises(ValueError) as err:
        resolve(frame, RULES_ZIP)
    assert str(err.value) == "the rules use fields the input does not have: zip; input fields: rec_id, email, city"


# -- blocking keys -----------------------------------------------------------------------------------
def test_block_keys_are_the_rules_own_then_its_exact_criteria_then_the_rule_sets():
    rules = parse_rules({
        "namespaces": {"email": "email"},
        "match_rules": [
            {"name": "own", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.9}],
             "blocking": [["zip", "city"], ["email"]]},
            {"name": "exact_first", "criteria": [{"field": "zip", "method": "exact"},
                                                 {"field": "city", "method": "normalized", "normalizer": "name"},
                                                 {"field": "name", "method": "fuzzy", "threshold": 0.9}]},
            {"name": "global", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.9}]},
        ],
        "blocking": [["city"], ["zip", "name"]],
    })
    res = Resolver(rules)
    own, exact_first, global_ = rules.match_rules
    assert res.block_keys(own) == [("rule:own:zip+city", [("zip", "text"), ("city", "text")]),
                                   ("rule:own:email", [("email", "email")])]
    assert res.block_keys(exact_first) == [("rule:exact_first", [("zip", "exact"), ("city", "name")])]
    assert res.block_keys(global_) == [("blocking:city", [("city", "text")]),
                                       ("blocking:zip+name", [("zip", "text"), ("name", "text")])]
    assert res.key_rules == [] and res.fuzzy_rules == [own, exact_first, global_]


# -- identifier and key nodes ----------------------------------------------------------------------
def test_a_one_field_normalised_rule_on_a_namespace_links_through_the_identifier_itself():
    rules = parse_rules({"namespaces": {"email": "email"},
                         "match_rules": [{"name": "same_email",
                                          "criteria": [{"field": "email", "method": "normalized"}]}]})
    rows = [{"rec_id": "a", "email": " Ann@X.io"}, {"rec_id": "b", "email": "ann@x.io "}]
    batch, prof, inc = both(rows, rules)
    for res in (batch, inc):
        node = ("email", "ann@x.io")
        assert steps(res, "a", "b") == [(("record", "a"), node, "same_email"), (node, ("record", "b"), "same_email")]
        assert res.stats().links_by_rule == {"same_email": 2}  # not linked a second time as namespace:email
    assert prof[0] == prof[1]


def test_an_exact_or_multi_field_rule_links_through_a_key_node_of_its_values():
    rules = parse_rules({"namespaces": {"email": "email"}, "match_rules": [
        {"name": "raw_email", "criteria": [{"field": "email", "method": "exact"}]},
        {"name": "email_city", "criteria": [{"field": "email", "method": "normalized"},
                                            {"field": "city", "method": "normalized"}]},
    ]})
    inc = incremental([{"rec_id": "a", "email": "a@x.io", "city": "Lyon"},
                       {"rec_id": "b", "email": "a@x.io", "city": " lyon"}], rules)
    stats = inc.stats()
    assert stats.links_by_rule == {"email_city": 2, "namespace:email": 2, "raw_email": 2}
    g = inc.graph
    assert g.profile_of("key:raw_email", ("a@x.io",)) == inc.profile_of("a")
    assert g.profile_of("key:email_city", ("a@x.io", "lyon")) == inc.profile_of("a")
    assert g.profile_of("email", "a@x.io") == inc.profile_of("b")


def test_a_blank_value_breaks_a_key_rule_unless_blanks_match():
    def rules(on_blank: bool):
        return parse_rules({"match_rules": [{"name": "zip_name", "criteria": [
            {"field": "zip", "method": "exact", "match_on_blank": on_blank},
            {"field": "name", "method": "normalized"}]}]})

    rows = [{"rec_id": "a", "zip": "", "name": "Ann"}, {"rec_id": "b", "zip": " ", "name": "ann"},
            {"rec_id": "c", "zip": "75", "name": "ann"}, {"rec_id": "d", "zip": "75", "name": ""}]
    batch, prof, inc = both(rows, rules(False))
    assert groups("abcd", prof) == inc_groups(inc) == [("a",), ("b",), ("c",), ("d",)]
    # only c has both values: its record links to its own key node
    assert inc.stats().links_by_rule == batch.stats().links_by_rule == {"zip_name": 1}
    batch, prof, inc = both(rows, rules(True))
    assert groups("abcd", prof) == inc_groups(inc) == [("a", "b"), ("c",), ("d",)]
    assert inc.graph.profile_of("key:zip_name", ("", "ann")) == inc.profile_of("a")


def test_blank_and_missing_values_never_link_through_a_namespace():
    rules = parse_rules({"namespaces": {"email": "email", "crm_id": "exact"}})
    inc = Resolver(rules)
    none: Any = None  # a missing value as a reader may give it
    seven: Any = 7    # a rec_id that is not text
    inc.add("a", {"email": none, "crm_id": none})
    inc.add("b", {"email": ""})               # no crm_id at all
    inc.add("c", {})                          # nothing at all
    inc.add(seven, {"email": "no-at-sign", "crm_id": none})
    assert inc.ids == ["a", "b", "c", "7"] and inc.profile_of(seven) == inc.profile_of("7") == 3
    assert len({inc.profile_of(r) for r in "abc"}) == 3 and inc.stats().links_by_rule == {}
    batch, prof = resolve(pd.DataFrame({"rec_id": ["a", "b", "c"], "email": [None, "", "x@y"],
                                        "crm_id": [np.nan, "  ", None]}), rules)
    assert sorted(prof.tolist()) == [0, 1, 2] and batch.stats().links_by_rule == {"namespace:email": 1}  # c


# -- the identity limit of one record --------------------------------------------------------------
def test_identities_per_record_at_the_limit_link_one_past_it_is_refused_and_keys_do_not_count():
    rules = parse_rules({"namespaces": {"email": "email", "crm_id": "exact"},
                         "match_rules": [{"name": "name_zip", "criteria": [{"field": "name", "method": "normalized"},
                                                                           {"field": "zip", "method": "exact"}]}],
                         "limits": {"max_identities_per_record": 1}})
    rows = [{"rec_id": "a", "email": "a@x.io", "crm_id": "", "name": "ann", "zip": "1"},   # 1 identity + 1 key
            {"rec_id": "b", "email": "", "crm_id": "", "name": "Ann", "zip": "1"},         # 0 identities + 1 key
            {"rec_id": "c", "email": "a@x.io", "crm_id": "C1", "name": "", "zip": ""},     # 2 identities: refused
            {"rec_id": "d", "email": "", "crm_id": "C1", "name": "", "zip": ""}]           # 1: its own profile
    batch, prof, inc = both(rows, rules)
    assert groups("abcd", prof) == inc_groups(inc) == [("a", "b"), ("c",), ("d",)]
    for res in (batch, inc):
        s = res.stats()
        assert s.refused_records == 1 and s.records == 4 and s.profiles == 3
        assert s.links_by_rule == {"name_zip": 2, "namespace:crm_id": 1, "namespace:email": 1}
        assert res.graph.profile_of("crm_id", "C1") == res.profile_of("d") != res.profile_of("c")


# -- fuzzy rules: blocks, candidates, scores ------------------------------------------------------
def fuzzy_rules(cap: int = 1000, **extra) -> RuleSet:
    return parse_rules({"match_rules": [
        {"name": "name", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.9}],
         "blocking": [["zip"]]}], "limits": {"max_block_size": cap}, **extra})


def test_a_block_of_exactly_max_block_size_pairs_one_past_it_pairs_nothing_and_is_reported():
    rows = [{"rec_id": f"r{k}", "name": "martha", "zip": "1"} for k in range(3)]
    batch, prof, inc = both(rows, fuzzy_rules(cap=3))
    assert groups(["r0", "r1", "r2"], prof) == inc_groups(inc) == [("r0", "r1", "r2")]
    for res in (batch, inc):
        s = res.stats()
        assert (s.candidate_pairs, s.skipped_blocks, s.links_by_rule) == (3, 0, {"name": 3})
    rows.append({"rec_id": "r3", "name": "martha", "zip": "1"})
    batch, prof, _ = both(rows, fuzzy_rules(cap=3))
    assert len(set(prof.tolist())) == 4  # the whole block is skipped: no pairs at all
    assert (batch.stats().candidate_pairs, batch.stats().skipped_blocks) == (0, 1)


def test_incrementally_the_record_that_overfills_a_block_gets_no_candidates_and_the_block_counts_once():
    inc = Resolver(fuzzy_rules(cap=2))
    for k in range(4):
        inc.add(f"r{k}", {"name": "martha", "zip": "1"})
    inc.add("s0", {"name": "martha", "zip": "2"})
    inc.add("s1", {"name": "marhta", "zip": "2"})
    assert inc_groups(inc) == [("r0", "r1"), ("r2",), ("r3",), ("s0", "s1")]
    s = inc.stats()
    assert (s.candidate_pairs, s.skipped_blocks, s.links_by_rule) == (2, 1, {"name": 2})
    assert inc.explain("s0", "s1")[0]["score"] == JW_MARTHA


def test_blank_blocking_values_make_no_block():
    rules = parse_rules({"match_rules": [{"name": "n", "criteria": [{"field": "name", "method": "fuzzy",
                                                                     "threshold": 0.5}]}],
                         "blocking": [["zip", "city"]]})
    rows = [{"rec_id": "a", "name": "ann", "zip": "1", "city": ""},
            {"rec_id": "b", "name": "ann", "zip": "1", "city": ""},
            {"rec_id": "c", "name": "ann", "zip": "", "city": "x"},
            {"rec_id": "d", "name": "ann", "zip": "", "city": "x"},
            {"rec_id": "e", "name": "ann", "zip": "1", "city": "X "},
            {"rec_id": "f", "name": "ann", "zip": "1", "city": "x"}]
    batch, prof, inc = both(rows, rules)
    assert groups("abcdef", prof) == inc_groups(inc) == [("a",), ("b",), ("c",), ("d",), ("e", "f")]
    assert batch.stats().candidate_pairs == inc.stats().candidate_pairs == 1


def test_the_first_rule_that_holds_links_a_pair_and_later_rules_skip_it():
    rules = parse_rules({"match_rules": [
        {"name": "strict", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.97}],
         "blocking": [["zip"]]},
        {"name": "loose", "criteria": [{"field": "name", "method": "fuzzy", "algorithm": "levenshtein",
                                        "threshold": 0.6}], "blocking": [["zip"]]},
    ]})
    rows = [{"rec_id": "a", "name": "martha", "zip": "1"}, {"rec_id": "b", "name": "martha", "zip": "1"},
            {"rec_id": "c", "name": "marhta", "zip": "2"}, {"rec_id": "d", "name": "martha", "zip": "2"},
            {"rec_id": "e", "name": "zed", "zip": "3"}, {"rec_id": "f", "name": "zoe", "zip": "3"}]
    batch, prof, inc = both(rows, rules)
    # a-b identical: strict. c-d: JW 0.9611 < 0.97, Levenshtein 1 - 2/6 = 0.6667 >= 0.6: loose.
    # e-f: JW 0.6, Levenshtein 1/3: neither.
    assert groups("abcdef", prof) == inc_groups(inc) == [("a", "b"), ("c", "d"), ("e",), ("f",)]
    for res in (batch, inc):
        s = res.stats()
        # strict looks at the 3 pairs of the 3 blocks and takes 1; loose at the 2 others
        assert s.links_by_rule == {"loose": 1, "strict": 1} and s.candidate_pairs == 5
        assert res.explain("c", "d")[0]["score"] == 0.6667 and res.explain("a", "b")[0]["score"] == 1.0
        assert [st["rule"] for st in res.explain("c", "d")] == ["loose"]
    rows[2]["name"] = "martha"  # now strict takes c-d as well: loose sees only e-f
    batch, prof, inc = both(rows, rules)
    for res in (batch, inc):
        s = res.stats()
        assert s.links_by_rule == {"strict": 2} and s.candidate_pairs == 4


def test_a_fuzzy_link_scores_the_lowest_criterion_and_fails_if_any_criterion_fails():
    rules = parse_rules({"match_rules": [{"name": "two", "criteria": [
        {"field": "first", "method": "fuzzy", "threshold": 0.9},
        {"field": "last", "method": "fuzzy", "threshold": 0.9}], "blocking": [["zip"]]}]})
    rows = [{"rec_id": "a", "first": "martha", "last": "smith", "zip": "1"},
            {"rec_id": "b", "first": "marhta", "last": "smith", "zip": "1"},
            {"rec_id": "c", "first": "smith", "last": "martha", "zip": "2"},
            {"rec_id": "d", "first": "smith", "last": "marhta", "zip": "2"},
            {"rec_id": "e", "first": "martha", "last": "smith", "zip": "3"},
            {"rec_id": "f", "first": "martha", "last": "jones", "zip": "3"},
            {"rec_id": "g", "first": "jones", "last": "smith", "zip": "4"},
            {"rec_id": "h", "first": "martha", "last": "smith", "zip": "4"}]
    batch, prof, inc = both(rows, rules)
    assert groups("abcdefgh", prof) == inc_groups(inc) == [("a", "b"), ("c", "d"), ("e",), ("f",), ("g",), ("h",)]
    for res in (batch, inc):
        assert res.explain("a", "b")[0]["score"] == JW_MARTHA  # min(0.9611, 1.0)
        assert res.explain("c", "d")[0]["score"] == JW_MARTHA  # min(1.0, 0.9611)
        assert res.stats().candidate_pairs == 4


def test_exact_and_normalised_criteria_of_a_fuzzy_rule_block_and_must_hold():
    rules = parse_rules({"match_rules": [{"name": "m", "criteria": [
        {"field": "zip", "method": "exact"}, {"field": "city", "method": "normalized"},
        {"field": "name", "method": "fuzzy", "threshold": 0.9}]}]})
    rows = [{"rec_id": "a", "zip": "1", "city": "Paris", "name": "martha"},
            {"rec_id": "b", "zip": "1", "city": " paris", "name": "marhta"},
            {"rec_id": "c", "zip": "1", "city": "lyon", "name": "martha"},
            {"rec_id": "d", "zip": "2", "city": "x", "name": "martha"},
            {"rec_id": "e", "zip": "2", "city": "X", "name": "martha"},
            {"rec_id": "f", "zip": " 2", "city": "x", "name": "martha"}]
    batch, prof, inc = both(rows, rules)
    # zip is compared raw (" 2" is another zip), city after the text normaliser
    assert groups("abcdef", prof) == inc_groups(inc) == [("a", "b"), ("c",), ("d", "e"), ("f",)]
    for res in (batch, inc):
        assert res.explain("a", "b")[0]["score"] == JW_MARTHA and res.explain("d", "e")[0]["score"] == 1.0
        assert res.stats().candidate_pairs == 2  # (a, b) and (d, e): the blocks are zip + city


# -- joining profiles and the order records apply in ------------------------------------------------
def test_a_record_joins_the_oldest_profile_it_links_to_when_the_two_cannot_merge():
    rules = parse_rules({"namespaces": {"crm_id": "exact", "email": "email"},
                         "limits": {"max_per_namespace": {"crm_id": 1}}})
    rows = [{"rec_id": "old", "crm_id": "C1", "email": "", "_t": 1.0},
            {"rec_id": "new", "crm_id": "C2", "email": "b@x.io", "_t": 2.0},
            {"rec_id": "both", "crm_id": "C1", "email": "b@x.io", "_t": 3.0}]
    batch, prof, inc = both(rows, rules)
    assert groups(["old", "new", "both"], prof) == inc_groups(inc) == [("both", "old"), ("new",)]
    for res in (batch, inc):
        assert res.stats().refused_links == 1 and res.stats().refused_by_rule == {"namespace:email": 1}
    rows[0]["_t"], rows[1]["_t"] = 2.0, 1.0  # now "new" is the oldest profile
    batch, prof, inc = both(rows, rules)
    assert groups(["old", "new", "both"], prof) == inc_groups(inc) == [("both", "new"), ("old",)]
    assert batch.stats().refused_by_rule == inc.stats().refused_by_rule == {"namespace:crm_id": 1}


def test_incremental_merge_keeps_the_oldest_profile_and_reports_it():
    rules = parse_rules({"namespaces": {"email": "email", "crm_id": "exact"}})
    inc = Resolver(rules)
    assert inc.add("a", {"email": "a@x.io"}, "web", 1.0).profile == 0
    assert inc.add("b", {"crm_id": "C"}, "crm", 2.0).profile == 1
    res = inc.add("c", {"email": "A@x.io", "crm_id": "C"}, "shop", 3.0)
    assert res.profile == 0 and [(m.survivor, m.absorbed, m.t) for m in res.merges] == [(0, 1, 3.0)]
    assert inc.profile_of("b") == 0
    step = inc.explain("a", "c")
    assert [(s["rule"], s["source"], s["t"]) for s in step] == [("namespace:email", "web", 1.0),
                                                                ("namespace:email", "shop", 3.0)]


def test_batch_profile_ids_follow_record_time_then_rec_id_and_a_missing_time_is_zero():
    rules = parse_rules({"namespaces": {"email": "email"}})
    frame = pd.DataFrame({"rec_id": ["b", "a", "c", "d", "10", "9"],
                          "email": ["b@x", "a@x", "c@x", "a@x", "", ""],
                          "_t": [5.0, np.nan, -1.0, 7.0, 3.0, 3.0]})
    # order: c (t=-1), a (nan -> 0), "10", "9" (t=3, as strings "10" < "9"), b (5), d (7, joins a)
    assert canonical_order(frame).tolist() == [2, 1, 4, 5, 0, 3]
    res, prof = resolve(frame, rules)
    assert prof.tolist() == [4, 1, 0, 1, 2, 3]
    assert res.ids == ["c", "a", "10", "9", "b", "d"]
    assert [s["t"] for s in res.explain("a", "d")] == [0.0, 7.0]
    assert {s["source"] for s in res.explain("a", "d")} == {"input"}
    assert canonical_order(frame.drop(columns="_t")).tolist() == [4, 5, 1, 0, 2, 3]


def test_batch_takes_each_records_source_and_time_from_the_frame():
    rules = parse_rules({"namespaces": {"email": "email"}})
    frame = pd.DataFrame({"rec_id": ["w", "c"], "email": ["a@x", "A@X"], "_source": ["web", "crm"],
                          "_t": [20.0, 10.0]})
    res, prof = resolve(frame, rules)
    assert prof.tolist() == [0, 0]
    assert [(s["source"], s["t"]) for s in res.explain("c", "w")] == [("crm", 10.0), ("web", 20.0)]


def test_progress_reports_every_5000_records_and_the_rest_at_the_end():
    rules = parse_rules({"namespaces": {"email": "email"}})
    calls: list[int] = []
    resolve(pd.DataFrame({"rec_id": ["a", "b", "c"], "email": ["", "", ""]}), rules, calls.append)
    assert calls == [3]
    calls.clear()
    resolve(pd.DataFrame({"rec_id": [f"r{k}" for k in range(5001)], "email": ""}), rules, calls.append)
    assert calls == [5000, 1]


def test_stats_of_a_small_resolution_counted_by_hand():
    rules = parse_rules({"namespaces": {"email": "email", "crm_id": "exact"},
                         "match_rules": [{"name": "name", "criteria": [{"field": "name", "method": "fuzzy",
                                                                        "threshold": 0.9}], "blocking": [["zip"]]}],
                         "limits": {"max_per_namespace": {"crm_id": 1}, "max_identities": 2,
                                    "max_block_size": 2, "max_identities_per_record": 2}})
    rows = [{"rec_id": "a", "email": "a@x", "crm_id": "C1", "name": "martha", "zip": "1", "_t": 1.0},
            {"rec_id": "b", "email": "", "crm_id": "C2", "name": "marhta", "zip": "1", "_t": 2.0},
            {"rec_id": "c", "email": "c@x", "crm_id": "", "name": "zoe", "zip": "2", "_t": 3.0},
            {"rec_id": "d", "email": "d@x", "crm_id": "", "name": "zoe", "zip": "2", "_t": 4.0}]
    for res in both(rows, rules)[::2]:
        # b joins a by name (JW 0.9611), then its second crm id is refused; c-d: linked by name,
        # 2 identities = the cap, nothing deleted
        assert res.stats() == Stats(records=4, profiles=2,
                                    links_by_rule={"name": 2, "namespace:crm_id": 1, "namespace:email": 3},
                                    refused_links=1, refused_by_rule={"namespace:crm_id": 1}, refused_records=0,
                                    evicted_identities=0, skipped_blocks=0, candidate_pairs=2)
    rows.append({"rec_id": "e", "email": "e@x", "crm_id": "", "name": "zoe", "zip": "2", "_t": 5.0})
    batch, _, inc = both(rows, rules)
    # incrementally e overfills block zip=2 (no candidates); in one batch the block of 3 is skipped
    assert inc.stats().skipped_blocks == batch.stats().skipped_blocks == 1
    assert inc.stats().candidate_pairs == 2 and batch.stats().candidate_pairs == 1


def test_deleting_the_oldest_identity_is_counted():
    rules = parse_rules({"namespaces": {"email": "email"}, "match_rules": [
        {"name": "name", "criteria": [{"field": "name", "method": "normalized"}]}],
        "limits": {"max_identities": 1}})
    rows = [{"rec_id": "a", "email": "a@x", "name": "ann", "_t": 1.0},
            {"rec_id": "b", "email": "b@x", "name": "ann", "_t": 2.0}]
    for res in both(rows, rules)[::2]:
        assert res.stats().evicted_identities == 1
        assert res.graph.profile_of("email", "a@x") is None and res.graph.profile_of("email", "b@x") is not None


# -- the vectorised helpers ------------------------------------------------------------------------
def test_normalize_column_calls_the_normaliser_once_per_distinct_value_and_blanks_missing_ones():
    calls: list[str] = []

    def upper(v: str) -> str:
        calls.append(v)
        return v.upper()

    out = normalize_column(np.array(["a", None, "a", "b", np.nan, "b", "a"], dtype=object), upper)
    assert out.tolist() == ["A", "", "A", "B", "", "B", "A"]
    assert sorted(calls) == ["a", "b"]
    assert normalize_column(np.array([], dtype=object), upper).tolist() == []


def test_codes_are_equal_for_equal_values_and_minus_one_for_blanks():
    values = np.array(["x", "", "y", "x", "", "z"], dtype=object)
    codes = _codes(values)
    assert codes.dtype == np.int64
    assert codes[1] == codes[4] == -1 and (np.delete(codes, [1, 4]) >= 0).all()
    for i, j in itertools.combinations(range(6), 2):
        assert (codes[i] == codes[j]) == (values[i] == values[j])
    assert _codes(np.array(["", "a"], dtype=object)).tolist() == [-1, 1]
    assert _codes(np.array(["a", "b"], dtype=object)).tolist() == [0, 1]


def test_sorted_unique():
    assert _sorted_unique(np.array([5, 1, 5, 3, 1], dtype=np.int64)).tolist() == [1, 3, 5]
    assert _sorted_unique(np.array([2], dtype=np.int64)).tolist() == [2]
    assert _sorted_unique(np.zeros(0, np.int64)).tolist() == []


def brute_pairs(key: np.ndarray, cap: int) -> tuple[set, int]:
    sizes = {k: int((key == k).sum()) for k in set(key.tolist()) if k >= 0}
    pairs = {(i, j) for i, j in itertools.combinations(range(len(key)), 2)
             if key[i] == key[j] >= 0 and sizes[key[i]] <= cap}
    return pairs, sum(1 for s in sizes.values() if s > cap)


@pytest.mark.parametrize("seed", range(12))
def test_block_pairs_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 14))
    key = rng.integers(-1, 4, n).astype(np.int64)
    cap = int(rng.integers(2, 5))
    i, j, skipped = _block_pairs(key, cap)
    assert (i < j).all()
    got = list(zip(i.tolist(), j.tolist()))
    assert len(got) == len(set(got))
    assert (set(got), skipped) == brute_pairs(key, cap)


def test_block_pairs_at_and_past_the_cap():
    key = np.array([0, 1, 0, 1, 1, -1, -1], dtype=np.int64)
    i, j, skipped = _block_pairs(key, 3)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 2), (1, 3), (1, 4), (3, 4)] and skipped == 0
    i, j, skipped = _block_pairs(key, 2)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 2)] and skipped == 1
    i, j, skipped = _block_pairs(np.array([1, 1, 1], dtype=np.int64), 2)
    assert len(i) == len(j) == 0 and skipped == 1 and i.dtype == np.int64
    for key in (np.array([3], dtype=np.int64), np.array([-1, -1], dtype=np.int64), np.array([0, 1], np.int64)):
        i, j, skipped = _block_pairs(key, 2)
        assert len(i) == len(j) == 0 and skipped == 0


# -- survivors of the first mutation run: defaults, second keys, counts, dtypes ----------------------
def test_add_defaults_to_source_input_at_time_zero():
    inc = Resolver(parse_rules({"namespaces": {"email": "email"}}))
    inc.add("a", {"email": "a@x"})
    inc.add("b", {"email": "A@X"})
    assert [(s["source"], s["t"]) for s in inc.explain("a", "b")] == [("input", 0.0), ("input", 0.0)]


def test_a_candidate_an_earlier_rule_took_is_skipped_and_the_later_candidates_still_count():
    rules = parse_rules({"match_rules": [
        {"name": "strict", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.97}],
         "blocking": [["zip"]]},
        {"name": "loose", "criteria": [{"field": "name", "method": "fuzzy", "algorithm": "levenshtein",
                                        "threshold": 0.6}], "blocking": [["zip"]]}]})
    rows = [{"rec_id": "a", "name": "martha", "zip": "1"}, {"rec_id": "b", "name": "marhta", "zip": "1"},
            {"rec_id": "c", "name": "martha", "zip": "1"}]
    batch, _, inc = both(rows, rules)
    # b: strict fails on a, loose holds on a (2 pairs). c: strict holds on a, fails on b; loose skips
    # a and holds on b (3 pairs). Batch: strict's 3 pairs, then loose's 2 not taken.
    for res in (batch, inc):
        s = res.stats()
        assert s.candidate_pairs == 5 and s.links_by_rule == {"loose": 2, "strict": 1}


def test_a_blank_first_blocking_key_still_blocks_on_the_next_and_each_overfull_block_counts():
    rules = parse_rules({"match_rules": [{"name": "n", "criteria": [{"field": "name", "method": "fuzzy",
                                                                     "threshold": 0.9}],
                                          "blocking": [["zip"], ["city"]]}], "limits": {"max_block_size": 2}})
    rows = [{"rec_id": "a", "name": "ann", "zip": "", "city": "x"},
            {"rec_id": "b", "name": "ann", "zip": "", "city": "x"}]
    batch, prof, inc = both(rows, rules)
    assert groups("ab", prof) == inc_groups(inc) == [("a", "b")]
    rows = [{"rec_id": f"r{k}", "name": "zed", "zip": "1", "city": "y"} for k in range(3)]
    batch, prof, inc = both(rows, rules)
    # zip=1 and city=y both hold 3 records > 2: two blocks skipped (incrementally r2 overfills both)
    assert batch.stats().skipped_blocks == inc.stats().skipped_blocks == 2
    assert inc_groups(inc) == [("r0", "r1"), ("r2",)] and len(set(prof.tolist())) == 3


def test_a_criterions_own_normaliser_is_used_for_fields_that_are_not_namespaces():
    rules = parse_rules({"match_rules": [
        {"name": "ssn", "criteria": [{"field": "ssn", "method": "normalized", "normalizer": "digits"}]},
        {"name": "nm", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.99, "normalizer": "name"}],
         "blocking": [["zip"]]}]})
    rows = [{"rec_id": "a", "ssn": "123-45", "name": "O'Brien", "zip": "1"},
            {"rec_id": "b", "ssn": "12345", "name": "x", "zip": "2"},
            {"rec_id": "c", "ssn": "9", "name": "o brien", "zip": "1"}]
    batch, prof, inc = both(rows, rules)
    assert groups("abc", prof) == inc_groups(inc) == [("a", "b", "c")]
    for res in (batch, inc):
        assert res.stats().links_by_rule == {"nm": 1, "ssn": 3}  # one key link per record
        assert res.graph.profile_of("key:ssn", ("12345",)) == res.profile_of("a")


def test_the_rule_sets_blocking_on_a_namespace_uses_the_namespaces_normaliser():
    rules = parse_rules({"namespaces": {"ssn": "digits"},
                         "match_rules": [{"name": "nm", "criteria": [{"field": "name", "method": "fuzzy",
                                                                     "threshold": 0.9}]}],
                         "blocking": [["ssn"]]})
    assert Resolver(rules).block_keys(rules.match_rules[0]) == [("blocking:ssn", [("ssn", "digits")])]
    rows = [{"rec_id": "a", "ssn": "12-3", "name": "ann"}, {"rec_id": "b", "ssn": "123", "name": "ann"}]
    batch, _, inc = both(rows, rules)
    assert batch.stats().candidate_pairs == inc.stats().candidate_pairs == 1


def test_the_refuse_policy_of_the_rules_reaches_the_graph():
    rules = parse_rules({"namespaces": {"email": "email"},
                         "match_rules": [{"name": "nm", "criteria": [{"field": "name", "method": "normalized"}]}],
                         "limits": {"max_identities": 1, "on_exceed": "refuse"}})
    rows = [{"rec_id": "a", "email": "a@x", "name": "ann"}, {"rec_id": "b", "email": "b@x", "name": "ann"}]
    for res in both(rows, rules)[::2]:
        s = res.stats()
        assert (s.refused_links, s.evicted_identities) == (1, 0)
        assert res.graph.profile_of("email", "a@x") == res.profile_of("a") == res.profile_of("b")
        assert res.graph.profile_of("email", "b@x") is None


def test_every_refused_record_is_counted():
    rules = parse_rules({"namespaces": {"e1": "email", "e2": "email"}, "limits": {"max_identities_per_record": 1}})
    rows = [{"rec_id": r, "e1": f"{r}@x", "e2": f"{r}@y"} for r in "abc"]
    for res in both(rows, rules)[::2]:
        assert res.stats().refused_records == 3 and res.stats().links_by_rule == {}


def test_block_pairs_positions_are_integers_even_when_there_are_none():
    for key in (np.array([], np.int64), np.array([5], np.int64), np.array([-1, 2], np.int64), np.array([1, 1, 1])):
        i, j, _ = _block_pairs(key.astype(np.int64), 2)
        assert i.dtype == j.dtype == np.int64


def test_a_missing_time_sorts_as_zero_not_after_it():
    frame = pd.DataFrame({"rec_id": ["a", "0", "z"], "_t": pd.Series([np.nan, 0.5, 0.0], dtype=object)})
    assert canonical_order(frame).tolist() == [0, 2, 1]  # a (0) and z (0) by rec_id, then 0 at t = 0.5
    frame["_t"] = pd.Series([None, 0.5, 0.0], dtype=object)
    assert canonical_order(frame).tolist() == [0, 2, 1]
    res, prof = resolve(frame.assign(email=["a@x", "", "a@x"]), parse_rules({"namespaces": {"email": "email"}}))
    assert prof.dtype == np.int64 and prof.tolist() == [0, 1, 0]
    assert [s["t"] for s in res.explain("a", "z")] == [0.0, 0.0]


def test_progress_one_record_short_of_5000():
    calls: list[int] = []
    resolve(pd.DataFrame({"rec_id": [f"r{k}" for k in range(4999)], "email": ""}),
            parse_rules({"namespaces": {"email": "email"}}), calls.append)
    assert calls == [4999]
