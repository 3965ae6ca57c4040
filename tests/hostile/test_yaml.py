"""YAML from users: repeated keys, alias bombs, recursion, deep nesting, control characters, huge
integers are refused with one line naming the file (and line), in every file kind that is YAML."""

from __future__ import annotations

import time

import pytest
import yaml

from sim.core.yamlfile import MAX_EXPANDED_NODES, YamlLimitError, read_mapping, safe_load
from sim.domain.identity import RulesError, load_rules
from sim.domain.insight_spec import InsightError, load_insight
from sim.scenario.load import ScenarioError, load
from tests.hostile.conftest import assert_refused, invoke

INSIGHT = "name: hot\nfilter: \"page == 'pricing'\"\nthreshold: 3\nwindow: 10m\n"
BOMB = "".join(f"{a}: &{a} [{','.join([f'*{p}' if p else '{l: 1}'] * 9)}]\n"
               for a, p in zip("abcdefghi", ["", *"abcdefgh"]))
HOSTILE = {
    "repeated key": (INSIGHT + "threshold: 4\n", "line 5, column 1: key 'threshold' is repeated (first at line 3)"),
    "repeated nested key": ("a:\n  x: 1\n  y: 2\n  x: 3\n", "line 4, column 3: key 'x' is repeated"),
    "alias bomb": (BOMB, f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes"),
    "recursive alias": ("a: &a [1, *a]\n", "refers to a node that contains it"),
    "deep nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 100 levels"),
    "deep block nesting": ("".join("  " * i + f"k{i}:\n" for i in range(300)), "nested deeper than 100 levels"),
    "NUL byte": ("name: a\x00b\n", "line 1, column 8: not valid YAML: character #x0000 is not allowed"),
    "huge integer": ("threshold: " + "9" * 5000 + "\n", "a value cannot be read"),
    "python tag": ("a: !!python/object/apply:os.system [ls]\n", "line 1, column 4: not valid YAML"),
}


def test_the_bomb_is_small():
    assert len(BOMB) < 400


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_yaml_is_one_line_naming_file_and_problem(tmp_path, case):
    text, expected = HOSTILE[case]
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ValueError) as info:
        read_mapping(path, ValueError, "a mapping")
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:") and expected in message, message


@pytest.mark.parametrize("loader, error", [(load_insight, InsightError), (load_rules, RulesError),
                                           (load, ScenarioError)])
@pytest.mark.parametrize("case", ["repeated key", "alias bomb"])
def test_every_yaml_file_kind_refuses(tmp_path, loader, error, case):
    path = tmp_path / "in.yaml"
    path.write_text(HOSTILE[case][0])
    with pytest.raises(error, match=r"repeated|alias"):
        loader(path)


def test_merge_keys_and_small_aliases_still_work():
    doc = safe_load("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 5\nl: [*b, *b]\n")
    assert doc["c"] == {"x": 5, "y": 2} and doc["l"] == [{"x": 1, "y": 2}] * 2


def test_safe_load_keeps_yaml_safe_load_semantics():
    for text in ["40", "true", "10m", "[1, 2]", "{a: 1}", "1.5e+3", "null", "'x'", ".inf", "2026-01-01", "'1e9'",
                 "1e", "e5", "1e9s", "0x1f"]:
        assert safe_load(text) == yaml.safe_load(text) or (text == ".inf" and safe_load(text) == float("inf"))


@pytest.mark.parametrize("text, number", [("1e9", 1e9), ("1.5e3", 1500.0), ("2E-3", 0.002), ("-3e2", -300.0),
                                          ("+1_0e1", 100.0), ("7.e2", 700.0)])
def test_a_plain_number_with_an_exponent_is_a_number_as_in_yaml_1_2(text, number):
    """PyYAML (YAML 1.1) reads these as text; a user writing ``factor: 1e9`` means a number."""
    assert yaml.safe_load(text) == text
    assert safe_load(text) == number and safe_load(f"a: [{text}]") == {"a": [number]}
    assert safe_load(f"'{text}'") == text  # quoted: text


def test_safe_load_raises_yaml_errors():
    with pytest.raises(yaml.YAMLError):
        safe_load("{a: 1, a: 2}")
    with pytest.raises(YamlLimitError):
        safe_load(BOMB)


def test_cli_refuses_a_bomb_and_a_repeated_key(tmp_path, events_csv):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    (tmp_path / "dup.yaml").write_text(INSIGHT + "window: 20m\n")
    for name, needle in [("bomb.yaml", "alias"), ("dup.yaml", "key 'window' is repeated")]:
        path = tmp_path / name
        r = invoke("insights", "replay", "--insight", path, events_csv, "--out", tmp_path / "f.csv")
        assert_refused(r, str(path), needle)
    (tmp_path / "ok.yaml").write_text(INSIGHT)
    (tmp_path / "rules.yaml").write_text("namespaces: {profile_id: text}\nnamespaces: {page: text}\n")
    r = invoke("insights", "replay", "--insight", tmp_path / "ok.yaml", events_csv, "--out", tmp_path / "f.csv",
               "--rules", tmp_path / "rules.yaml")
    assert_refused(r, "rules.yaml", "line 2", "'namespaces' is repeated")


@pytest.mark.parametrize("text, expected", [("40", 40), ("true", True), ("10m", "10m"), ("[1, 2]", [1, 2]),
                                            ("{a: 1}", {"a": 1}), ("'x'", "x"), ("a: b: c", "a: b: c")])
def test_override_values_parse_as_yaml(text, expected):
    from sim.core.yamlfile import override_value

    assert override_value(text) == expected


@pytest.mark.parametrize("text", ["9" * 5000, "[" * 3000, "{a: 1, a: 2}", BOMB, "&a [*a]", "x\x00y"])
def test_hostile_override_values_stay_text(text):
    from sim.core.yamlfile import override_value

    started = time.perf_counter()
    assert override_value(text) == text
    assert time.perf_counter() - started < 5
