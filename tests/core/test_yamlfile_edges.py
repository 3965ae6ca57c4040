"""Edges of the strict YAML reader (sim.core.yamlfile): each limit exactly at its value and one past
it, the whole one-line message of each refusal (file, line, column, problem), and each way a file
cannot be read.

Expected sizes and positions are worked out from the module docstring's rules: nesting counts the
collections on the way down (``[[]]`` is 2 deep); a node's expanded size is 1 plus the sizes of its
children, an alias counting the whole node it names; lines and columns are 1-based.
"""

from __future__ import annotations

import pytest
import yaml

from sim.core.yamlfile import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    YamlLimitError,
    override_value,
    read_mapping,
    safe_load,
    yaml_problem,
)

DEEP = f"nested deeper than {MAX_DEPTH} levels"
BOMB_MSG = (f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); write the values out or "
            "use fewer aliases")


def nested(k: int) -> str:
    return "[" * k + "]" * k


def nested_list(k: int) -> list:
    """The list ``nested(k)`` stands for, built without parsing."""
    out: list = []
    for _ in range(k - 1):
        out = [out]
    return out


def refusal(text: str, tmp_path) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_mapping(path, ValueError, "a mapping is expected")
    return str(err.value).removeprefix(f"{path}:")


def test_the_limits_are_the_documented_ones():
    assert MAX_DEPTH == 100 and MAX_EXPANDED_NODES == 100_000


def test_nesting_exactly_max_depth_loads_and_one_deeper_is_refused_where_it_starts(tmp_path):
    assert safe_load(nested(MAX_DEPTH)) == nested_list(MAX_DEPTH)
    with pytest.raises(YamlLimitError):
        safe_load(nested(MAX_DEPTH + 1))
    # the 101st "[" is the 101st character of line 1 (the mapping adds one level: "a: " + 100)
    assert refusal(nested(MAX_DEPTH + 1), tmp_path) == f" line 1, column 101: {DEEP}"
    assert refusal("a: " + nested(MAX_DEPTH), tmp_path) == f" line 1, column 103: {DEEP}"
    assert safe_load("a: " + nested(MAX_DEPTH - 1)) == {"a": nested_list(MAX_DEPTH - 1)}


def aliased_depth(m: int, j: int) -> str:
    """``a`` is j sequences deep, ``b`` puts ``*a`` inside m sequences: the expanded document is
    1 (the mapping) + m + j deep, while no text is nested deeper than 1 + max(m + 1, j)."""
    return f"a: &a {nested(j)}\nb: {'[' * m}*a{']' * m}\n"


def test_nesting_through_an_alias_counts_the_expanded_depth(tmp_path):
    doc = safe_load(aliased_depth(49, 50))  # 1 + 49 + 50 = 100: fits
    inner = doc["b"]
    for _ in range(48):  # b is the first of the 49 sequences
        inner = inner[0]
    assert inner == [doc["a"]]
    with pytest.raises(YamlLimitError):
        safe_load(aliased_depth(50, 50))  # 101
    # the level past the limit is a's innermost "[": after "a: &a " and 49 more, column 6 + 50
    assert refusal(aliased_depth(50, 50), tmp_path) == f" line 1, column 56: {DEEP}"


def expanded(scalars: int, aliases: int, extra: int = 0) -> str:
    """A sequence holding a sequence ``a`` of ``scalars`` scalars, ``aliases`` aliases of it and
    ``extra`` scalars: 1 + (aliases + 1) × (scalars + 1) + extra nodes once expanded."""
    return "[&a [" + ",".join(["1"] * scalars) + "]" + ", *a" * aliases + ", 0" * extra + "]"


def test_alias_expansion_of_exactly_the_limit_loads_and_one_node_more_is_refused(tmp_path):
    assert 1 + 369 * 271 == MAX_EXPANDED_NODES
    doc = safe_load(expanded(270, 368))
    assert len(doc) == 369 and all(len(x) == 270 for x in doc)
    with pytest.raises(YamlLimitError) as err:
        safe_load(expanded(270, 368, extra=1))
    assert err.value.problem == BOMB_MSG
    assert refusal(expanded(270, 368, extra=1), tmp_path) == f" line 1, column 1: {BOMB_MSG}"
    # a mapping counts its keys and values: 1 + 2 keys + 2 × 11 = 25, far below the limit
    small = "{x: &a [" + ",".join(["1"] * 10) + "], y: *a}"
    assert safe_load(small) == {"x": [1] * 10, "y": [1] * 10}


def test_a_recursive_alias_is_refused_at_the_node_it_names(tmp_path):
    """The position is where the node starts: its anchor."""
    msg = refusal("x: 1\na: &a [1, *a]\n", tmp_path)
    assert msg == " line 2, column 4: an alias refers to a node that contains it (recursive data is not allowed)"
    msg = refusal("a: &a {b: [*a]}\n", tmp_path)
    assert msg == " line 1, column 4: an alias refers to a node that contains it (recursive data is not allowed)"


def test_the_same_node_twice_side_by_side_is_not_recursion():
    assert safe_load("a: &a [1]\nb: [*a, [*a, *a]]\n") == {"a": [1], "b": [[1], [[1], [1]]]}


def test_a_repeated_key_names_both_lines(tmp_path):
    text = "top: 1\nsub:\n  x: 1\n  y: 2\n\n  x: 3\n"
    assert refusal(text, tmp_path) == (" line 6, column 3: key 'x' is repeated (first at line 3); each key "
                                       "may appear once in a mapping")
    msg = refusal("{a: 1, b: 2, a: 3}", tmp_path)
    assert msg.startswith(" line 1, column 14: key 'a' is repeated (first at line 1)")
    # the same key in two different mappings is fine
    assert safe_load("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_merge_keys_are_not_repeated_keys_but_what_follows_them_is_checked():
    doc = safe_load("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n  z: 3\n")
    assert doc["c"] == {"x": 1, "y": 2, "z": 3}
    with pytest.raises(YamlLimitError, match="key 'z' is repeated"):
        safe_load("a: &a {x: 1}\nc:\n  <<: *a\n  z: 3\n  z: 4\n")


def test_unhashable_keys_are_left_to_yaml():
    with pytest.raises(yaml.constructor.ConstructorError, match="unhashable"):
        safe_load("? [1, 2]\n: a\n")


def test_yaml_problem_counts_lines_and_columns_from_one():
    text = "a: 1\nb: 2\nc: \x00\n"
    with pytest.raises(yaml.reader.ReaderError) as err:
        safe_load(text)
    where, what = yaml_problem(err.value, text)
    assert where == " line 3, column 4:"
    assert what == "character #x0000 is not allowed (control characters such as NUL are not)"
    with pytest.raises(yaml.reader.ReaderError) as err:
        safe_load("\x01")
    assert yaml_problem(err.value, "\x01") == (" line 1, column 1:",
                                               "character #x0001 is not allowed (control characters such as "
                                               "NUL are not)")
    with pytest.raises(yaml.YAMLError) as parse_err:
        safe_load("k: v\nlist: [1, 2\n")
    where, what = yaml_problem(parse_err.value)
    assert where == " line 3, column 1:"  # the end of the text, where "]" was expected
    assert "\n" not in what and "  " not in what and "']'" in what


def test_yaml_problem_of_an_error_without_a_position_is_its_text_on_one_line():
    assert yaml_problem(ValueError("too\n  many   spaces")) == ("", "too many spaces")
    err = yaml.YAMLError("plain")
    assert yaml_problem(err) == ("", "plain")
    marked = yaml.MarkedYAMLError("while reading", None, None, None)
    assert yaml_problem(marked) == ("", "while reading")  # no problem: the context says what


def test_read_mapping_returns_the_mapping(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("a: 1\nb: [x]\n", encoding="utf-8")
    assert read_mapping(path, ValueError, "a mapping") == {"a": 1, "b": ["x"]}
    assert read_mapping(str(path), ValueError, "a mapping") == {"a": 1, "b": ["x"]}


class Oops(Exception):
    pass


@pytest.mark.parametrize("text", ["- 1\n- 2\n", "", "just text\n", "42\n"])
def test_a_document_that_is_not_a_mapping_is_refused_with_what_it_should_be(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Oops) as err:
        read_mapping(path, Oops, "a thing is a YAML mapping with a, b")
    assert str(err.value) == f"{path}: a thing is a YAML mapping with a, b"


def test_files_that_cannot_be_read_name_the_file_and_why(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(Oops) as err:
        read_mapping(missing, Oops, "w")
    assert str(err.value) == f"{missing}: no such file"
    with pytest.raises(Oops) as err:
        read_mapping(tmp_path, Oops, "w")
    assert str(err.value) == f"{tmp_path}: is a directory"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(Oops) as err:
        read_mapping(latin, Oops, "w")
    assert str(err.value) == f"{latin}: not UTF-8 text (invalid continuation byte at byte 6)"
    long = tmp_path / ("x" * 300)  # longer than a file name may be
    with pytest.raises(Oops) as err:
        read_mapping(long, Oops, "w")
    assert str(err.value) == f"{long}: cannot be read (File name too long)"


def test_each_kind_of_yaml_problem_has_its_own_wording(tmp_path):
    assert refusal("a: [1, 2\n", tmp_path).startswith(" line 2, column 1: not valid YAML: ")
    assert refusal("a: b\n  c: d\n", tmp_path).startswith(" line 2, column 4: not valid YAML: ")
    assert refusal("a: 1\na: 2\n", tmp_path) == (" line 2, column 1: key 'a' is repeated (first at line 1); each "
                                                 "key may appear once in a mapping")
    msg = refusal("n: " + "9" * 5000 + "\n", tmp_path)
    assert msg.startswith(" a value cannot be read: ") and "\n" not in msg and "4300" in msg


def test_override_values_that_yaml_or_its_checks_refuse_stay_text():
    assert override_value("a: 1") == {"a": 1}
    assert override_value(nested(MAX_DEPTH)) == nested_list(MAX_DEPTH)
    assert override_value(nested(MAX_DEPTH + 1)) == nested(MAX_DEPTH + 1)
    assert override_value("{a: 1, a: 2}") == "{a: 1, a: 2}"
    assert override_value("9" * 5000) == "9" * 5000
    assert override_value("[1") == "[1"


def test_a_branch_left_behind_does_not_change_the_depth_of_the_next_one():
    """Inside ``b`` the empty list is walked (and left) before the alias: the alias's depth is still
    1 (mapping) + m + 50."""
    def doc(m: int) -> str:
        return f"a: &a {nested(50)}\nb: {'[' * m}*a, []{']' * m}\n"

    loaded = safe_load(doc(49))  # 100 deep: fits
    assert loaded["a"] == nested_list(50)
    with pytest.raises(YamlLimitError, match=DEEP):
        safe_load(doc(50))  # 101


def test_a_value_python_cannot_convert_is_reported_on_one_line_as_python_words_it(tmp_path):
    try:
        int("9" * 5000)
    except ValueError as exc:
        words = " ".join(str(exc).split())
    assert refusal("n: " + "9" * 5000 + "\n", tmp_path) == f" a value cannot be read: {words}"


def test_recursion_past_pythons_limit_is_a_yaml_limit_error(monkeypatch, tmp_path):
    """Should the depth limit be lifted, Python's own recursion limit is reported as nesting."""
    import sim.core.yamlfile as yf

    monkeypatch.setattr(yf, "MAX_DEPTH", 10 ** 9)
    # a few Python frames per level: 450 levels pass the default recursion limit of 1000
    assert refusal(nested(450), tmp_path) == " nested too deeply"


def test_yaml_problem_falls_back_to_the_context_and_its_mark():
    mark = yaml.Mark("in.yaml", 0, 4, 9, None, 0)  # 0-based line 4, column 9
    err = yaml.MarkedYAMLError("while parsing a block", mark, None, None)
    assert yaml_problem(err) == (" line 5, column 10:", "while parsing a block")
    err = yaml.MarkedYAMLError("while parsing", mark, "found x", yaml.Mark("in.yaml", 0, 1, 2, None, 0))
    assert yaml_problem(err) == (" line 2, column 3:", "found x")


def test_yaml_problem_of_a_reader_error_without_a_position():
    err = yaml.reader.ReaderError("in.yaml", None, 7, "utf-8", "bad")
    assert yaml_problem(err, "x\ny\nz") == (" line 1, column 1:", "character #x0007 is not allowed (control "
                                                                   "characters such as NUL are not)")
    err = yaml.reader.ReaderError("in.yaml", 3, 7, "utf-8", "bad")
    assert yaml_problem(err, "x\nyz")[0] == " line 2, column 2:"
