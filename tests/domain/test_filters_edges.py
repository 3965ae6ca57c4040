"""Edges of the filter language (sim.domain.filters): mixed ``in`` tuples, each order operator at
equality, limits exactly at and one past their value, blanks and non-numbers."""

import numpy as np
import pytest

from sim.domain.filters import MAX_DEPTH, MAX_LENGTH, MAX_NUMBER_TEXT, MAX_STRING, FilterError, compile_filter

X = {"x": np.array(["a", "1", "1.0", "b", "2", "", "A"], dtype=object)}


def mask(expr, cols=X):
    return compile_filter(expr).mask(cols).astype(int).tolist()


def test_regression_in_with_strings_and_numbers_keeps_both_kinds_of_match():
    """Regression (issue 13): ``x in ('a', 1)`` matches the text 'a' and every value equal to the
    number 1 ('1', '1.0'); it lost its string matches. ``not in`` is its exact complement."""
    assert mask("x in ('a', 1)") == [1, 1, 1, 0, 0, 0, 0]
    assert mask("x not in ('a', 1)") == [0, 0, 0, 1, 1, 1, 1]
    assert mask("x in ('a', 'b')") == [1, 0, 0, 1, 0, 0, 0]
    assert mask("x in (1, 2)") == [0, 1, 1, 0, 1, 0, 0]
    assert mask("x in ()") == [0] * 7 and mask("x not in ()") == [1] * 7


@pytest.mark.parametrize("expr, expected", [
    ("n < 5", [1, 0, 0, 0]), ("n <= 5", [1, 1, 0, 0]), ("n > 5", [0, 0, 1, 0]), ("n >= 5", [0, 1, 1, 0]),
    ("5 > n", [1, 0, 0, 0]), ("5 >= n", [1, 1, 0, 0]), ("5 < n", [0, 0, 1, 0]), ("5 <= n", [0, 1, 1, 0]),
    ("n == 5", [0, 1, 0, 0]), ("5 == n", [0, 1, 0, 0]), ("n != 5", [1, 0, 1, 1]), ("5 != n", [1, 0, 1, 1]),
    ("n == -5", [0, 0, 0, 0]), ("n > -5", [1, 1, 1, 0]),
    ("4 < n < 6", [1, 1, 1, 0]), ("4.99 < n < 5.01", [0, 1, 0, 0]), ("4 <= n <= 5", [1, 1, 0, 0]),
    ("n", [1, 1, 1, 0]), ("not n", [0, 0, 0, 1]),
    ("n == 5 or n == 4.99", [1, 1, 0, 0]), ("n >= 4.99 and n <= 5", [1, 1, 0, 0]),
    ("True", [1, 1, 1, 1]), ("False", [0, 0, 0, 0]), ("n == None", [0, 0, 0, 1]),
])
def test_each_comparison_on_both_sides_of_equality(expr, expected):
    """Order comparisons with a number compare numerically, either side of the operator, with
    equality on the right side of the edge; a blank matches no number and only ``!=``."""
    assert mask(expr, {"n": np.array(["4.99", "5", "5.01", ""], dtype=object)}) == expected


def test_text_comparisons_and_numeric_columns():
    """Strings compare as text (also ordered); a numeric column compares numerically and as text."""
    cols = {"s": np.array(["b", "a", "c"], dtype=object), "v": np.array([1.0, 2.0, 3.0])}
    assert mask("s < 'b'", cols) == [0, 1, 0] and mask("s >= 'b'", cols) == [1, 0, 1]
    assert mask("v >= 2", cols) == [0, 1, 1] and mask("v in (1, 3)", cols) == [1, 0, 1]
    assert mask("v == '2.0'", cols) == [0, 1, 0]
    f = compile_filter("s == 'a' and v > 1")
    assert f.fields == frozenset({"s", "v"})
    assert f({"s": "a", "v": 2}) is True and f({"s": "a", "v": 1}) is False and f({"v": 5}) is False
    assert compile_filter("").mask({"s": cols["s"]}).tolist() == [True] * 3
    assert compile_filter("True").mask({}, 2).tolist() == [True, True]


def test_limits_exactly_at_and_one_past():
    """A filter of MAX_LENGTH characters, a string of MAX_STRING characters, a number of magnitude
    1e15 and MAX_DEPTH nested parentheses are accepted; one more is refused, naming the limit."""
    pad = "x == 'a'" + " " * 0
    ok = pad + " or x == 'a'" * ((MAX_LENGTH - len(pad)) // 12)
    ok += " " * 0
    compile_filter(ok)
    with pytest.raises(FilterError, match=f"at most {MAX_LENGTH:,} characters"):
        compile_filter("x == '" + "a" * MAX_LENGTH + "'")
    compile_filter("x == '" + "a" * MAX_STRING + "'")
    with pytest.raises(FilterError, match=f"at most {MAX_STRING:,} characters .this one has {MAX_STRING + 1:,}."):
        compile_filter("x == '" + "a" * (MAX_STRING + 1) + "'")
    assert mask("x < 1000000000000000 and x > -1000000000000000") == [0, 1, 1, 0, 1, 0, 0]
    for bad in ("x < 1000000000000001", "x > -1000000000000001", "x < 1e16"):
        with pytest.raises(FilterError, match="at most 1e\\+15 in magnitude"):
            compile_filter(bad)
    compile_filter("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
    with pytest.raises(FilterError, match=f"nested deeper than {MAX_DEPTH} levels"):
        compile_filter("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    compile_filter("x < " + "1" * 15)
    with pytest.raises(FilterError, match=f"at most {MAX_NUMBER_TEXT} characters"):
        compile_filter("x < " + "0" * (MAX_NUMBER_TEXT + 1))


def test_one_row_answers_do_not_depend_on_what_was_asked_before():
    """Whatever a filter was asked before, each one-row answer equals a fresh filter's (True, 1 and
    1.0 included, unhashable values too), and many distinct rows stay right."""
    from sim.domain.filters import compile_filter

    values = [True, 1, 1.0, 0, False, "1", "True", "", None, 2.5, ["a"], {"k": 1}]
    for expr in ("x == 1", "x == 'True'", "x != ''", "x > 0.5", "x in ('1', 'a')", "not x"):
        shared = compile_filter(expr)
        for v in values * 2:
            try:
                fresh = compile_filter(expr)({"x": v})
            except Exception as exc:  # the same error either way
                with pytest.raises(type(exc)):
                    shared({"x": v})
                continue
            assert shared({"x": v}) == fresh, (expr, v)
    g = compile_filter("x == 1")
    rows = [{"x": i} for i in range(5000)]
    assert [g(r) for r in rows] == [r["x"] == 1 for r in rows]


ALLOWED_TEXT = "==, !=, <, <=, >, >=, in, not in, and, or, not, field names and constants"
MESSAGES = [  # a bad filter -> the exact message a user reads (what is wrong, the column, a caret)
    ("page in 'pricing'", "the right of 'in' must be a tuple of constants, e.g. ('FR', 'DE') (column 9)\n"
                          "  page in 'pricing'\n          ^"),
    ("'x' in page", "the left of 'in' must be a field name (column 1)\n  'x' in page\n  ^"),
    ("page is None", f"operator not allowed; allowed: {ALLOWED_TEXT} (column 1)\n  page is None\n  ^"),
    ("page == other", "compare a field name with a constant (column 9)\n  page == other\n          ^"),
    ("a < b", "compare a field name with a constant (column 5)\n  a < b\n      ^"),
    ("page > True", "order comparisons need a number or a string (column 1)\n  page > True\n  ^"),
    ("page == -'x'", "expected a constant (a quoted string, a number, True, False or None) (column 9)\n"
                     "  page == -'x'\n          ^"),
    ("x == -True", "expected a constant (a quoted string, a number, True, False or None) (column 6)\n"
                   "  x == -True\n       ^"),
    ("page in (other,)", "expected a constant (a quoted string, a number, True, False or None) (column 10)\n"
                         "  page in (other,)\n           ^"),
    ("f(page)", f"not allowed in a filter; allowed: {ALLOWED_TEXT} (column 1)\n  f(page)\n  ^"),
    ("page == 'a' +", "not a valid expression: invalid syntax (column 1)\n  page == 'a' +\n  ^"),
]


@pytest.mark.parametrize("expr, message", MESSAGES, ids=[m[0] for m in MESSAGES])
def test_bad_filters_say_exactly_what_and_where(expr, message):
    from sim.domain.filters import FilterError, compile_filter

    with pytest.raises(FilterError) as err:
        compile_filter(expr)
    assert str(err.value) == message


def test_mask_of_a_constant_filter_and_of_missing_fields():
    """A constant filter gives one answer per row (none for no rows); a filter over fields the
    events lack names them and the fields there are."""
    import numpy as np

    from sim.domain.filters import FilterError, compile_filter

    always = compile_filter("True")
    got = always.mask({"page": np.array(["a", "b", "c"], dtype=object)})
    assert got.tolist() == [True, True, True] and got.flags.writeable
    assert always.mask({}).tolist() == []
    assert compile_filter("False").mask({"page": np.array(["a"], dtype=object)}).tolist() == [False]
    with pytest.raises(FilterError) as err:
        compile_filter("page == 'a'").mask({"t": np.array([1.0]), "event": np.array(["x"], dtype=object)})
    assert str(err.value) == "filter \"page == 'a'\" uses fields the events do not have: page; fields: event, t"
