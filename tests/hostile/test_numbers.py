"""Insight and identity-rules files: non-finite and oversized numbers (``.inf``, ``.nan``, huge
integers, booleans) in thresholds, windows, durations and limits are errors naming the key."""

from __future__ import annotations

import pytest

from sim.domain.identity.rules import RulesError, parse_rules
from sim.domain.insight_spec import InsightError, parse_insight
from tests.hostile.conftest import assert_refused, invoke

BASE = {"name": "hot", "filter": "page == 'pricing'", "threshold": 3, "window": "10m", "window_type": "sliding"}
BAD = [float("inf"), float("-inf"), float("nan"), 10 ** 400, "1e400", "9" * 400 + "s", True]


@pytest.mark.parametrize("key", ["threshold", "window", "cooldown", "allowed_lateness"])
@pytest.mark.parametrize("value", BAD, ids=repr)
def test_insight_numbers_must_be_finite(key, value):
    with pytest.raises(InsightError) as info:
        parse_insight({**BASE, key: value})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"insight: {key}: "), message


def test_ordinary_insights_still_parse():
    spec = parse_insight({**BASE, "cooldown": "10m", "allowed_lateness": 30, "threshold": 2.0})
    assert (spec.threshold, spec.window, spec.cooldown, spec.allowed_lateness) == (2, 600, 600, 30)


RULES = {"namespaces": {"email": "email"},
         "match_rules": [{"name": "r", "criteria": [{"field": "name", "method": "fuzzy", "threshold": 0.9},
                                                   {"field": "email", "method": "exact"}]}]}


@pytest.mark.parametrize("where", ["threshold", "max_identities", "max_per_namespace", "max_identities_per_record",
                                   "max_block_size"])
@pytest.mark.parametrize("value", [v for v in BAD if not isinstance(v, str)], ids=repr)
def test_rule_numbers_must_be_finite(where, value):
    import copy

    raw = copy.deepcopy(RULES)
    if where == "threshold":
        raw["match_rules"][0]["criteria"][0]["threshold"] = value
        key = "match_rules.0.criteria.0.threshold"
    elif where == "max_per_namespace":
        raw["limits"] = {"max_per_namespace": {"email": value}}
        key = "limits.max_per_namespace.email"
    else:
        raw["limits"] = {where: value}
        key = f"limits.{where}"
    with pytest.raises(RulesError) as info:
        parse_rules(raw)
    assert str(info.value).startswith(f"rules: {key}: "), str(info.value)


@pytest.mark.parametrize("text, needle", [("threshold: .inf", "threshold: not a finite number"),
                                          ("threshold: .nan", "threshold: not a finite number"),
                                          ("allowed_lateness: .inf",
                                           "allowed_lateness: inf is not a duration; expected a finite")])
def test_cli_names_the_key(tmp_path, events_csv, text, needle):
    path = tmp_path / "i.yaml"
    path.write_text("name: hot\nwindow: 10m\n" + ("threshold: 3\n" if "threshold" not in text else "") + text + "\n")
    r = invoke("insights", "replay", "--insight", path, events_csv, "--out", tmp_path / "f.csv")
    assert_refused(r, str(path), needle)


def test_cli_rules_with_an_infinite_threshold(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text("match_rules:\n  - name: n\n    criteria:\n      - {field: name, method: fuzzy, threshold: .inf}\n"
                     "      - {field: email, method: exact}\n")
    records = tmp_path / "a.csv"
    records.write_text("rec_id,name,email\n1,ann,a@x.org\n")
    r = invoke("identity", "resolve", "--rules", rules, records, "--out", tmp_path / "p.csv")
    assert_refused(r, str(rules), "match_rules.0.criteria.0.threshold", "finite")


@pytest.mark.parametrize("value", ["3", " 2.5 ", "1e2"], ids=repr)
def test_a_quoted_number_in_an_insight_is_text_and_refused(value):
    with pytest.raises(InsightError) as info:
        parse_insight({**BASE, "threshold": value})
    assert str(info.value) == (f"insight: threshold: a number is expected, not text (a number in quotes is text in "
                               f"YAML: write it without quotes) (got {value!r})")


def test_an_insight_file_with_a_quoted_threshold_is_refused_and_a_plain_exponent_taken(tmp_path):
    from sim.domain.insight_spec import load_insight

    path = tmp_path / "i.yaml"
    path.write_text("name: hot\nwindow: 10m\nthreshold: '3'\n")
    with pytest.raises(InsightError, match="not text"):
        load_insight(path)
    path.write_text("name: hot\nwindow: 10m\nmeasure: 'sum:size'\nthreshold: 2.5e3\n")
    assert load_insight(path).threshold == 2500.0


@pytest.mark.parametrize("where", ["threshold", "max_identities", "max_per_namespace", "max_identities_per_record",
                                   "max_block_size"])
def test_a_quoted_number_in_the_rules_is_text_and_refused(where):
    import copy

    raw = copy.deepcopy(RULES)
    value = "0.9" if where == "threshold" else "20"
    if where == "threshold":
        raw["match_rules"][0]["criteria"][0]["threshold"] = value
    elif where == "max_per_namespace":
        raw["limits"] = {"max_per_namespace": {"email": value}}
    else:
        raw["limits"] = {where: value}
    with pytest.raises(RulesError) as info:
        parse_rules(raw)
    assert "a number is expected, not text" in str(info.value) and "without quotes" in str(info.value)
    plain = copy.deepcopy(raw)  # the same value written as a number is taken
    if where == "threshold":
        plain["match_rules"][0]["criteria"][0]["threshold"] = 0.9
    elif where == "max_per_namespace":
        plain["limits"] = {"max_per_namespace": {"email": 20}}
    else:
        plain["limits"] = {where: 20}
    parse_rules(plain)
