"""``sim insights replay`` on hostile CSV files: implausible times and NUL bytes are bad rows with
line numbers, and pandas' C reader and the row-by-row reader give the same result on any file."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim.runs.replay as replay_mod
from sim.domain.insight_spec import parse_insight
from sim.io.csvrows import T_MAX
from sim.io.records import read_records
from sim.runs.replay import replay
from tests.hostile.conftest import assert_refused, invoke

T0 = 1_767_225_600  # 2026-01-01
SPEC = parse_insight({"name": "hot", "filter": "page == 'pricing'", "threshold": 2, "window": "10m",
                      "measure": "count", "group_by": "profile_id"})
BASKET = parse_insight({"name": "basket", "filter": "", "threshold": 100, "window": "1h",
                        "measure": "sum:amount", "group_by": "profile_id"})


def run(tmp_path, data: bytes, *, python: bool = False, specs=(SPEC,), on_bad_row="skip", name="ev.csv"):
    """Replay ``data``; with ``python`` the row-by-row reader is forced. Returns (result, firings
    text, whether the fast reader was used)."""
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / (name + (".py" if python else ".auto") + ".firings.csv")
    used = []
    original = replay_mod.regular_structure

    def spy(*args, **kwargs):
        blanks = None if python else original(*args, **kwargs)
        used.append(blanks is not None)
        return blanks

    replay_mod.regular_structure = spy
    try:
        result = replay(list(specs), path, out, on_bad_row=on_bad_row)
    finally:
        replay_mod.regular_structure = original
    return result, out.read_text(), bool(used and used[0])


def same(tmp_path, data: bytes, specs=(SPEC,)):
    fast, fired_fast, used_fast = run(tmp_path, data, specs=specs)
    slow, fired_slow, _ = run(tmp_path, data, python=True, specs=specs)
    assert [(b.line, b.reason) for b in fast.rejected] == [(b.line, b.reason) for b in slow.rejected]
    assert fired_fast == fired_slow
    assert fast.events == slow.events and fast.insights == slow.insights
    return fast, used_fast


def lines(*rows: str) -> bytes:
    return ("event_time,profile_id,page\n" + "".join(r + "\n" for r in rows)).encode()


@pytest.mark.parametrize("bad_time, why", [
    ("1e300", "outside 1970-01-01 .. 2200-01-01"), ("1767225600000", "milliseconds are not allowed"),
    ("-1", "outside"), (str(int(T_MAX)), "outside"), ("9999-01-01T00:00:00Z", "ISO 8601"),
    ("inf", "is not a finite time"), ("-inf", "is not a finite time"), ("nan", "is not a finite time"),
    ("soon", "neither epoch seconds nor ISO")])
def test_an_implausible_time_is_a_bad_row_and_later_events_count(tmp_path, bad_time, why):
    data = lines(f"{T0},p1,pricing", f"{bad_time},p1,pricing", f"{T0 + 60},p1,pricing")
    result, firings, _ = run(tmp_path, data)
    assert [(b.line, why in b.reason) for b in result.rejected] == [(3, True)], result.rejected
    assert result.events == 2 and result.insights[0].late == 0 and result.firings == 1
    assert firings.splitlines()[1].startswith("hot,p1,")


def test_an_implausible_time_fails_under_on_bad_row_fail(tmp_path, events_csv):
    events_csv.write_text("event_time,profile_id,page\n1e300,p1,pricing\n1767225600,p1,pricing\n")
    spec = tmp_path / "i.yaml"
    spec.write_text("name: hot\nfilter: \"page == 'pricing'\"\nthreshold: 2\nwindow: 10m\n")
    r = invoke("insights", "replay", "--insight", spec, events_csv, "--out", tmp_path / "f.csv", "--on-bad-row", "fail")
    assert_refused(r, f"{events_csv}:2:", "'1e300' is outside 1970-01-01")
    r = invoke("insights", "replay", "--insight", spec, events_csv, "--out", tmp_path / "f.csv")
    assert r.exit_code == 0 and f"{events_csv}:2: event time '1e300' is outside" in r.output, r.output


def test_nul_bytes_are_bad_rows_with_line_numbers(tmp_path):
    data = lines(f"{T0},p1,pricing", f"{T0 + 1},p\x001,pricing", f"{T0 + 2},p1,pri\x00cing", f"{T0 + 3},p1,pricing")
    result, used_fast = same(tmp_path, data)
    assert not used_fast
    assert [(b.line, b.reason) for b in result.rejected] == [(3, "NUL byte in field 'profile_id'"),
                                                              (4, "NUL byte in field 'page'")]
    assert result.events == 2 and result.firings == 1
    with pytest.raises(ValueError, match=r"ev.csv:3: NUL byte in field 'profile_id' \(--on-bad-row fail\)"):
        run(tmp_path, data, on_bad_row="fail")


def test_a_nul_in_the_header_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"ev.csv:1: header NUL byte in field"):
        run(tmp_path, b"event_time,profile_id,pa\x00ge\n1,p,x\n")


@pytest.mark.parametrize("size", [100_000, 131_072, 131_073, 200_000])
def test_long_fields_give_the_same_result_with_both_readers(tmp_path, size):
    data = lines(f"{T0},p1,pricing", f"{T0 + 1},p1,{'x' * size}", f"{T0 + 2},p1,pricing")
    result, used_fast = same(tmp_path, data)
    limit = csv.field_size_limit()
    assert used_fast == (size <= limit)
    assert [b.line for b in result.rejected] == ([3] if size > limit else [])
    assert result.firings == 1


def test_huge_sum_values_are_bad_values(tmp_path):
    values = ["1e308", "1e308", "inf", "-inf", "nan", "60", "50"]
    data = ("event_time,profile_id,amount\n" + "".join(f"{T0 + i},p1,{v}\n" for i, v in enumerate(values))).encode()
    result, firings, _ = run(tmp_path, data, specs=(BASKET,))
    assert result.insights[0].bad_values == 5 and result.firings == 1 and ",110" in firings


def test_identity_records_with_implausible_times_are_bad_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("rec_id,email,updated\n1,a@x.org,1e300\n2,b@x.org,2026-01-01\n3,c@x.org,inf\n4,d@x.org,0001-01-01\n")
    table = read_records([path], fields=["email"], updated_field="updated")
    assert [(b.line, "updated" in b.reason) for b in table.bad] == [(2, True), (4, True), (5, True)]
    assert table.frame["rec_id"].tolist() == ["2"]


def test_an_unwritable_out_is_one_line(tmp_path, events_csv):
    spec = tmp_path / "i.yaml"
    spec.write_text("name: hot\nthreshold: 2\nwindow: 10m\n")
    out = events_csv / "f.csv"  # under a file
    r = invoke("insights", "replay", "--insight", spec, events_csv, "--out", out)
    assert_refused(r, str(out), "cannot be written")


# ---- any file: both readers agree --------------------------------------------------------------

LONG = "y" * 140_000
TIMES = [str(T0), str(T0 + 30), str(T0 + 61), str(T0 + 700), "2026-01-01T00:01:00Z", "2026-01-01T00:02:00+01:00",
         "1e300", "inf", "nan", "", " ", "-5", "1767225600000", "soon", f" {T0 + 5} ", "1e3", "0x10"]
GROUPS = ["p1", "p2", "p1", "", " ", "é", "p\x001", "a b", "p1 ", LONG[:20]]
PAGES = ["pricing", "docs", "pricing", "", "pri\x00cing", "pri'cing", 'pri"cing', '"pricing"', "x" * 1000, LONG,
         "pricing\r", "a\rb", "ünï"]
ROW = st.one_of(
    st.tuples(st.sampled_from(TIMES), st.sampled_from(GROUPS), st.sampled_from(PAGES)).map(",".join),
    st.lists(st.sampled_from(TIMES + PAGES), min_size=0, max_size=5).map(",".join),  # field counts
    st.text(alphabet=st.sampled_from(list("ab,\"'\x00\r é1")), max_size=12),
)


@settings(max_examples=int(__import__("os").environ.get("HOSTILE_EXAMPLES", "50")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=12), crlf=st.booleans(),
       garbage=st.lists(st.tuples(st.integers(0, 11), st.sampled_from([b"\xff", b"\xe9", b"\xc3", b"\x00"])),
                        max_size=2))
def test_both_readers_agree_on_any_file(tmp_path, rows, crlf, garbage):
    end = "\r\n" if crlf else "\n"
    encoded = [r.encode("utf-8") for r in rows]
    for at, byte in garbage:
        if encoded:
            encoded[at % len(encoded)] += byte
    data = ("event_time,profile_id,page" + end).encode() + end.encode().join(encoded) + end.encode()
    _, used_fast = same(tmp_path, data)
    event("fast reader" if used_fast else "row-by-row reader")


CLEAN = st.tuples(st.sampled_from(TIMES), st.sampled_from([g for g in GROUPS if "\x00" not in g]),
                  st.sampled_from([p for p in PAGES if not set(p) & set("\x00\r\"")])).map(",".join)


@settings(max_examples=int(__import__("os").environ.get("HOSTILE_EXAMPLES", 50)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(CLEAN, CLEAN, CLEAN, st.just(""), ROW), min_size=1, max_size=15),
       crlf=st.booleans())
def test_both_readers_agree_on_nearly_regular_files(tmp_path, rows, crlf):
    end = "\r\n" if crlf else "\n"
    data = ("event_time,profile_id,page" + end + end.join(rows) + end).encode("utf-8")
    _, used_fast = same(tmp_path, data)
    event("fast reader" if used_fast else "row-by-row reader")


def test_identity_unwritable_out_is_one_line(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("namespaces: {email: email}\n")
    records = tmp_path / "a.csv"
    records.write_text("rec_id,email\n1,a@x.org\n2,A@x.org\n")
    out = records / "p.csv"
    assert_refused(invoke("identity", "resolve", "--rules", rules, records, "--out", out), "--out", str(out),
                   "cannot be written")
    r = invoke("identity", "resolve", "--rules", rules, records, "--out", tmp_path / "p.csv", "--profiles-out", out)
    assert_refused(r, "--profiles-out", str(out), "cannot be written")
