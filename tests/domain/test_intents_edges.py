"""Edges of the intent rules (sim.domain.intents): threshold, window and cooldown of
``find_intents``; ``catch_within``, the next intent and the horizon in ``classify``. Each rule is
checked on both sides of its edge."""

import math

import numpy as np
import pandas as pd

from sim.domain.intents import classify, find_intents, summarize
from tests.domain.test_intents import CW, H, actions, firings, intents  # the shared frame builders


def outcome(frame):
    return [(s, c, bool(a)) for s, c, a in zip(frame.status, frame.cause, frame.acted)]


def test_regression_an_action_exactly_catch_within_after_the_intent_is_caught():
    """Regression (issue 13): an action exactly ``catch_within`` after an intent belongs to it, even
    when the person's next intent comes at that same instant; it was counted as missed."""
    frame = classify(intents((1, 0.0), (1, CW)), actions((1, CW, CW, "reacted")), firings(), CW, H)
    assert outcome(frame) == [("caught", "", True), ("caught", "", True)]
    assert frame.time_to_action.tolist() == [CW, 0.0]
    frame = classify(intents((1, 0.0), (1, CW)), actions((1, CW + 1.0, CW + 1.0, "reacted")), firings(), CW, H)
    assert outcome(frame) == [("missed", "never_fired", False), ("caught", "", True)]


def test_an_action_just_before_the_next_intent_still_answers_the_first():
    """An action after ``catch_within`` but strictly before the person's next intent belongs to the
    first intent (late); one exactly at the next intent belongs to the next one only."""
    frame = classify(intents((1, 0.0), (1, 3 * CW)), actions((1, 3 * CW - 1, 3 * CW - 1, "reacted")),
                     firings(), CW, H)
    assert outcome(frame) == [("late", "", False), ("missed", "never_fired", False)]
    frame = classify(intents((1, 0.0), (1, 3 * CW)), actions((1, 3 * CW, 3 * CW, "reacted")), firings(), CW, H)
    assert outcome(frame) == [("missed", "never_fired", False), ("caught", "", True)]


def test_the_horizon_decides_pending_exactly_when_catch_within_runs_past_it():
    """``not_acted`` pending holds while ``t + catch_within`` is after the horizon; at the horizon
    exactly the outcome is decided (missed)."""
    for t, expected in ((H - CW + 0.5, ("pending", "not_acted", False)), (H - CW, ("missed", "never_fired", False)),
                        (H - CW - 0.5, ("missed", "never_fired", False))):
        assert outcome(classify(intents((1, t)), actions(), firings(), CW, H)) == [expected]


def test_filtered_firings_count_within_catch_within_or_before_the_next_intent():
    """A firing discarded by the action rule explains a miss when it is at or after the intent and at
    most ``catch_within`` later (or before the next intent); a firing before the intent does not."""
    for ft, cause in ((0.0, "filtered_no_contact"), (CW, "filtered_no_contact"), (CW + 1, "filtered_no_contact"),
                      (-0.5, "never_fired")):
        frame = classify(intents((1, 0.0)), actions(), firings((1, ft, True)), CW, H)
        assert outcome(frame) == [("missed", cause, False)], ft
    frame = classify(intents((1, 0.0), (1, 2 * CW)), actions(), firings((1, 2 * CW, True)), CW, H)
    assert outcome(frame) == [("missed", "never_fired", False), ("missed", "filtered_no_contact", False)]


def test_a_late_click_is_the_cause_when_nothing_fired_and_in_flight_clicks_are_pending():
    """The completing click's drop reason is the cause of a miss with no firing; a click still in
    flight makes the intent pending; a delivered one leaves ``never_fired``."""
    frame = classify(intents((1, 0.0, "late"), (2, 0.0, "in_flight"), (3, 0.0, "delivered")), actions(),
                     firings(), CW, H)
    assert outcome(frame) == [("missed", "late", False), ("pending", "in_flight", False),
                              ("missed", "never_fired", False)]


def test_summary_counts_every_status_and_cause():
    """``summarize`` counts each status, the acted intents, and the causes of misses and pendings."""
    frame = classify(intents((1, 0.0), (2, 0.0), (3, 0.0), (4, H - 1), (5, 0.0, "in_flight")),
                     actions((1, 10.0, 20.0, "reacted"), (2, 10.0, CW + 20.0, "reacted"),
                             (3, 10.0, math.nan, "allocation")), firings(), CW, H)
    assert summarize(frame) == {"intents": 5, "caught": 1, "late": 1, "missed": 1, "pending": 2, "acted": 3,
                                "missed_by_reason": {"allocation": 1},
                                "pending_by_cause": {"in_flight": 1, "not_acted": 1}}
    empty = classify(intents(), actions(), firings(), CW, H)
    assert summarize(empty) == {"intents": 0, "caught": 0, "late": 0, "missed": 0, "pending": 0, "acted": 0,
                                "missed_by_reason": {}, "pending_by_cause": {"in_flight": 0, "not_acted": 0}}


def test_find_intents_threshold_window_and_cooldown_edges():
    """``threshold`` views within ``window`` (a view exactly ``window`` earlier is out), the intent at
    the completing view, and the next one not before ``window`` has passed (exactly then is allowed)."""
    w = 600.0
    got = find_intents(np.array([7, 7, 7]), np.array([0.0, 100.0, 599.0]), 3, w, np.array([10, 11, 12]))
    assert got.to_dict("list") == {"person": [7], "t": [599.0], "click": [12]}
    got = find_intents(np.array([7, 7, 7]), np.array([0.0, 100.0, 600.0]), 3, w)
    assert got.to_dict("list") == {"person": [], "t": [], "click": []}
    views = [0.0, 1.0, 2.0, 600.0, 601.0, 602.0, 1201.0]
    got = find_intents(np.full(len(views), 3), np.array(views), 3, w)
    assert got.t.tolist() == [2.0, 602.0]  # 600 and 601 complete windows, but inside the cooldown
    views = [0.0, 1.0, 2.0, 600.0, 601.0, 602.0]
    got = find_intents(np.full(len(views), 3), np.array(views), 2, w)
    assert got.t.tolist() == [1.0, 601.0]  # 601 is exactly a window after 1: a new intent
    got = find_intents(np.array([2, 1, 2, 1]), np.array([5.0, 5.0, 6.0, 7.0]), 2, w, np.array([0, 1, 2, 3]))
    assert got.to_dict("list") == {"person": [2, 1], "t": [6.0, 7.0], "click": [2, 3]}


def test_two_views_further_apart_than_the_window_are_not_an_intent():
    """With a threshold of 2, views 1,000 s apart in a 600 s window make no intent."""
    got = find_intents(np.array([1, 1]), np.array([0.0, 1000.0]), 2, 600.0)
    assert got.to_dict("list") == {"person": [], "t": [], "click": []}


def test_without_click_fates_every_completing_click_counts_as_delivered():
    """Intents given without ``click_fate`` are read as delivered clicks (``never_fired`` misses)."""
    frame = classify(pd.DataFrame({"person": [1], "t": [0.0]}), actions(), firings(), CW, H)
    assert outcome(frame) == [("missed", "never_fired", False)]


def test_the_next_intent_is_the_same_persons():
    """An action after ``catch_within`` still answers the person's intent when another person's
    intent came in between."""
    frame = classify(intents((1, 0.0), (2, 10.0), (3, 20.0), (1, 9 * CW)),
                     actions((1, 5000.0, 5000.0, "reacted")), firings(), CW, H)
    assert outcome(frame) == [("late", "", False), ("missed", "never_fired", False),
                              ("missed", "never_fired", False), ("missed", "never_fired", False)]
    assert frame.acted.dtype == bool


def test_intents_without_click_ids_carry_minus_one_and_integer_columns():
    import numpy as np

    from sim.domain.intents import find_intents

    found = find_intents(np.array([7, 7, 7]), np.array([0.0, 10.0, 20.0]), 3, 600.0)
    assert found["click"].tolist() == [-1] and found["person"].tolist() == [7] and found["t"].tolist() == [20.0]
    assert found["click"].dtype == np.int64 and found["person"].dtype == np.int64
    empty = find_intents(np.array([], dtype=np.int64), np.array([]), 3, 600.0)
    assert len(empty) == 0 and empty["click"].dtype == np.int64
