"""Batch edges: equal-length columns (both sides of the length check, the exact message), copies
of the column dict, row selection, added columns, concatenation of zero, one and several batches."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.batch import Batch


def _b(ids, ts, **extra):
    return Batch({"id": np.asarray(ids), "t": np.asarray(ts, dtype=float), **extra})


def test_columns_of_the_same_length_are_accepted_and_read_back():
    b = _b([3, 1, 2], [0.5, 1.0, 2.0], kind=np.array([7, 8, 9]))
    assert len(b) == 3
    assert b.ids.tolist() == [3, 1, 2] and b["id"] is b.ids
    assert b.t.tolist() == [0.5, 1.0, 2.0] and b["t"] is b.t
    assert b["kind"].tolist() == [7, 8, 9]
    assert len(_b([], [])) == 0


@pytest.mark.parametrize("n_t,name_ok", [(2, False), (4, False), (3, True)])
def test_a_column_one_row_short_or_long_is_refused_with_its_name_and_lengths(n_t, name_ok):
    cols = {"id": np.arange(3), "t": np.zeros(3), "late": np.zeros(n_t)}
    if name_ok:
        assert len(Batch(cols)) == 3
        return
    with pytest.raises(ValueError) as err:
        Batch(cols)
    assert str(err.value) == f"column 'late' has {n_t} rows, expected 3"


def test_a_short_t_column_is_refused_too():
    with pytest.raises(ValueError) as err:
        Batch({"id": np.arange(2), "t": np.zeros(1)})
    assert str(err.value) == "column 't' has 1 rows, expected 2"


def test_the_column_dict_is_a_copy():
    cols = {"id": np.arange(2), "t": np.zeros(2)}
    b = Batch(cols)
    cols["x"] = np.zeros(2)
    assert "x" not in b.cols
    b["y"] = np.ones(2)
    assert "y" not in cols


def test_setting_a_column_checks_its_length_on_both_sides():
    b = _b([1, 2], [0.0, 1.0])
    b["w"] = np.array([5, 6])
    assert b["w"].tolist() == [5, 6]
    for n in (1, 3):
        with pytest.raises(ValueError) as err:
            b["w"] = np.zeros(n)
        assert str(err.value) == f"column 'w' has {n} rows, expected 2"
    assert b["w"].tolist() == [5, 6]  # unchanged after a refusal


def test_take_by_mask_index_and_slice_keeps_every_column():
    b = _b([10, 11, 12, 13], [0.0, 1.0, 2.0, 3.0], k=np.array(["a", "b", "c", "d"]))
    m = b.take(np.array([True, False, True, False]))
    assert m.ids.tolist() == [10, 12] and m.t.tolist() == [0.0, 2.0] and m["k"].tolist() == ["a", "c"]
    i = b.take(np.array([3, 0]))
    assert i.ids.tolist() == [13, 10] and i["k"].tolist() == ["d", "a"]
    s = b.take(slice(1, 3))
    assert s.ids.tolist() == [11, 12] and s.t.tolist() == [1.0, 2.0] and s["k"].tolist() == ["b", "c"]
    assert len(b) == 4


def test_with_columns_returns_a_new_batch_and_leaves_the_original_alone():
    b = _b([1, 2], [0.0, 1.0])
    out = b.with_columns(a=np.array([1, 2]), t=np.array([5.0, 6.0]))
    assert out is not b
    assert out["a"].tolist() == [1, 2] and out.t.tolist() == [5.0, 6.0] and out.ids.tolist() == [1, 2]
    assert "a" not in b.cols and b.t.tolist() == [0.0, 1.0]
    assert b.with_columns().cols == b.cols
    with pytest.raises(ValueError, match=r"^column 'a' has 3 rows, expected 2$"):
        b.with_columns(a=np.zeros(3))


def test_concat_of_nothing_is_refused():
    with pytest.raises(ValueError) as err:
        Batch.concat([])
    assert str(err.value) == "nothing to concatenate"
    with pytest.raises(ValueError, match=r"^nothing to concatenate$"):
        Batch.concat([None, None])


def test_concat_of_one_batch_is_that_batch_and_nones_are_skipped():
    b = _b([1], [0.0])
    assert Batch.concat([b]) is b
    assert Batch.concat([None, b, None]) is b
    assert Batch.concat(iter([b])) is b  # any iterable


def test_concat_of_several_batches_keeps_order_and_every_column():
    a = _b([1, 2], [0.0, 1.0], k=np.array([7, 8]))
    b = _b([3], [2.0], k=np.array([9]))
    c = Batch.concat([a, None, b, _b(np.array([], dtype=int), [], k=np.array([], dtype=int))])
    assert c.ids.tolist() == [1, 2, 3] and c.t.tolist() == [0.0, 1.0, 2.0] and c["k"].tolist() == [7, 8, 9]
    assert set(c.cols) == {"id", "t", "k"}
    assert len(Batch.concat([b, a])) == 3 and Batch.concat([b, a]).ids.tolist() == [3, 1, 2]


def test_concat_takes_the_columns_in_the_first_batch_order():
    a = Batch({"id": np.array([1]), "t": np.array([0.0]), "k": np.array([7])})
    b = Batch({"k": np.array([9]), "t": np.array([2.0]), "id": np.array([3])})
    c = Batch.concat([a, b])
    assert list(c.cols) == ["id", "t", "k"]
    assert list(Batch.concat([b, a]).cols) == ["k", "t", "id"]
    assert c["k"].tolist() == [7, 9] and c.ids.tolist() == [1, 3]
