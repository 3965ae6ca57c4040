"""merge_by_time: stable merge of two time-sorted lists with their parallel items; among equal
times ``a``'s come first; no items on either side gives no items."""

from __future__ import annotations

from sim.core.sorted_lists import merge_by_time


def _oracle(ta, ia, tb, ib):
    # a stable sort of (time, side, position) with side a = 0 before b = 1
    rows = [(t, 0, k, x) for k, (t, x) in enumerate(zip(ta, ia))]
    rows += [(t, 1, k, x) for k, (t, x) in enumerate(zip(tb, ib))]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [r[0] for r in rows], [r[3] for r in rows]


def test_equal_times_keep_a_first_then_b_in_their_own_order():
    ta, ia = [1.0, 2.0, 2.0, 5.0], ["a1", "a2", "a2b", "a5"]
    tb, ib = [0.5, 2.0, 2.0, 6.0], ["b0", "b2", "b2b", "b6"]
    times, items = merge_by_time(ta, ia, tb, ib)
    assert times == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 5.0, 6.0]
    assert items == ["b0", "a1", "a2", "a2b", "b2", "b2b", "a5", "b6"]
    assert (times, items) == _oracle(ta, ia, tb, ib)


def test_items_are_never_compared_only_times():
    # equal times with items that cannot be ordered (dicts): only the time is the key
    times, items = merge_by_time([1.0], [{"x": 1}], [1.0], [{"y": 2}])
    assert times == [1.0, 1.0] and items == [{"x": 1}, {"y": 2}]
    times, items = merge_by_time([1.0], [{"x": 1}], [0.0], [{"y": 2}])
    assert items == [{"y": 2}, {"x": 1}]


def test_empty_sides():
    assert merge_by_time([], [], [], []) == ([], [])
    assert merge_by_time([1.0], ["a"], [], []) == ([1.0], ["a"])
    assert merge_by_time([], [], [1.0], ["b"]) == ([1.0], ["b"])


def test_no_items_on_either_side_gives_no_items_and_merged_times():
    assert merge_by_time([1.0, 3.0], None, [2.0], ["b"]) == ([1.0, 2.0, 3.0], None)
    assert merge_by_time([1.0, 3.0], ["a", "c"], [2.0], None) == ([1.0, 2.0, 3.0], None)
    assert merge_by_time([2.0], None, [1.0, 2.0], None) == ([1.0, 2.0, 2.0], None)


def test_the_result_is_a_new_list():
    ta, tb = [1.0], [2.0]
    times, _ = merge_by_time(ta, None, tb, None)
    times.append(9.0)
    assert ta == [1.0] and tb == [2.0]
