"""The journey engine on hand-made timelines: each tile kind, goals, exits, re-entry, personalisation."""

import pytest

from sim.domain.dynamics import (
    ActionFailed,
    CreateRecord,
    JourneyEngine,
    Outcome,
    Ref,
    Send,
    StartTimer,
)

from .conftest import contact, custom, journey, kinds, profiles, resolved

HOUR = 3600.0
SURVEY = {"id": "survey", "kind": "action", "channel": "survey", "template": "How did we do on {{incident.title}}?"}
THANKS = {"id": "thanks", "kind": "action", "channel": "email", "template": "Thanks"}
WAIT_1H = {"id": "pause", "kind": "wait", "duration": "1h"}
WAIT_BUY = {"id": "wait_buy", "kind": "wait_for_trigger", "trigger": "purchase", "filter": "total >= 50",
            "timeout": "1d", "triggered": [{"id": "bought", "kind": "action", "channel": "sms", "template": "yay"}],
            "timed_out": [{"id": "nudge", "kind": "action", "channel": "push", "template": "still there?"}]}


def _engine(catalog, tiles, **kw) -> JourneyEngine:
    return JourneyEngine(journey(catalog, tiles, **kw), catalog)


def _timer(effects) -> StartTimer:
    (timer,) = [e for e in effects if isinstance(e, StartTimer)]
    return timer


# ---------------------------------------------------------------- entry

def test_entry_filter_keeps_only_resolved_cases(catalog):
    eng = _engine(catalog, [SURVEY])
    assert eng.on_trigger(resolved("c1", 0, statuscode="Cancelled"), 5.0) == []
    assert eng.counts.filtered_out == 1 and eng.counts.entered == 0
    effects = eng.on_trigger(resolved("c1", 0), 10.0)
    assert kinds(effects) == [("Entered", 10.0), ("Send", "survey", 10.0), ("Outcome", "completed", 10.0)]
    assert effects[1].message == "How did we do on Printer?" and effects[1].customer == contact("c1")


def test_other_triggers_do_not_enter(catalog):
    eng = _engine(catalog, [SURVEY])
    assert eng.on_trigger(custom("purchase", "c1", 0, total=10), 1.0) == []
    assert eng.enter(custom("purchase", "c1", 0, total=10), 1.0) == []
    assert eng.counts.entered == 0


# ---------------------------------------------------------------- wait

def test_wait_fires_at_exactly_t_plus_d(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS])
    timer = _timer(eng.on_trigger(resolved("c1", 0), 10.0))
    assert timer.at == 10.0 + HOUR and timer.tile == "pause"
    assert eng.advance(10.0 + HOUR - 1e-6) == []
    with pytest.raises(ValueError, match="before it is due"):
        eng.on_timer(timer.token, 10.0 + HOUR - 1e-6)
    assert kinds(eng.on_timer(timer.token, 10.0 + HOUR)) == [("Send", "thanks", 3610.0),
                                                               ("Outcome", "completed", 3610.0)]
    assert eng.on_timer(timer.token, 10.0 + HOUR) == []  # delivered twice: stale the second time


def test_advance_fires_timers_in_time_order_at_their_due_times(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS])
    eng.on_trigger(resolved("a", 0), 0.0)
    eng.on_trigger(resolved("b", 0), 30.0)
    assert eng.next_due() == HOUR
    out = [(e.customer.id, e.t) for e in eng.advance(10 * HOUR) if isinstance(e, Outcome)]
    assert out == [("a", HOUR), ("b", HOUR + 30.0)]
    assert eng.next_due() is None


def test_a_zero_wait_is_due_at_once(catalog):
    eng = _engine(catalog, [{"id": "z", "kind": "wait", "duration": 0}, THANKS])
    timer = _timer(eng.on_trigger(resolved("c1", 0), 7.0))
    assert timer.at == 7.0
    assert kinds(eng.advance(7.0))[-1] == ("Outcome", "completed", 7.0)


# ---------------------------------------------------------------- goal and exit

def test_goal_before_the_timeout_ends_the_journey_and_makes_the_timer_stale(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS], goal={"trigger": "purchase"})
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0, total=5), HOUR - 1)) == [
        ("Outcome", "goal_reached", HOUR - 1)]
    assert eng.on_timer(timer.token, HOUR) == []
    assert eng.counts.goal_reached == 1 and eng.counts.in_progress == 0 and eng.by_tile["thanks"] == 0


def test_goal_at_the_due_instant_before_the_timer_wins(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS], goal={"trigger": "purchase"})
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0), HOUR)) == [("Outcome", "goal_reached", HOUR)]
    assert eng.on_timer(timer.token, HOUR) == []


def test_goal_after_the_timeout_comes_too_late(catalog):
    """The wait ended at t+d even though its timer was not delivered yet; the journey completed."""
    eng = _engine(catalog, [WAIT_1H, THANKS], goal={"trigger": "purchase"})
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0), HOUR + 1)) == [
        ("Send", "thanks", HOUR), ("Outcome", "completed", HOUR)]
    assert eng.on_timer(timer.token, HOUR + 2) == []
    assert (eng.counts.completed, eng.counts.goal_reached, eng.counts.goals_met) == (1, 0, 0)


def test_goal_filter_both_sides(catalog):
    eng = _engine(catalog, [WAIT_1H], goal={"trigger": "purchase", "filter": "total >= 50"})
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert eng.on_trigger(custom("purchase", "c1", 0, total=49.99), 1.0) == []
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0, total=50), 2.0)) == [("Outcome", "goal_reached", 2.0)]


def test_a_goal_that_does_not_end_the_journey_is_counted_once(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS], goal={"trigger": "purchase", "ends_journey": False})
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert eng.on_trigger(custom("purchase", "c1", 0), 1.0) == []
    eng.on_trigger(custom("purchase", "c1", 0), 2.0)
    assert kinds(eng.advance(HOUR))[-1] == ("Outcome", "completed", HOUR)
    assert (eng.counts.goals_met, eng.counts.goal_reached, eng.counts.completed) == (1, 0, 1)


def test_exit_pre_empts_a_wait(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS], exit={"trigger": "unsubscribe"})
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_trigger(custom("unsubscribe", "c1", 0), 60.0)) == [("Outcome", "exited", 60.0)]
    assert eng.on_timer(timer.token, HOUR) == [] and eng.advance(2 * HOUR) == []
    assert eng.by_tile == {"pause": 1, "thanks": 0}


def test_exit_for_another_customer_changes_nothing(catalog):
    eng = _engine(catalog, [WAIT_1H], exit={"trigger": "unsubscribe"})
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert eng.on_trigger(custom("unsubscribe", "c2", 0), 60.0) == []
    assert eng.waiting(contact("c1")) == ["pause"]


def test_goal_and_exit_on_the_same_event_count_as_goal(catalog):
    """The trigger-based journey doc's pattern: purchase completed is both goal and exit."""
    eng = _engine(catalog, [WAIT_1H], goal={"trigger": "purchase"}, exit={"trigger": "purchase"})
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0), 1.0)) == [("Outcome", "goal_reached", 1.0)]


# ---------------------------------------------------------------- wait for trigger

def test_wait_for_trigger_satisfied_before_the_timeout(catalog):
    eng = _engine(catalog, [WAIT_BUY, THANKS])
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert timer.at == 86400.0
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0, total=60), 100.0)) == [
        ("Send", "bought", 100.0), ("Send", "thanks", 100.0), ("Outcome", "completed", 100.0)]
    assert eng.on_timer(timer.token, 86400.0) == []
    assert eng.by_tile["nudge"] == 0 and eng.by_tile["bought"] == 1


def test_a_trigger_that_fails_the_wait_filter_does_not_satisfy_it(catalog):
    eng = _engine(catalog, [WAIT_BUY])
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert eng.on_trigger(custom("purchase", "c1", 0, total=49), 100.0) == []
    assert eng.on_trigger(custom("purchase", "c2", 0, total=99), 101.0) == []
    assert eng.waiting(contact("c1")) == ["wait_buy"]


def test_wait_for_trigger_satisfied_at_exactly_the_timeout(catalog):
    """At the due instant the call order decides: the trigger came first, so it is in time."""
    eng = _engine(catalog, [WAIT_BUY])
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0, total=50), 86400.0))[0] == ("Send", "bought", 86400.0)
    assert eng.on_timer(timer.token, 86400.0) == []


def test_wait_for_trigger_timed_out_at_exactly_the_timeout(catalog):
    eng = _engine(catalog, [WAIT_BUY, THANKS])
    timer = _timer(eng.on_trigger(resolved("c1", 0), 0.0))
    assert kinds(eng.on_timer(timer.token, 86400.0)) == [
        ("Send", "nudge", 86400.0), ("Send", "thanks", 86400.0), ("Outcome", "completed", 86400.0)]
    assert eng.on_trigger(custom("purchase", "c1", 0, total=50), 86400.0) == []


def test_a_trigger_just_after_the_timeout_finds_the_wait_over(catalog):
    eng = _engine(catalog, [WAIT_BUY])
    eng.on_trigger(resolved("c1", 0), 0.0)
    assert kinds(eng.on_trigger(custom("purchase", "c1", 0, total=50), 86400.001)) == [
        ("Send", "nudge", 86400.0), ("Outcome", "completed", 86400.0)]


def test_branch_on_the_awaited_trigger_attributes(catalog):
    cond = {"id": "size", "kind": "attribute_condition", "trigger": "purchase",
            "branches": [{"name": "big", "condition": "total > 100",
                          "tiles": [{"id": "vip", "kind": "action", "channel": "email",
                                     "template": "Thanks for {{purchase.total}}"}]}]}
    wait = {"id": "w", "kind": "wait_for_trigger", "trigger": "purchase", "timeout": "1d", "triggered": [cond]}
    eng = _engine(catalog, [wait])
    eng.on_trigger(resolved("c1", 0), 0.0)
    eng.on_trigger(resolved("c2", 0), 0.0)
    sends = eng.on_trigger(custom("purchase", "c1", 0, total=100.5), 5.0)
    assert [e.message for e in sends if isinstance(e, Send)] == ["Thanks for 100.5"]
    assert [e for e in eng.on_trigger(custom("purchase", "c2", 0, total=100), 6.0) if isinstance(e, Send)] == []


# ---------------------------------------------------------------- attribute condition

COND = {"id": "satisfaction", "kind": "attribute_condition",
        "branches": [{"name": "unhappy", "condition": "satisfaction <= 2",
                      "tiles": [{"id": "discount", "kind": "action", "channel": "email", "template": "20% off"}]}],
        "otherwise": [{"id": "thanks", "kind": "action", "channel": "email", "template": "Thanks"}]}


@pytest.mark.parametrize("satisfaction, tile", [(1, "discount"), (2, "discount"), (3, "thanks"), (None, "thanks")])
def test_attribute_condition_both_branches_at_the_boundary(catalog, satisfaction, tile):
    eng = _engine(catalog, [COND])
    sends = [e.tile for e in eng.on_trigger(resolved("c1", 0, satisfaction=satisfaction), 0.0) if isinstance(e, Send)]
    assert sends == [tile]


def test_the_first_matching_branch_wins_and_paths_rejoin(catalog):
    cond = {"id": "c", "kind": "attribute_condition", "branches": [
        {"name": "high", "condition": "prioritycode == 'High'", "tiles": [THANKS]},
        {"name": "titled", "condition": "title", "tiles": [SURVEY]}]}
    after = {"id": "after", "kind": "action", "channel": "sms", "template": "bye"}
    eng = _engine(catalog, [cond, after])
    sends = [e.tile for e in eng.on_trigger(resolved("c1", 0, prioritycode="High"), 0.0) if isinstance(e, Send)]
    assert sends == ["thanks", "after"]
    assert eng.by_tile == {"c": 1, "thanks": 1, "survey": 0, "after": 1}


# ---------------------------------------------------------------- personalisation

def test_personalisation_from_the_trigger_record_and_the_profile(catalog):
    tile = {"id": "mail", "kind": "action", "channel": "email",
            "template": "Hello {{contact.firstname}}, your case {{incident.title}}"}
    eng = JourneyEngine(journey(catalog, [tile]), catalog, profiles({"c1": {"firstname": "Ana"}}))
    (send,) = [e for e in eng.on_trigger(resolved("c1", 0), 0.0) if isinstance(e, Send)]
    assert send.message == "Hello Ana, your case Printer"


@pytest.mark.parametrize("records", [{}, {"c1": {"firstname": None}}, {"c1": {"lastname": "Lima"}}])
def test_a_missing_attribute_is_a_failed_send_never_an_empty_string(catalog, records):
    tile = {"id": "mail", "kind": "action", "channel": "email", "template": "Hello {{contact.firstname}}"}
    eng = JourneyEngine(journey(catalog, [tile, THANKS]), catalog, profiles(records))
    effects = eng.on_trigger(resolved("c1", 0), 0.0)
    assert kinds(effects) == [("Entered", 0.0), ("ActionFailed", "mail", "missing_attribute", 0.0),
                              ("Send", "thanks", 0.0), ("Outcome", "completed", 0.0)]
    failed = effects[1]
    assert isinstance(failed, ActionFailed) and failed.action == "email" and "contact.firstname" in failed.detail
    assert (eng.counts.sent, eng.counts.failed) == (1, 1)


def test_create_record_renders_its_values_and_the_store_can_fire_triggers_again(catalog):
    rec = {"id": "followup", "kind": "create_record", "table": "incident",
           "values": {"title": "Follow-up: {{incident.title}}", "statuscode": "Active", "prioritycode": "High"}}
    eng = _engine(catalog, [rec])
    effects = eng.on_trigger(resolved("c1", 0), 3.0)
    (create,) = [e for e in effects if isinstance(e, CreateRecord)]
    assert create.table == "incident" and dict(create.values) == {
        "title": "Follow-up: Printer", "statuscode": "Active", "prioritycode": "High"}
    store = catalog.store()
    store.create("contact", {}, t=0, record_id="c1")
    change = store.create(create.table, {**create.values, "customerid": Ref("contact", "c1")}, t=create.t)
    assert change.record["title"] == "Follow-up: Printer"


# ---------------------------------------------------------------- re-entry

def _entries(eng, times, customer="c1"):
    return [bool(eng.on_trigger(resolved(customer, 0), t)) for t in times]


def test_reentry_never(catalog):
    eng = _engine(catalog, [THANKS], reentry="never")
    assert _entries(eng, [0.0, 10.0, 1e6]) == [True, False, False]
    assert _entries(eng, [1e6 + 1], "c2") == [True]
    assert eng.counts.refused == 2


def test_reentry_always_after_the_previous_instance_ended(catalog):
    eng = _engine(catalog, [THANKS], reentry="always")
    assert _entries(eng, [0.0, 0.0, 5.0]) == [True, True, True]


def test_reentry_after_a_delay_both_sides_of_the_boundary(catalog):
    eng = _engine(catalog, [THANKS], reentry={"after": "1h"})
    assert _entries(eng, [100.0, 100.0 + HOUR - 0.001, 100.0 + HOUR, 100.0 + 2 * HOUR - 1]) == [
        True, False, True, False]


def test_a_customer_in_progress_does_not_start_a_second_instance_unless_concurrent(catalog):
    eng = _engine(catalog, [WAIT_1H], reentry="always")
    assert _entries(eng, [0.0, 10.0]) == [True, False]
    eng.advance(HOUR)
    assert _entries(eng, [HOUR + 1]) == [True]
    par = _engine(catalog, [WAIT_1H], reentry="always", concurrent=True)
    assert _entries(par, [0.0, 10.0]) == [True, True]
    assert par.waiting(contact("c1")) == ["pause", "pause"]


def test_an_exit_applies_to_every_instance_of_the_customer_then_entry_may_restart(catalog):
    eng = _engine(catalog, [WAIT_1H], concurrent=True, exit={"trigger": "unsubscribe"})
    _entries(eng, [0.0, 10.0])
    assert [e.outcome for e in eng.on_trigger(custom("unsubscribe", "c1", 0), 20.0)] == ["exited", "exited"]


def test_the_entry_trigger_can_also_be_the_exit(catalog):
    """Existing instances see the event first (exit), then the re-entry rules decide on a new one."""
    eng = _engine(catalog, [WAIT_1H], exit={"trigger": "status"})
    eng.on_trigger(resolved("c1", 0), 0.0)
    effects = eng.on_trigger(resolved("c1", 0), 10.0)
    assert kinds(effects)[:2] == [("Outcome", "exited", 10.0), ("Entered", 10.0)]


# ---------------------------------------------------------------- bookkeeping

def test_counts_add_up_and_by_tile_counts_instances(catalog):
    eng = _engine(catalog, [WAIT_1H, THANKS], exit={"trigger": "unsubscribe"})
    for i, t in enumerate([0.0, 1.0, 2.0]):
        eng.on_trigger(resolved(f"c{i}", 0), t)
    eng.on_trigger(custom("unsubscribe", "c1", 0), 5.0)
    eng.advance(1.5 + HOUR)
    c = eng.counts
    assert (c.entered, c.completed, c.exited, c.in_progress) == (3, 1, 1, 1) and c.balanced()
    assert eng.by_tile == {"pause": 3, "thanks": 1}


def test_times_never_go_back(catalog):
    eng = _engine(catalog, [THANKS])
    eng.on_trigger(resolved("c1", 0), 10.0)
    with pytest.raises(ValueError, match="times never go back"):
        eng.on_trigger(resolved("c2", 0), 9.0)


def test_the_engine_refuses_a_journey_that_cannot_go_live(catalog):
    j = journey(catalog, [THANKS])
    catalog.triggers["status"] = catalog.triggers["status"].model_copy(update={"state": "draft"})
    with pytest.raises(ValueError, match="trigger 'status' is draft"):
        JourneyEngine(j, catalog)
