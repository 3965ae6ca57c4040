"""Intent status rules (sim.domain.intents.classify): each boundary on both sides, and a
brute-force oracle written straight from the module's docstring."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.intents import STATUSES, classify, summarize

CW, H = 3600.0, 100_000.0


def intents(*rows):
    return pd.DataFrame([{"person": p, "t": t, "click_fate": rest[0] if rest else "delivered"}
                         for p, t, *rest in rows], columns=["person", "t", "click_fate"])


def actions(*rows):
    cols = ["person", "t", "reaction_t", "fate"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame({c: [] for c in cols})


def firings(*rows):
    cols = ["person", "t", "filtered"]
    return pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame({c: [] for c in cols})


def one(i, a=None, f=None, cw=CW, horizon=H):
    out = classify(i, actions() if a is None else a, firings() if f is None else f, cw, horizon)
    return out.iloc[0]


def test_a_reaction_exactly_catch_within_later_is_caught_one_beyond_is_late():
    row = one(intents((1, 100.0)), actions((1, 200.0, 100.0 + CW, "reacted")))
    assert (row.status, row.time_to_action) == ("caught", CW)
    row = one(intents((1, 100.0)), actions((1, 200.0, 100.0 + CW + 0.001, "reacted")))
    assert row.status == "late" and row.time_to_action == pytest.approx(CW + 0.001)


def test_an_action_exactly_at_the_intent_counts_one_just_before_does_not():
    assert one(intents((1, 100.0)), actions((1, 100.0, 150.0, "reacted"))).status == "caught"
    row = one(intents((1, 100.0)), actions((1, 99.999, 150.0, "reacted")))
    assert (row.status, row.cause, row.acted) == ("missed", "never_fired", False)


def test_acted_means_a_data_action_within_catch_within():
    row = one(intents((1, 0.0)), actions((1, CW, math.nan, "allocation")))
    assert row.acted and row.time_to_data_action == CW
    row = one(intents((1, 0.0)), actions((1, CW + 0.5, math.nan, "allocation")))
    assert not row.acted and math.isnan(row.time_to_data_action)
    assert (row.status, row.cause) == ("missed", "allocation")  # still this intent's action: no next intent


def test_a_slow_action_belongs_to_its_intent_until_the_next_intent():
    frame = classify(intents((1, 0.0), (1, 10_000.0)),
                     actions((1, 5_000.0, 5_010.0, "reacted"), (1, 10_000.0, 10_020.0, "reacted")), firings(), CW, H)
    assert frame.status.tolist() == ["late", "caught"]
    assert frame.time_to_action.tolist() == [5_010.0, 20.0]
    frame = classify(intents((1, 0.0), (1, 10_000.0)), actions((1, 10_000.0, 10_020.0, "reacted")), firings(), CW, H)
    assert frame.status.tolist() == ["missed", "caught"]  # the second intent's bell does not answer the first


def test_one_action_answers_every_intent_of_the_person_within_catch_within():
    frame = classify(intents((1, 0.0), (1, 700.0)), actions((1, 800.0, 900.0, "reacted")), firings(), CW, H)
    assert frame.status.tolist() == ["caught", "caught"]
    assert frame.time_to_action.tolist() == [900.0, 200.0]


def test_the_first_reaction_counts_even_from_a_later_action():
    row = one(intents((1, 0.0)), actions((1, 10.0, math.nan, "allocation"), (1, 20.0, 60.0, "reacted")))
    assert (row.status, row.time_to_action, row.action_t) == ("caught", 60.0, 10.0)


def test_pending_causes():
    assert tuple(one(intents((1, H - 10.0)), cw=CW)[["status", "cause"]]) == ("pending", "not_acted")
    row = one(intents((1, H - CW)), cw=CW)  # catch_within ends exactly at the horizon: decided
    assert (row.status, row.cause) == ("missed", "never_fired")
    row = one(intents((1, 0.0)), actions((1, 5.0, math.nan, "in_flight")))
    assert (row.status, row.cause) == ("pending", "in_flight")  # cw long past, but still travelling
    row = one(intents((1, 0.0, "in_flight")))
    assert (row.status, row.cause) == ("pending", "in_flight")


def test_missed_reasons_in_order():
    row = one(intents((1, 0.0)), actions((1, 5.0, math.nan, "flow_error"), (1, 9.0, math.nan, "allocation")))
    assert row.cause == "flow_error"  # the first action's fate
    assert one(intents((1, 0.0)), actions((1, 5.0, math.nan, "no_notification"))).cause == "no_notification"
    assert one(intents((1, 0.0)), f=firings((1, 5.0, True))).cause == "filtered_no_contact"
    assert one(intents((1, 0.0)), f=firings((1, 5.0, False))).cause == "never_fired"  # fired, not filtered
    assert one(intents((1, 0.0)), f=firings((1, -5.0, True))).cause == "never_fired"  # before the intent
    assert one(intents((1, 0.0, "rate_limited"))).cause == "rate_limited"
    assert one(intents((1, 0.0)), actions((2, 5.0, 10.0, "reacted"))).cause == "never_fired"  # someone else


def oracle(ints, acts, fils, cw, horizon):
    """The docstring's rules, by exhaustive search."""
    out = []
    for _, i in ints.iterrows():
        later = [j.t for _, j in ints.iterrows() if j.person == i.person and j.t > i.t]
        nxt = min(later, default=math.inf)
        mine = sorted([a for _, a in acts.iterrows() if a.person == i.person and a.t >= i.t
                       and (a.t <= i.t + cw or a.t < nxt)], key=lambda a: a.t)
        reacts = [a.reaction_t for a in mine if not math.isnan(a.reaction_t)]
        if reacts:
            out.append(("caught" if min(reacts) - i.t <= cw else "late", ""))
            continue
        flying = any(a.fate == "in_flight" for a in mine) or i.click_fate == "in_flight"
        if flying or i.t + cw > horizon:
            out.append(("pending", "in_flight" if flying else "not_acted"))
            continue
        fil = [f for _, f in fils.iterrows() if f.person == i.person and f.filtered and f.t >= i.t
               and (f.t <= i.t + cw or f.t < nxt)]
        cause = mine[0].fate if mine else "filtered_no_contact" if fil else \
            i.click_fate if i.click_fate != "delivered" else "never_fired"
        out.append(("missed", cause))
    return out


times = st.integers(0, 40).map(lambda x: x * 50.0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), times, st.sampled_from(["delivered", "in_flight", "late"])),
                max_size=8, unique_by=lambda r: (r[0], r[1])),
       st.lists(st.tuples(st.integers(0, 2), times, st.one_of(st.just(math.nan), st.integers(0, 30).map(float)),
                          st.sampled_from(["allocation", "in_flight", "flow_error"])), max_size=8),
       st.lists(st.tuples(st.integers(0, 2), times, st.booleans()), max_size=5),
       st.sampled_from([100.0, 250.0, 1000.0]))
def test_classify_equals_the_oracle(ints, acts, fils, cw):
    ints = intents(*ints)
    acts = actions(*[(p, t, t + r if not math.isnan(r) else r, "reacted" if not math.isnan(r) else fate)
                     for p, t, r, fate in acts])
    fils = firings(*fils)
    horizon = 1500.0
    got = classify(ints, acts, fils, cw, horizon)
    assert list(zip(got.status, got.cause)) == oracle(ints, acts, fils, cw, horizon)
    s = summarize(got)
    assert set(got.status) <= set(STATUSES)
    assert sum(s["missed_by_reason"].values()) == s["missed"] == int((got.status == "missed").sum())
    assert sum(s["pending_by_cause"].values()) == s["pending"]
