"""Edges of insight definitions (sim.domain.insight_spec): each bound of the module docstring exactly at
its value and one step past it (window 1 min to 24 h, threshold > 0 and at most 1e15, cooldown and
lateness 0 to a year), the measure forms, cooldown for sliding windows only, whole thresholds for
count and distinct, the fields an insight reads, the engine's definition, and the file loader."""

from __future__ import annotations

import pytest

from sim.domain.insight_spec import MAX_DELAY_S, MAX_THRESHOLD, WHAT, InsightError, load_insight, parse_insight
from sim.domain.insights import Insight

BASE = {"name": "hot", "threshold": 3, "window": "10m"}
YEAR = 366 * 86400.0


def ok(**kw):
    return parse_insight({**BASE, **kw})


def refused(**kw) -> str:
    with pytest.raises(InsightError) as err:
        parse_insight({**BASE, **kw})
    return str(err.value)


def test_the_documented_bounds():
    assert MAX_THRESHOLD == 1e15 and MAX_DELAY_S == YEAR


def test_window_from_one_minute_to_a_day_inclusive():
    assert ok(window=60).window == 60.0 and ok(window="1m").window == 60.0
    assert ok(window="24h").window == 86400.0
    assert refused(window=59.999) == "insight: window: Input should be greater than or equal to 60 (got 59.999)"
    assert refused(window=86400.5).startswith("insight: window: Input should be less than or equal to 86400")


def test_threshold_above_zero_and_at_most_1e15():
    assert ok(threshold=10 ** 15).threshold == 1e15
    assert ok(threshold=1).threshold == 1.0
    assert refused(threshold=10 ** 15 + 1) == "insight: threshold: too large; at most 1e+15 (got 1000000000000001)"
    assert refused(threshold=-(10 ** 15) - 1) == "insight: threshold: too large; at most 1e+15 (got -1000000000000001)"
    assert refused(threshold=0).startswith("insight: threshold: Input should be greater than 0")
    assert refused(threshold=1e15 + 2 ** 10, measure="sum:x") == (  # a float past the bound
        "insight: threshold: Input should be less than or equal to 1000000000000000 (got 1000000000001024.0)")
    assert refused(threshold=float("nan")) == "insight: threshold: not a finite number (got nan)"
    assert refused(threshold=float("-inf")) == "insight: threshold: not a finite number (got -inf)"
    assert refused(threshold=True) == "insight: threshold: a number is expected, not true/false (got True)"
    assert refused(threshold=False) == "insight: threshold: a number is expected, not true/false (got False)"


def test_cooldown_and_lateness_from_zero_to_a_year():
    s = ok(window_type="sliding", cooldown=YEAR, allowed_lateness=YEAR)
    assert (s.cooldown, s.allowed_lateness) == (YEAR, YEAR)
    assert ok(allowed_lateness=0).allowed_lateness == 0.0 and ok().cooldown == 0.0
    assert refused(window_type="sliding", cooldown=YEAR + 1).startswith(
        "insight: cooldown: Input should be less than or equal to")
    assert refused(allowed_lateness=YEAR + 1).startswith(
        "insight: allowed_lateness: Input should be less than or equal to")
    assert refused(allowed_lateness=-1).startswith("insight: allowed_lateness: -1 is negative")


def test_cooldown_applies_to_sliding_windows_only():
    assert ok(window_type="sliding", cooldown="5m").cooldown == 300.0
    assert refused(cooldown="5m") == ("insight: cooldown applies to sliding windows only (a tumbling bucket "
                                      "fires once)")
    assert ok(window_type="tumbling", cooldown=0).cooldown == 0.0
    assert refused(window_type="hopping").startswith("insight: window_type: 'hopping' is not allowed; allowed: "
                                                     "tumbling, sliding")


@pytest.mark.parametrize(("written", "kept"), [("count", "count"), (" count ", "count"), ("sum:amount", "sum:amount"),
                                               (" sum : amount ", "sum:amount"), ("distinct:page", "distinct:page")])
def test_measure_forms(written, kept):
    assert ok(measure=written, threshold=2).measure == kept


@pytest.mark.parametrize("written", ["count:x", "sum", "sum:", "sum: ", "distinct", "max:x", "", ":x", "Count"])
def test_other_measures_are_refused_naming_the_forms(written):
    allowed = "allowed: count, sum:<field>, distinct:<field>"
    assert refused(measure=written) == f"insight: measure: {written!r}: {allowed} (got {written!r})"


def test_count_and_distinct_thresholds_are_whole_numbers_sum_thresholds_need_not_be():
    assert ok(threshold=2.0).threshold == 2.0
    assert refused(threshold=2.5) == "insight: a count threshold is a whole number (got 2.5)"
    assert refused(threshold=2.5, measure="distinct:page") == (
        "insight: a distinct threshold is a whole number (got 2.5)")
    assert ok(threshold=2.5, measure="sum:amount").threshold == 2.5
    assert ok(threshold=0.5, measure="sum:amount").threshold == 0.5


def test_measure_kind_field_and_the_fields_an_insight_reads():
    s = ok(filter="page == 'pricing' and country in ('FR', 'DE')", measure="distinct:visitor")
    assert (s.measure_kind, s.measure_field) == ("distinct", "visitor")
    assert s.fields() == {"page", "country", "visitor"}
    c = ok(filter="page == 'pricing'")
    assert (c.measure_kind, c.measure_field) == ("count", None)
    assert c.fields() == {"page"}
    assert ok().fields() == set()
    assert ok().filter == "" and ok().group_by == "profile_id" and ok().window_type == "tumbling"


def test_a_filter_that_does_not_compile_is_refused_under_its_key():
    msg = refused(filter="page ==")
    assert msg.startswith("insight: filter: not a valid expression") and msg.endswith("(got 'page ==')")


def test_engine_definition_carries_every_setting():
    s = ok(name="basket", threshold=250.5, measure="sum:amount", window="1h", window_type="sliding",
           cooldown="15m", allowed_lateness="30s")
    assert s.engine_definition() == Insight("basket", 250.5, 3600.0, "sliding", 900.0, 30.0, "sum")
    t = ok()
    assert t.engine_definition() == Insight("hot", 3.0, 600.0, "tumbling", 0.0, 0.0, "count")


def test_unknown_keys_and_missing_ones():
    assert refused(colour="red").startswith("insight: colour: unknown field; allowed here: name, filter, measure,")
    with pytest.raises(InsightError) as err:
        parse_insight({"name": "x", "window": "10m"}, source="mine.yaml")
    assert str(err.value) == "mine.yaml: threshold: required field is missing"
    with pytest.raises(InsightError) as err:
        parse_insight({**BASE, "name": ""})
    assert str(err.value).startswith("insight: name: String should have at least 1 character")


@pytest.mark.parametrize("raw", [None, [BASE], "name: hot"])
def test_an_insight_is_a_mapping(raw):
    with pytest.raises(InsightError) as err:
        parse_insight(raw)
    assert str(err.value) == f"insight: {WHAT}"
    assert WHAT.startswith("an insight is a YAML mapping with name, filter, measure, threshold, window")


def test_load_insight_reads_a_file_and_names_it_in_errors(tmp_path):
    path = tmp_path / "hot.yaml"
    path.write_text("name: hot\nfilter: \"page == 'pricing'\"\nthreshold: 3\nwindow: 10m\n", encoding="utf-8")
    spec = load_insight(path)
    assert (spec.name, spec.threshold, spec.window, spec.fields()) == ("hot", 3.0, 600.0, {"page"})
    assert load_insight(str(path)) == spec
    path.write_text("name: hot\nthreshold: 3\nwindow: 10s\n", encoding="utf-8")
    with pytest.raises(InsightError) as err:
        load_insight(path)
    assert str(err.value).startswith(f"{path}: window: Input should be greater than or equal to 60")
    path.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(InsightError) as err:
        load_insight(path)
    assert str(err.value) == f"{path}: {WHAT}"
