"""Edges of reconciliation (sim.domain.identity.reconcile), each rule of the module docstring on a few
hand-made records with the winner worked out by hand: blanks never win; ``last_updated`` by record
time then input order (a missing time is the oldest); ``most_frequent`` with ties to the value seen
most recently; ``source_priority`` with unlisted sources after every listed one and the most recent
within a source; namespace fields keep every distinct normalised value, most recent first."""

import numpy as np
import pandas as pd

from sim.domain.identity import parse_rules, reconcile


def rules(**reconciliation):
    return parse_rules({"namespaces": {"email": "email"}, "reconciliation": reconciliation})


def one(frame: pd.DataFrame, rs, attributes, time_column="t", source_column="src") -> pd.Series:
    out = reconcile(frame, np.zeros(len(frame), dtype=int), rs, attributes, time_column=time_column,
                    source_column=source_column)
    assert len(out) == 1
    return out.iloc[0]


def test_last_updated_takes_the_latest_time_then_the_later_row_and_a_missing_time_is_oldest():
    frame = pd.DataFrame({"name": ["A", "B", "C", "D"], "t": [5.0, 9.0, 9.0, np.nan], "src": "x"})
    assert one(frame, rules(), ["name"])["name"] == "C"  # B and C at t=9: C comes later in the input
    frame["t"] = [-5.0, np.nan, np.nan, np.nan]
    assert one(frame, rules(), ["name"])["name"] == "A"  # -5 is still more recent than no time
    frame["t"] = [3.0, 1.0, 2.0, 0.0]
    assert one(frame, rules(), ["name"])["name"] == "A"
    assert one(frame, rules(), ["name"], time_column=None)["name"] == "D"  # input order
    assert one(frame, rules(), ["name"], time_column="nope")["name"] == "D"
    frame["t"] = pd.Series([2.0, None, 1.0, None], dtype=object)  # times read as objects, some missing
    assert one(frame, rules(), ["name"])["name"] == "A"


def test_blank_values_never_win():
    frame = pd.DataFrame({"name": ["old", "  ", None, ""], "city": [None, None, "", " "],
                          "t": [1.0, 2.0, 3.0, 4.0], "src": "x"})
    out = one(frame, rules(default="last_updated", attributes={"city": "most_frequent"}), ["name", "city"])
    assert out["name"] == "old" and out["city"] == ""
    out = one(frame, rules(attributes={"name": {"rule": "source_priority", "sources": ["x"]}}), ["name"])
    assert out["name"] == "old"


def test_values_are_kept_as_written_apart_from_surrounding_spaces():
    frame = pd.DataFrame({"name": [" Ann  Lee ", "x"], "t": [2.0, 1.0], "src": "x"})
    assert one(frame, rules(), ["name"])["name"] == "Ann  Lee"


def test_most_frequent_wins_over_recency_and_a_tie_goes_to_the_value_seen_last():
    frame = pd.DataFrame({"city": ["Paris", "Lyon", "Paris", "Lyon", "Paris", "Nice"],
                          "t": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "src": "x"})
    rs = rules(attributes={"city": "most_frequent"})
    assert one(frame, rs, ["city"])["city"] == "Paris"     # 3 against 2 and 1
    frame.loc[4, "city"] = "Lyon"                           # now Lyon 3, Paris 2
    assert one(frame, rs, ["city"])["city"] == "Lyon"
    frame.loc[4, "city"] = ""                               # Paris 2, Lyon 2: Lyon seen last (t=4)
    assert one(frame, rs, ["city"])["city"] == "Lyon"
    frame["t"] = [1.0, 2.0, 9.0, 4.0, 5.0, 6.0]            # Paris seen at t=9
    assert one(frame, rs, ["city"])["city"] == "Paris"


def test_source_priority_then_unlisted_sources_then_recency_within_a_source():
    rs = rules(attributes={"phone": {"rule": "source_priority", "sources": ["crm", "web"]}})
    frame = pd.DataFrame({"phone": ["shop1", "web1", "web2", "crm1", "shop2"],
                          "src": ["shop", "web", "web", "crm", "shop"], "t": [9.0, 1.0, 2.0, 0.0, 8.0]})
    assert one(frame, rs, ["phone"])["phone"] == "crm1"    # the first listed source, however old
    frame.loc[3, "phone"] = ""
    assert one(frame, rs, ["phone"])["phone"] == "web2"    # crm has none: web, most recent
    frame.loc[[1, 2], "phone"] = ""
    assert one(frame, rs, ["phone"])["phone"] == "shop1"   # only unlisted: the most recent (t=9)
    frame["src"] = ["shop", "web", "web", "crm", "mail"]
    frame.loc[0, "t"] = 1.0                                 # shop1 (t=1) against mail's shop2 (t=8)
    assert one(frame, rs, ["phone"])["phone"] == "shop2"


def test_namespace_fields_keep_every_distinct_normalised_value_most_recent_first():
    frame = pd.DataFrame({"email": ["A@x.io", "b@x.io", " a@X.io ", "not-an-email", "", "c@x.io"],
                          "t": [1.0, 2.0, 3.0, 4.0, 5.0, 0.5], "src": "x"})
    out = one(frame, rules(), ["email"])
    assert out["email"] == "a@x.io|b@x.io|c@x.io"          # a seen last at t=3, b at 2, c at 0.5
    out = one(frame, rules(attributes={"email": "last_updated"}), ["email"])
    assert out["email"] == "not-an-email"                  # an explicit rule: one raw value, trimmed


def test_profiles_records_sources_and_attributes_without_any_value():
    rs = rules()
    frame = pd.DataFrame({"email": ["a@x", "", "b@x", ""], "name": ["Ann", "", "Bob", ""],
                          "src": ["web", "crm", "web", "web"], "t": [1.0, 2.0, 3.0, 4.0]})
    out = reconcile(frame, np.array([7, 7, 2, 9]), rs, ["email", "name"], time_column="t", source_column="src")
    assert out["profile_id"].tolist() == [2, 7, 9]
    assert out["records"].tolist() == [1, 2, 1]
    assert out["sources"].tolist() == ["web", "crm;web", "web"]
    assert out["email"].tolist() == ["b@x", "a@x", ""]
    assert out["name"].tolist() == ["Bob", "Ann", ""]
    out = reconcile(frame, np.array([0, 0, 0, 0]), rs, ["name"])
    assert out.iloc[0]["sources"] == "input" and out.iloc[0]["records"] == 4
    assert out.iloc[0]["name"] == "Bob"  # no time column: the last non-blank in input order
