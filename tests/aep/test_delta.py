"""Delta loads: each run copies the rows whose delta column advanced, none twice, none missed."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.aep.delta import DeltaColumn, DeltaCopy, delta_column_change_problem
from sim.domain.aep.problems import AepError

COL = DeltaColumn("upd")  # yyyy-MM-dd HH:mm:ss, UTC: 1-second resolution


def rows(*stamps):
    return [{"id": i, "upd": t} for i, t in enumerate(stamps)]


def ids(selected):
    return [r["id"] for r in selected]


def test_delta_column_reads_and_writes_its_date_format_in_its_time_zone():
    assert COL.resolution_s == 1.0
    assert COL.format(1767225600.9) == "2026-01-01 00:00:00"
    assert COL.parse("2026-01-01 00:00:00") == 1767225600.0
    paris = DeltaColumn("upd", "yyyy-MM-dd HH:mm:ss", "Europe/Paris")
    assert paris.parse("2026-01-01 01:00:00") == 1767225600.0  # UTC+1 in winter
    millis = DeltaColumn("upd", "yyyy-MM-dd'T'HH:mm:ss.SSS")
    assert millis.resolution_s == 0.001 and millis.format(1767225600.25) == "2026-01-01T00:00:00.250"
    assert DeltaColumn("d", "yyyy-MM-dd", "Europe/Paris").truncate(1767225600 + 7200) == 1767222000.0  # local midnight


def test_unreadable_delta_columns_are_refused_naming_the_field():
    with pytest.raises(AepError) as exc:
        DeltaColumn("", "dd/MM/yy HH:mm", "Mars/Olympus")
    fields = [p.field for p in exc.value.problems]
    assert fields == ["deltaColumn.name", "deltaColumn.dateFormat", "deltaColumn.timezone"]


def test_the_first_run_with_backfill_copies_the_whole_history_up_to_the_cut():
    copy = DeltaCopy(COL, backfill=True, start_time=1000)
    got, hwm = copy.select(rows(5, 999.5, 1000, 1099.9, 1100, 1100.4), None, run_start=1100.5)
    assert ids(got) == [0, 1, 2, 3] and hwm == 1100  # the cut is floor(run start) at 1 s


def test_the_first_run_without_backfill_copies_only_changes_from_the_start_time_on():
    copy = DeltaCopy(COL, backfill=False, start_time=1000)
    got, hwm = copy.select(rows(5, 999, 999.99, 1000, 1000.2, 1099), None, run_start=1100)
    assert ids(got) == [3, 4, 5] and hwm == 1100  # 999.99 is stamped 999: before the start


def test_a_row_stamped_exactly_at_the_mark_is_copied_once_by_the_next_run():
    """Equal timestamps at the high-water mark: a row stamped with the cut second belongs to the
    next run, never to both, never to neither."""
    copy = DeltaCopy(COL, backfill=True)
    first, hwm = copy.select(rows(99, 100, 100.7), None, run_start=100.0)
    assert ids(first) == [0] and hwm == 100
    second, hwm2 = copy.select(rows(99, 100, 100.7), hwm, run_start=200.0)
    assert ids(second) == [1, 2] and hwm2 == 200


def test_a_row_updated_during_a_run_is_left_to_the_next_run():
    copy = DeltaCopy(COL)
    # the run started at 100; while it paged, row 1 was updated at 103: the read sees the new version
    got, hwm = copy.select(rows(50, 103), 10, run_start=100)
    assert ids(got) == [0]
    got, _ = copy.select(rows(50, 103), hwm, run_start=200)
    assert ids(got) == [1]


def test_a_failed_run_keeps_its_mark_and_the_window_is_copied_again():
    copy = DeltaCopy(COL)
    attempt, _ = copy.select(rows(10, 20), 0, run_start=100)  # failed: the caller does not commit
    retry, hwm = copy.select(rows(10, 20, 150), 0, run_start=200)
    assert ids(attempt) == [0, 1] and ids(retry) == [0, 1, 2] and hwm == 200


def test_text_and_missing_delta_values():
    copy = DeltaCopy(COL)
    sel = copy.select([{"upd": "1970-01-01 00:01:39"}, {"upd": None}, {"upd": ""}, {"upd": 50.5}], None, 100)
    assert [r["upd"] for r in sel.rows] == ["1970-01-01 00:01:39", 50.5]
    assert sel.no_delta_value == 2 and sel.window == (-math.inf, 100)


def test_without_a_delta_column_every_run_is_a_full_reload():
    """A flow carrying only a Mapping transformation: no delta column, so each run copies every
    visible row (backfill or not), the mark stays None, unchanged rows are read again."""
    for backfill in (True, False):
        copy = DeltaCopy(None, backfill=backfill, start_time=10**9)
        assert copy.mode == "full"
        first, hwm = copy.select(rows(1, 2, 3), None, run_start=100)
        second, hwm2 = copy.select(rows(1, 2, 3, 150), hwm, run_start=200)
        assert ids(first) == [0, 1, 2] and ids(second) == [0, 1, 2, 3] and hwm is None and hwm2 is None


def test_the_delta_column_is_fixed_after_the_first_run():
    other = DeltaColumn("modified")
    assert delta_column_change_problem(COL, other, runs_done=0) is None
    assert delta_column_change_problem(COL, COL, runs_done=3) is None
    problem = delta_column_change_problem(COL, other, runs_done=1)
    assert problem.field == "transformations.Copy.params.deltaColumn" and "fixed after the first run" in problem.message
    assert delta_column_change_problem(None, COL, runs_done=1) is not None  # adding one to a full-reload flow too


def test_vector_form_agrees():
    copy = DeltaCopy(COL, backfill=False, start_time=10)
    mask, hwm = copy.select_mask(np.array([9, 10, np.nan, 99, 100]), None, 100.9)
    assert mask.tolist() == [False, True, False, True, False] and hwm == 100


# -- the property: no version read twice, none missed ---------------------------------------------
@st.composite
def histories(draw):
    n_keys = draw(st.integers(1, 5))
    # write times on a half-second grid, so that many equal each other and the integer run starts
    writes = draw(st.lists(st.tuples(st.integers(0, n_keys - 1), st.integers(0, 64)), max_size=24, unique=True))
    starts = sorted(draw(st.sets(st.integers(0, 32), min_size=1, max_size=8)))
    start_time = draw(st.integers(0, 16))
    starts = [s for s in starts if s >= start_time] + [1000]  # a last run after every write
    # each run reads each key at some moment before the next run starts (paging during the run)
    reads = []
    for j, r in enumerate(starts):
        gap = (starts[j + 1] - r) if j + 1 < len(starts) else 1
        reads.append([r + draw(st.integers(0, 2 * gap - 1)) / 2 for _ in range(n_keys)])
    return n_keys, [(k, w / 2) for k, w in writes], starts, reads, start_time, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(histories())
def test_no_version_is_read_twice_or_missed_across_runs(history):
    n_keys, writes, starts, reads, start_time, backfill = history
    copy = DeltaCopy(COL, backfill=backfill, start_time=start_time)
    versions = {k: sorted(w for kk, w in writes if kk == k) for k in range(n_keys)}
    delivered: list[tuple[int, float]] = []
    hwm = None
    for r, read_at in zip(starts, reads):
        visible = []
        for k in range(n_keys):  # what the paged read sees of key k: its latest version at that moment
            seen = [w for w in versions[k] if w <= read_at[k]]
            if seen:
                visible.append({"key": k, "upd": seen[-1]})
        sel = copy.select(visible, hwm, run_start=r)
        hwm = sel.high_water_mark
        delivered += [(row["key"], row["upd"]) for row in sel.rows]
        cut = math.floor(r)
        for row in visible:  # nothing missed: a version stamped before the cut has arrived by now
            stamp = math.floor(row["upd"])
            if stamp < cut and (backfill or stamp >= start_time):
                assert (row["key"], row["upd"]) in delivered, (row, r)
    assert len(delivered) == len(set(delivered)), "a version was read twice"
    if not backfill:
        assert all(math.floor(w) >= start_time for _, w in delivered)
    for k, ws in versions.items():  # the latest state of every key arrives
        if ws and (backfill or math.floor(ws[-1]) >= start_time):
            assert (k, ws[-1]) in delivered
