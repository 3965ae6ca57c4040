"""More edges of the filter language (sim.domain.filters): the excerpt of a long expression in an
error (60 characters either side of the column, ``...`` where cut), the length limit exactly at
and one past it, brackets inside quotes and after an escaped quote, closing brackets, square
brackets, number literals of 40 and 41 characters, the syntax-tree depth, non-text filters, and
evaluation on boolean, numeric and mixed columns, three-way ``and``/``or`` and chains."""

import numpy as np
import pytest

from sim.domain.filters import MAX_DEPTH, MAX_LENGTH, MAX_NUMBER_TEXT, FilterError, compile_filter

IN_MSG = "the right of 'in' must be a tuple of constants, e.g. ('FR', 'DE')"
LEFT_MSG = "the left of 'in' must be a field name"


def error_of(expr) -> str:
    with pytest.raises(FilterError) as err:
        compile_filter(expr)
    return str(err.value)


def mask(expr, cols, n=None):
    return compile_filter(expr).mask(cols, n).astype(int).tolist()


def test_a_long_expression_is_cut_to_sixty_characters_either_side_of_the_column():
    expr = "page == 'pricing' and " * 6 + "country in 'FR'"
    col = expr.index("'FR'")  # 143, 0-based: the shown part starts 60 before it
    assert (len(expr), col) == (147, 143)
    assert error_of(expr) == f"{IN_MSG} (column 144)\n  ...{expr[83:]}\n  {' ' * 63}^"
    head = "page in 'FR' and " + "page == 'pricing' and " * 6 + "x"
    assert error_of(head) == f"{IN_MSG} (column 9)\n  {head[:68]}...\n  {' ' * 8}^"
    middle = "x == 'a' and " * 8 + "page in 'FR'" + " and x == 'a'" * 8
    col = middle.index("'FR'")
    assert error_of(middle) == (f"{IN_MSG} (column {col + 1})\n  ...{middle[col - 60:col + 60]}...\n"
                                f"  {' ' * 63}^")


def test_an_expression_of_120_characters_is_shown_whole_and_of_121_cut():
    whole = "'x' in page" + " " * (120 - 11 - 5) + " or y"
    assert len(whole) == 120
    assert error_of(whole) == f"{LEFT_MSG} (column 1)\n  {whole}\n  ^"
    cut = "'x' in page" + " " * (121 - 11 - 5) + " or y"
    assert error_of(cut) == f"{LEFT_MSG} (column 1)\n  {cut[:60]}...\n  ^"


def test_line_breaks_in_an_expression_are_shown_as_spaces():
    assert error_of("x ==\n 'a' +") == "not a valid expression: invalid syntax (column 5)\n  x ==  'a' +\n      ^"
    assert error_of("x ==\r 'a' +").endswith("\n  x ==  'a' +\n      ^")


def test_a_filter_is_text_and_blank_text_matches_everything():
    assert error_of(7) == "a filter is text, not int"
    assert error_of(b"x") == "a filter is text, not bytes"
    for blank in (None, "", "   \n "):
        f = compile_filter(blank)
        assert f.fields == frozenset() and f.expression == ""
        assert f.mask({"x": np.array(["a", ""], dtype=object)}).tolist() == [True, True]


def test_a_nul_character_is_refused_where_it_is():
    assert error_of("x == 'a\0b'") == "a filter cannot contain a NUL character (column 8)\n  x == 'a\0b'\n         ^"


def test_exactly_max_length_characters_and_one_more():
    ok = "x" + " " * 4 + " or x" * 1999
    assert len(ok) == MAX_LENGTH
    assert compile_filter(ok).mask({"x": np.array(["a", ""], dtype=object)}).tolist() == [True, False]
    assert error_of(ok + "x") == "a filter has at most 10,000 characters (this one has 10,001)"
    assert compile_filter("  " + ok + "  ").expression == ok  # surrounding spaces do not count


def test_brackets_in_quotes_do_not_nest_and_closing_brackets_unnest():
    deep = "(" * (MAX_DEPTH + 10)
    assert compile_filter(f"x == '{deep}'").mask({"x": np.array([deep, "("], dtype=object)}).tolist() == [True, False]
    assert compile_filter(f'x == "{deep}"').fields == frozenset({"x"})
    assert compile_filter(f"x == 'it\\'s {deep}'").mask({"x": np.array([f"it's {deep}"], dtype=object)}).tolist() == [
        True]
    assert compile_filter(f'x == "say \\"{deep}"').fields == frozenset({"x"})
    many = " and ".join(["(x)"] * (MAX_DEPTH + 10))
    assert compile_filter(many).fields == frozenset({"x"})


def test_square_and_curly_brackets_nest_too():
    expr = "x in " + "[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1)
    assert error_of(expr).startswith(f"nested deeper than {MAX_DEPTH} levels (column {5 + MAX_DEPTH + 1})")
    expr = "x in " + "{" * (MAX_DEPTH + 1)
    assert error_of(expr).startswith(f"nested deeper than {MAX_DEPTH} levels (column {5 + MAX_DEPTH + 1})")


def test_number_literals_of_40_characters_and_of_41():
    forty = "1" + "0" * 14 + "." + "0" * 24  # 1e14
    assert len(forty) == MAX_NUMBER_TEXT
    assert mask(f"x < {forty}", {"x": np.array(["1e13", "1e15"], dtype=object)}) == [1, 0]
    expected = (f"a number in a filter has at most {MAX_NUMBER_TEXT} characters and is at most 1e+15 in "
                f"magnitude (column 5)")
    assert error_of(f"x < {forty}0").startswith(expected)
    assert error_of("x < ." + "0" * MAX_NUMBER_TEXT).startswith(expected)  # 41 characters from the dot
    assert mask("x < ." + "0" * (MAX_NUMBER_TEXT - 2) + "1", {"x": np.array(["0", "1"], dtype=object)}) == [1, 0]
    # letters and underscores start a name, not a number, however many digits follow
    name = "x" + "1" * 60
    assert compile_filter(f"{name} == 1").fields == frozenset({name})
    assert compile_filter(f"_{'2' * 60} == 1").fields == frozenset({"_" + "2" * 60})


def test_the_syntax_tree_may_be_max_depth_deep():
    # each "not" is one level; the field name and its load context are two more
    even = compile_filter("not " * (MAX_DEPTH - 2) + "x")  # 48 "not": the field itself
    assert even.mask({"x": np.array(["", "a"], dtype=object)}).tolist() == [False, True]
    assert error_of("not " * (MAX_DEPTH - 1) + "x").startswith(f"nested deeper than {MAX_DEPTH} levels")


def test_boolean_numeric_and_mixed_columns():
    b = {"b": np.array([True, False])}
    assert mask("b == 1", b) == [1, 0] and mask("b == True", b) == [1, 0] and mask("b > 0", b) == [1, 0]
    assert mask("b", b) == [1, 1]  # "False" is a non-blank value
    mixed = {"x": np.array([None, 1, "2", "z", 0.5], dtype=object)}
    assert mask("x > 0", mixed) == [0, 1, 1, 0, 1]
    assert mask("x != 0", mixed) == [1, 1, 1, 1, 1]
    assert mask("x == 1", mixed) == [0, 1, 0, 0, 0]
    ints = {"n": np.array([1, 2, 3], dtype=np.int64)}
    assert mask("n >= 2", ints) == [0, 1, 1] and mask("n == '2'", ints) == [0, 1, 0] and mask("n", ints) == [1, 1, 1]
    assert mask("x == None", {"x": np.array(["", "a"], dtype=object)}) == [1, 0]
    assert mask("x != None", {"x": np.array(["", "a"], dtype=object)}) == [0, 1]


def test_three_way_and_or_and_chains():
    cols = {"x": np.array(["a", "b", "c", "d"], dtype=object), "n": np.array(["1", "5", "9", "20"], dtype=object),
            "m": np.array(["20", "20", "5", "20"], dtype=object)}
    assert mask("x == 'a' or x == 'b' or x == 'c'", cols) == [1, 1, 1, 0]
    assert mask("x != 'a' and x != 'b' and x != 'c'", cols) == [0, 0, 0, 1]
    assert mask("x == 'a' or n > 4 and m > 10", cols) == [1, 1, 0, 1]
    assert mask("0 < n < 10 < m", cols) == [1, 1, 0, 0]
    assert mask("not (x == 'a' or x == 'b')", cols) == [0, 0, 1, 1]


def test_mask_sizes_and_one_row_evaluation():
    always = compile_filter("True")
    assert always.mask({}, 3).tolist() == [True] * 3
    assert compile_filter("False").mask({"x": np.array(["a", "b"], dtype=object)}).tolist() == [False, False]
    f = compile_filter("not x")
    assert f({}) is True and f({"x": "v"}) is False and f({"x": ""}) is True
    with pytest.raises(FilterError) as err:
        compile_filter("x == 1 and y == 2").mask({"z": np.array([1]), "a": np.array([2])})
    assert str(err.value) == ("filter 'x == 1 and y == 2' uses fields the events do not have: x, y; fields: a, z")


# -- survivors of the first mutation run ------------------------------------------------------------
ALLOWED_TEXT = "==, !=, <, <=, >, >=, in, not in, and, or, not, field names and constants"
CONSTANT = "expected a constant (a quoted string, a number, True, False or None)"


@pytest.mark.parametrize(("expr", "message"), [
    ("None is page", f"operator not allowed; allowed: {ALLOWED_TEXT} (column 1)\n  None is page\n  ^"),
    ("True < page", "order comparisons need a number or a string (column 1)\n  True < page\n  ^"),
    ("-'x' == page", f"{CONSTANT} (column 1)\n  -'x' == page\n  ^"),
    ("not f(x)", f"not allowed in a filter; allowed: {ALLOWED_TEXT} (column 5)\n  not f(x)\n      ^"),
    ("\0x == 1", "a filter cannot contain a NUL character (column 1)\n  \0x == 1\n  ^"),
    ("x\0 == '\0'", "a filter cannot contain a NUL character (column 2)\n  x\0 == '\0'\n   ^"),
    ("x == '" + "a" * 1001 + "'", "a string in a filter has at most 1,000 characters (this one has 1,001) (column 6)"),
    ("(x == 1 or\n y == )", "not a valid expression: invalid syntax: '(x == 1 or\\n y == )'"),
], ids=["is-operator", "order-on-a-bool", "minus-a-string", "call-under-not", "nul-first", "nul-inside",
        "long-string", "second-line"])  # ASCII ids: mutmut hands a test back by its id
def test_errors_on_the_constant_side_inside_not_at_column_one_and_on_a_later_line(expr, message):
    assert error_of(expr).split("\n  ")[0] == message.split("\n  ")[0]
    if "\n" in message:
        assert error_of(expr) == message


def test_the_column_one_character_into_a_long_expression_is_cut_with_dots():
    expr = "a or" + " " * 57 + "'x' in page" + " " * 60 + "or y"
    assert expr.index("'x'") == 61 and len(expr) == 136
    assert error_of(expr) == f"{LEFT_MSG} (column 62)\n  ...{expr[1:121]}...\n  {' ' * 63}^"


def test_the_deepest_node_of_a_too_deep_tree_is_pointed_at():
    expr = "not " * MAX_DEPTH + "x"  # the field name is at level 51
    assert error_of(expr).startswith(f"nested deeper than {MAX_DEPTH} levels (column {4 * MAX_DEPTH + 1})\n  ...")


def test_a_tree_too_deep_for_pythons_parser():
    assert error_of("x == " + "-" * 3000 + "1") == f"nested deeper than {MAX_DEPTH} levels (too deep for the parser)"


def test_brackets_after_a_closed_quote_count_again():
    deep = "(" * (MAX_DEPTH + 1) + "y" + ")" * (MAX_DEPTH + 1)
    for prefix in ("x == 'ab' or ", "x == '' or ", "x == 'a\\'b' or ", 'x == "a" or '):
        col = len(prefix) + MAX_DEPTH  # the 51st "(" (0-based)
        assert error_of(prefix + deep).startswith(f"nested deeper than {MAX_DEPTH} levels (column {col + 1})")


def test_closing_brackets_unnest_by_one():
    # 30 open, one more opened and closed, then 21: 51 deep at the last "("
    expr = "(" * 30 + "(x) and " + "(" * 21 + "y" + ")" * 21 + ")" * 30
    assert error_of(expr).startswith(f"nested deeper than {MAX_DEPTH} levels (column {30 + 8 + 20 + 1})")
    ok = "(" * 30 + "(x) and " + "(" * 20 + "y" + ")" * 20 + ")" * 30
    assert compile_filter(ok).fields == frozenset({"x", "y"})


def test_a_long_literal_starting_with_a_dot_and_a_digit_is_a_number():
    expr = "x < .5" + "a" * 45
    assert error_of(expr).startswith(f"a number in a filter has at most {MAX_NUMBER_TEXT} characters and is at most "
                                     "1e+15 in magnitude (column 5)")


def test_constant_filters_give_booleans_row_by_row_and_whole():
    assert compile_filter("True")({}) is True and compile_filter("False")({"x": 1}) is False
    assert compile_filter("").mask({"x": np.array(["a"], dtype=object)}).dtype == bool
    assert compile_filter("True").mask({}, 2).dtype == bool
