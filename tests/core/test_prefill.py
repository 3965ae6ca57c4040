"""The ledger's columns filled on a second thread (sim.core.prefill): every row a run reads or
writes holds its fill value first, whoever wrote it; a forked process fills what is missing
itself; a table grown past its reservation, pickled or finished has no thread left writing it."""

import multiprocessing
import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core import prefill
from sim.core.ledger import Ledger
from sim.core.prefill import Prefill


@pytest.fixture
def small_chunks(monkeypatch):
    """A thread for tails of 64 rows and up, filling 8 rows at a time: races on small arrays."""
    monkeypatch.setattr(prefill, "MIN_ROWS", 64)
    monkeypatch.setattr(prefill, "CHUNK_ROWS", 8)


def test_a_short_tail_is_filled_at_once_without_a_thread():
    a = np.zeros(100)
    p = Prefill([(a, np.nan)], 10, 100)
    assert p._thread is None and p.filled == 100
    assert (a[:10] == 0).all() and np.isnan(a[10:]).all()


def test_a_long_tail_is_filled_by_a_thread_and_ensure_waits_for_the_rows_asked(small_chunks):
    a, b = np.zeros(10_000), np.zeros(10_000, dtype=np.int16)
    p = Prefill([(a, np.nan), (b, -1)], 3, 10_000)
    assert p._thread is not None
    p.ensure(5_000)
    assert p.filled >= 5_000 and np.isnan(a[3:5_000]).all() and (b[3:5_000] == -1).all()
    assert (a[:3] == 0).all() and (b[:3] == 0).all()  # rows below lo are the caller's
    p.join()
    assert p.filled == 10_000 and np.isnan(a[3:]).all() and (b[3:] == -1).all()
    p.ensure(20_000)  # past the end: nothing more to wait for
    p._thread.join(5)
    assert not p._thread.is_alive()


def _ensure_in_child(p, a, rows, queue):
    p.ensure(rows)
    queue.put((bool(np.isnan(a[:rows]).all()), p.filled))


def test_a_forked_process_fills_what_the_parents_thread_had_not(small_chunks, monkeypatch):
    a = np.zeros(100_000)
    gate = multiprocessing.get_context("fork").Event()  # holds the parent's thread
    started = []
    real_fill = Prefill._fill

    parent = os.getpid()

    def slow_first(self, lo, hi):  # the parent's thread stops after its first chunk
        started.append(lo)
        if len(started) > 1 and os.getpid() == parent:
            gate.wait(30)
        real_fill(self, lo, hi)

    monkeypatch.setattr(Prefill, "_fill", slow_first)
    p = Prefill([(a, np.nan)], 0, 100_000)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_ensure_in_child, args=(p, a, 50_000, q))
    child.start()
    all_nan, filled = q.get(timeout=30)
    child.join(30)
    held_at = p.filled
    gate.set()
    p.join()
    assert all_nan and filled == 100_000  # the child filled the rest itself, without the thread
    assert held_at <= 8  # while the parent's thread was held after its first chunk
    assert np.isnan(a).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=40), st.integers(0, 2_000))
def test_a_table_written_while_its_rows_are_filled_reads_as_one_filled_at_once(batches, reserve):
    """Appends of any sizes, one by one and in arrays, into a reservation filled on a thread (or
    grown past it): the same columns as with the fill written at once."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(prefill, "MIN_ROWS", 64)
        m.setattr(prefill, "CHUNK_ROWS", 8)
        threaded = _written(batches, reserve)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(prefill, "MIN_ROWS", 1 << 62)
        at_once = _written(batches, reserve)
    for name, column in at_once.items():
        assert np.array_equal(threaded[name], column, equal_nan=True), name


def _written(batches, reserve):
    led = Ledger()
    led.register("m", ["a", "b"], expected=reserve)
    t = 0.0
    for k in batches:
        if k % 3 == 0:
            ids = [led.create_one("m", t + i) for i in range(k)]
        else:
            ids = led.create("m", t + np.arange(k, dtype=float)).tolist()
        led.stamp("m", "b", np.array(ids[::2]), np.full(len(ids[::2]), t + 1.0))
        if k % 2:
            led.drop("m", np.array(ids[:1]), "invalid_payload", np.array([t + 2.0]))
        t += k
    table = led.table("m")
    table.complete()
    return {"a": table.stamp["a"].copy(), "b": table.stamp["b"].copy(), "state": table.state.copy(),
            "reason": table.reason.copy(), "end_t": table.end_t.copy(), "n": np.array([table.n])}


def test_a_finished_or_pickled_table_has_no_thread_writing_it(small_chunks):
    led = Ledger()
    led.register("m", ["a"], expected=5_000)
    led.create("m", np.arange(1_100, dtype=float))  # past 1,024 rows: the reservation is made
    table = led.table("m")
    assert table._prefill is not None
    copy = pickle.loads(pickle.dumps(table))
    assert copy._prefill is None and table._prefill.filled == table._prefill.hi
    assert np.array_equal(copy.stamp["a"], table.stamp["a"], equal_nan=True)
    assert np.isnan(copy.stamp["a"][1_100:]).all() and (copy.reason[1_100:] == -1).all()
    led.finish()
    assert table._filled == table._cap
