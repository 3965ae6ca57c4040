"""Filter expressions (insight filters, segment profile filters): length, nesting and literal
limits are FilterErrors naming the limit, never RecursionError, MemoryError or OverflowError."""

from __future__ import annotations

import time

import pytest

from sim.domain.filters import MAX_DEPTH, MAX_LENGTH, FilterError, compile_filter
from tests.hostile.conftest import assert_refused, invoke

HOSTILE = {
    "990 nots": ("not " * 990 + "page", f"nested deeper than {MAX_DEPTH} levels"),
    "2400 nots": ("not " * 2400 + "page", f"nested deeper than {MAX_DEPTH} levels"),
    "20000 nots": ("not " * 20000 + "page", f"at most {MAX_LENGTH:,} characters"),
    "deep parentheses": ("(" * 3000 + "page" + ")" * 3000, f"nested deeper than {MAX_DEPTH} levels (column 51)"),
    "deep brackets": ("page in " + "[" * 100 + "]" * 100, f"nested deeper than {MAX_DEPTH} levels"),
    "unary minus chain": ("n == " + "-" * 9000 + "1", f"nested deeper than {MAX_DEPTH} levels"),
    "calls": ("f" + "()" * 4000, f"nested deeper than {MAX_DEPTH} levels"),
    "attribute chain": (".".join(["a"] * 3000), f"nested deeper than {MAX_DEPTH} levels"),
    "power tower": ("n == " + "**".join(["2"] * 3000), f"nested deeper than {MAX_DEPTH} levels"),
    "deep and/or": ("(" * 40 + " and ".join(["a == 1"] * 2) + ")" * 40 + " or " + "not " * 60 + "b",
                    f"nested deeper than {MAX_DEPTH} levels"),
    "300-digit hex": ("n == 0x" + "f" * 300, "a number in a filter has at most 40 characters"),
    "5000-digit int": ("n == " + "9" * 5000, "a number in a filter has at most 40 characters"),
    "beyond float range": ("n > 1e999", "a number in a filter is at most 1e+15 in magnitude (column 5)"),
    "beyond 1e15": ("n in (1, -2e15)", "a number in a filter is at most 1e+15 in magnitude (column 11)"),
    "big hex in tuple": ("n in (1, 0x" + "f" * 30 + ")", "at most 1e+15 in magnitude (column 10)"),
    "long string": ("page == '" + "x" * 1001 + "'", "a string in a filter has at most 1,000 characters"),
    "NUL": ("page == 'a\x00b'", "a filter cannot contain a NUL character (column 11)"),
    "not text": (12, "a filter is text, not int"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_filters_are_filter_errors(case):
    expr, expected = HOSTILE[case]
    started = time.perf_counter()
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert time.perf_counter() - started < 2
    message = str(info.value)
    assert expected in message, message
    assert len(message) < 400  # a long expression is shown around the column, not whole


def test_limits_leave_ordinary_filters_alone():
    f = compile_filter("page == 'pricing' and country in ('FR', 'DE') and not (n > 1e15 or n < -1e15)")
    assert f({"page": "pricing", "country": "FR", "n": "3"})
    deep = "(" * (MAX_DEPTH - 5) + "page == 'x'" + ")" * (MAX_DEPTH - 5)
    assert compile_filter(deep)({"page": "x"})
    assert compile_filter("n == 0.000001 and s == '" + "y" * 1000 + "'")({"n": "1e-6", "s": "y" * 1000})


@pytest.mark.parametrize("case", ["990 nots", "300-digit hex", "deep parentheses"])
def test_cli_refuses_a_hostile_insight_filter(tmp_path, events_csv, case):
    expr = HOSTILE[case][0]
    path = tmp_path / "i.yaml"
    path.write_text(f"name: hot\nfilter: \"{expr}\"\nthreshold: 3\nwindow: 10m\n")
    r = invoke("insights", "replay", "--insight", path, events_csv, "--out", tmp_path / "f.csv")
    assert_refused(r, str(path), "filter", HOSTILE[case][1].split(" (column")[0])


def test_a_hostile_segment_filter_is_a_scenario_error(tmp_path):
    from sim.scenario.load import ScenarioError, load
    from tests.conftest import DEFAULT

    with pytest.raises(ScenarioError, match="nested deeper than"):
        load(DEFAULT, {"segmentation.segments": [{"name": "s", "page": "pricing", "min_events": 1, "lookback": "1d",
                                              "refresh": "12h", "profile_filter": "not " * 990 + "known"}]})
