"""Lineage (sim.core.lineage) on a ledger written by hand: roots through two generations, messages
without a parent, kinds that do not descend from the root; and each fate of :func:`reactions` with
its precedence (reacted, in flight, a drop reason, no notification, no reaction path), the first
reaction as the earliest over every descendant and stage, a stage stamped exactly at the horizon
counted and one just after it not."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.ledger import Ledger
from sim.core.lineage import descends_from, reactions, roots

H = 10.0
STAGES = [("flow", "notification"), ("hook", "sent")]


def ledger() -> Ledger:
    led = Ledger()
    led.register("click", ["created"])
    led.register("pe", ["created", "published"], parent_kind="click")
    led.register("flow", ["created", "notification"], parent_kind="pe")
    led.register("hook", ["created", "sent"], parent_kind="pe")
    led.register("other", ["created"])
    return led


def test_roots_walk_up_two_generations_and_keep_minus_one():
    led = ledger()
    led.create("click", np.array([0.0, 0.0, 0.0]))
    led.create("pe", np.array([1.0, 1.0, 1.0]), parent=np.array([2, 0, -1]))
    led.create("flow", np.array([2.0, 2.0, 2.0, 2.0]), parent=np.array([1, 0, 2, 0]))
    assert roots(led, "flow", np.arange(4), "click").tolist() == [0, 2, -1, 2]
    assert roots(led, "flow", np.array([-1, 3]), "click").tolist() == [-1, 2]
    assert roots(led, "flow", np.arange(4), "pe").tolist() == [1, 0, 2, 0]
    assert roots(led, "pe", np.array([0, 1, 2]), "pe").tolist() == [0, 1, 2]  # already the root kind
    assert roots(led, "pe", np.array([0, 1, 2]), "pe").dtype == np.int64
    assert roots(led, "other", np.array([0, 0]), "click").tolist() == [-1, -1]  # no parent kind: no root
    assert roots(led, "other", np.array([0, 0]), "click").dtype == np.int64
    assert roots(led, "click", np.array([0, 1]), "pe").tolist() == [-1, -1]  # pe is below click, not above


def test_descends_from():
    led = ledger()
    assert descends_from(led, "flow", "click") and descends_from(led, "flow", "pe")
    assert descends_from(led, "click", "click")
    assert not descends_from(led, "click", "flow")
    assert not descends_from(led, "other", "click")
    assert not descends_from(led, "hook", "flow")


def test_each_fate_and_the_first_reaction():
    led = ledger()
    n = 9
    clicks = led.create("click", np.zeros(n))
    led.deliver("click", clicks[[0, 1, 2, 4, 5, 6, 8]], 0.5)
    led.drop("click", [3], "allocation", 0.5)
    led.drop("click", [7], "allocation", 0.5)
    # click: 0 1 4 5 6 7 8 each have one platform event; 2 and 3 have none
    pe = led.create("pe", np.ones(7), parent=np.array([0, 1, 4, 5, 6, 7, 8]))
    led.deliver("pe", pe, 1.0)
    # flows: 0 and 1 for click 0 (notified at 5 and at 3), 2 for click 1 (delivered, no notification),
    # 3 for click 4 (in flight), 4 for click 5 (dropped: faulted), 5 for click 6 (notified and
    # delivered after the horizon), 6 for click 7 (notified, although the click was dropped)
    flows = led.create("flow", np.full(7, 2.0), parent=np.array([0, 0, 1, 2, 3, 4, 5]))
    led.stamp("flow", "notification", flows[[0, 1, 5, 6]], [5.0, 3.0, H + 1.0, 4.0])
    led.deliver("flow", flows[[0, 1, 2, 6]], 6.0)
    led.drop("flow", [4], "faulted", 3.0)
    led.deliver("flow", [5], H + 1.0)
    # click 8: its web hook was sent exactly at the horizon
    hook = led.create("hook", np.array([2.0]), parent=np.array([6]))
    led.stamp("hook", "sent", hook, H)
    led.deliver("hook", hook, H)
    first, fate = reactions(led, "click", STAGES, H)
    assert fate.tolist() == ["reacted", "no_notification", "no_reaction_path", "allocation", "in_flight",
                             "faulted", "in_flight", "reacted", "reacted"]
    assert first[0] == 3.0 and first[7] == 4.0 and first[8] == H
    assert np.isnan(first[[1, 2, 3, 4, 5, 6]]).all()
    assert fate.dtype == object and first.dtype == np.float64


def test_a_reaction_just_after_the_horizon_is_none_yet():
    led = ledger()
    led.create("click", np.array([0.0]))
    led.deliver("click", [0], 0.0)
    led.create("pe", np.array([1.0]), parent=np.array([0]))
    led.deliver("pe", [0], 1.0)
    led.create("hook", np.array([1.0]), parent=np.array([0]))
    led.stamp("hook", "sent", [0], H + 1e-6)
    led.deliver("hook", [0], H + 1e-6)
    first, fate = reactions(led, "click", STAGES, H)
    assert fate.tolist() == ["in_flight"] and np.isnan(first[0])
    first, fate = reactions(led, "click", STAGES, H + 1e-6)
    assert fate.tolist() == ["reacted"] and first[0] == pytest.approx(H + 1e-6)


def test_a_dropped_root_keeps_its_own_reason_over_a_descendants():
    led = ledger()
    led.create("click", np.array([0.0, 0.0]))
    led.drop("click", [0], "allocation", 0.5)
    led.deliver("click", [1], 0.5)
    led.create("pe", np.array([1.0, 1.0]), parent=np.array([0, 1]))
    led.drop("pe", [0], "rate_limited", 1.0)
    led.drop("pe", [1], "rate_limited", 1.0)
    _, fate = reactions(led, "click", STAGES, H)
    assert fate.tolist() == ["allocation", "no_reaction_path"]  # pe is not a reacting kind
    led.create("flow", np.array([2.0, 2.0]), parent=np.array([0, 1]))
    led.drop("flow", [0, 1], "faulted", 3.0)
    _, fate = reactions(led, "click", STAGES, H)
    assert fate.tolist() == ["allocation", "faulted"]


def test_a_root_still_in_flight_and_stages_of_unrelated_or_unknown_kinds():
    led = ledger()
    led.create("click", np.array([0.0, 0.0]))
    led.deliver("click", [1], H + 5)  # delivered after the horizon: in flight as of it
    led.create("other", np.array([1.0]))
    led.stamp("other", "created", [0], 1.0)
    first, fate = reactions(led, "click", [("other", "created"), ("nobody", "x"), *STAGES], H)
    assert fate.tolist() == ["in_flight", "in_flight"] and np.isnan(first).all()
    assert reactions(led, "click", [], H)[1].tolist() == ["in_flight", "in_flight"]


def test_a_descendant_without_a_root_reacts_for_nobody():
    led = ledger()
    led.create("click", np.array([0.0, 0.0]))
    led.deliver("click", [0, 1], 0.0)
    led.create("pe", np.array([1.0]), parent=np.array([-1]))  # a platform event no click caused
    led.create("flow", np.array([2.0]), parent=np.array([0]))
    led.stamp("flow", "notification", [0], 3.0)
    first, fate = reactions(led, "click", STAGES, H)
    assert fate.tolist() == ["no_reaction_path", "no_reaction_path"] and np.isnan(first).all()


def test_a_dropped_descendant_names_the_reason_even_beside_one_that_was_delivered():
    led = ledger()
    led.create("click", np.array([0.0]))
    led.deliver("click", [0], 0.0)
    led.create("pe", np.array([1.0]), parent=np.array([0]))
    led.create("flow", np.array([2.0, 2.0]), parent=np.array([0, 0]))
    led.drop("flow", [0], "faulted", 3.0)
    led.deliver("flow", [1], 3.0)  # delivered, never notified
    assert reactions(led, "click", STAGES, H)[1].tolist() == ["faulted"]
