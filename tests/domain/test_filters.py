import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.filters import FilterError, compile_filter
from sim.domain.insight_spec import InsightError, parse_insight

COLS = {"page": np.array(["pricing", "docs", "pricing", ""], dtype=object),
        "country": np.array(["FR", "DE", "US", "FR"], dtype=object),
        "amount": np.array(["10", "250.5", "x", "99"], dtype=object)}


@pytest.mark.parametrize("expr, expected", [
    ("page == 'pricing'", [1, 0, 1, 0]),
    ("page != 'pricing'", [0, 1, 0, 1]),
    ("page == 'pricing' and country in ('FR', 'DE')", [1, 0, 0, 0]),
    ("country not in ['FR']", [0, 1, 1, 0]),
    ("not (page == 'docs') or amount > 200", [1, 1, 1, 1]),
    ("amount >= 99", [0, 1, 0, 1]),
    ("99 <= amount", [0, 1, 0, 1]),
    ("10 < amount <= 99", [0, 0, 0, 1]),
    ("amount != 10", [0, 1, 1, 1]),   # 'x' is not a number: only != matches it
    ("page", [1, 1, 1, 0]),            # a bare field: non-blank
    ("amount in (10, 99)", [1, 0, 0, 1]),
    ("", [1, 1, 1, 1]),
])
def test_filter_semantics(expr, expected):
    assert compile_filter(expr).mask(COLS, 4).astype(int).tolist() == expected


@pytest.mark.parametrize("expr, message, column", [
    ("page = 'pricing'", "not a valid expression", None),
    ("__import__('os').system('x')", "not allowed in a filter", 1),
    ("page == other", "compare a field name with a constant", None),
    ("page in 'pricing'", "tuple of constants", 9),
    ("page == 'a' and amount + 1 > 2", "compare a field name with a constant", 17),
    ("len(page) > 2", "compare a field name with a constant", 1),
])
def test_bad_filters_point_at_the_column(expr, message, column):
    with pytest.raises(FilterError) as err:
        compile_filter(expr)
    text = str(err.value)
    assert message in text
    if column is not None:
        assert f"(column {column})" in text
        assert text.splitlines()[-1].index("^") - 2 == column - 1


def test_missing_fields_are_named():
    with pytest.raises(FilterError, match="fields the events do not have: plan"):
        compile_filter("plan == 'pro'").mask(COLS, 4)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from(["a", "b", "1", "2.5", "", "-3"]), min_size=1, max_size=20),
       op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), const=st.sampled_from(["'a'", "'b'", "1", "2.5", "-3"]))
def test_filter_equals_a_row_by_row_oracle(values, op, const):
    import operator

    ops = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}
    if const.startswith("'"):
        expected = [ops[op](v, const.strip("'")) for v in values]
    else:
        def num(v):
            try:
                return float(v)
            except ValueError:
                return None
        expected = [(op == "!=") if num(v) is None else ops[op](num(v), float(const)) for v in values]
    got = compile_filter(f"f {op} {const}").mask({"f": np.array(values, dtype=object)}, len(values))
    assert got.tolist() == expected


BASE = {"name": "x", "threshold": 3, "window": "10m"}


@pytest.mark.parametrize("change, message", [
    ({"window": "30s"}, "window: .*greater than or equal to 60"),
    ({"window": "2d"}, "window: .*less than or equal to 86400"),
    ({"measure": "avg:x"}, "measure: 'avg:x': allowed: count, sum:<field>, distinct:<field>"),
    ({"filter": "page = 'x'"}, r"filter: .*\(column 6\)"),
    ({"window_type": "hopping"}, "window_type: 'hopping' is not allowed; allowed: tumbling, sliding"),
    ({"cooldown": "5m"}, "cooldown applies to sliding windows only"),
    ({"grup_by": "x"}, "grup_by: unknown field; allowed here: name, filter, measure"),
])
def test_insight_definition_errors_name_the_key(change, message):
    with pytest.raises(InsightError, match=message):
        parse_insight({**BASE, **change}, "i.yaml")


def test_insight_definition_defaults_and_measure_forms():
    spec = parse_insight({**BASE, "measure": "sum: amount", "threshold": 99.5})
    assert spec.measure == "sum:amount" and spec.measure_field == "amount" and spec.window_type == "tumbling"
