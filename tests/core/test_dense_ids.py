"""First occurrences in a batch and the seen-ids bitmap, against numpy.unique and a Python set."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.dense_ids import SeenIds, first_occurrences


def unique_oracle(ids: np.ndarray) -> np.ndarray:
    first = np.zeros(len(ids), dtype=bool)
    if len(ids):
        first[np.unique(ids, return_index=True)[1]] = True
    return first


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=80), st.integers(0, 10**7))
def test_first_occurrences_are_numpy_uniques_first_rows(ids, shift):
    """Narrow and wide id ranges (the counting path and the sorting path)."""
    for arr in (np.array(ids, dtype=np.int64), np.array(ids, dtype=np.int64) * (shift + 1) + shift):
        assert np.array_equal(first_occurrences(arr), unique_oracle(arr))


def test_a_batch_without_repeats_is_all_first_and_repeats_after_the_first_are_not():
    assert first_occurrences(np.arange(10_000, 20_000)).all()
    ids = np.array([5, 7, 5, 5, 9, 7])
    assert first_occurrences(ids).tolist() == [True, True, False, False, True, False]
    assert first_occurrences(np.array([3])).tolist() == [True]
    assert first_occurrences(np.empty(0, dtype=np.int64)).tolist() == []
    assert SeenIds().first_time(np.empty(0, dtype=np.int64)).dtype == bool  # callers invert it


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3000), max_size=40), max_size=6))
def test_seen_ids_report_ids_new_to_every_earlier_call_and_row(batches):
    seen, oracle = SeenIds(), set()
    for batch in batches:
        expect = []
        for i in batch:
            expect.append(i not in oracle)
            oracle.add(i)
        assert seen.first_time(np.array(batch, dtype=np.int64)).tolist() == expect


def test_narrow_integer_types_do_not_overflow_and_negative_ids_are_refused():
    import pytest

    ids = np.array([-30000, 30000, -30000], dtype=np.int16)
    assert first_occurrences(ids).tolist() == [True, True, False]
    for dtype in (np.int32, np.uint32, np.uint64):
        arr = np.array([7, 3, 7, 3, 9], dtype=dtype)
        assert np.array_equal(first_occurrences(arr), unique_oracle(arr))
    with pytest.raises(ValueError, match="non-negative"):
        SeenIds().first_time(np.array([-1, 5]))
