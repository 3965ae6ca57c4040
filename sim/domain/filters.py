"""Filter expressions for insights and segments: a small, safe language evaluated on columns.

``page == 'pricing' and country in ('FR', 'DE')`` is parsed with Python's :mod:`ast` and only these
forms are accepted (anything else is an error pointing at its column):

* comparisons ``==, !=, <, <=, >, >=`` (chains such as ``1 <= n < 5`` too) between a field name and
  a constant (string, number, ``True``/``False``/``None``), either side;
* ``field in (c1, c2, ...)`` and ``not in`` with a tuple or list of constants;
* ``and``, ``or``, ``not`` and parentheses; a bare field name is true when the value is non-blank.

Nothing is ever executed (no ``eval``): the tree is compiled into numpy operations over whole
columns, so a filter costs a few vectorised passes per batch. Fields are text (as read from a CSV)
or numbers; a comparison with a number compares numerically, and a value that is not a number then
never matches (``!=`` does).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

Columns = Mapping[str, np.ndarray]
Mask = Callable[[Columns, int], np.ndarray]

_OPS = {ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
        ast.Gt: np.greater, ast.GtE: np.greater_equal}
_SWAP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
ALLOWED = "==, !=, <, <=, >, >=, in, not in, and, or, not, field names and constants"


class FilterError(ValueError):
    """A filter that cannot be used; the message shows the expression and points at the column."""


def _error(expr: str, node: ast.AST | None, message: str) -> FilterError:
    col = getattr(node, "col_offset", None)
    if col is None:
        return FilterError(f"{message}: {expr!r}")
    return FilterError(f"{message} (column {col + 1})\n  {expr}\n  {' ' * col}^")


@dataclass(frozen=True)
class Filter:
    """A compiled filter: ``mask(columns, n)`` gives the boolean mask of matching rows."""

    expression: str
    fields: frozenset[str]
    _mask: Mask

    def mask(self, columns: Columns, n: int | None = None) -> np.ndarray:
        if n is None:
            n = len(next(iter(columns.values()))) if columns else 0
        missing = self.fields - set(columns)
        if missing:
            raise FilterError(f"filter {self.expression!r} uses fields the events do not have: "
                              f"{', '.join(sorted(missing))}; fields: {', '.join(sorted(columns))}")
        out = self._mask(columns, n)
        return np.broadcast_to(out, (n,)).copy() if np.ndim(out) == 0 else out

    def __call__(self, row: Mapping[str, object]) -> bool:
        """Evaluate on one event (a mapping of field -> value)."""
        cols = {f: np.array([row.get(f, "")], dtype=object) for f in self.fields}
        return bool(self._mask(cols, 1)[0])


def _constant(expr: str, node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    raise _error(expr, node, "expected a constant (a quoted string, a number, True, False or None)")


def _numeric(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.tolist()):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def _text(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "O":
        return values
    return values.astype(str).astype(object)


def _comparison(expr: str, node: ast.AST, op: ast.cmpop, name: str, value) -> Mask:
    if isinstance(op, (ast.In, ast.NotIn)):
        raise _error(expr, node, "'in' needs a field on the left and a tuple of constants on the right")
    if type(op) not in _OPS:
        raise _error(expr, node, f"operator not allowed; allowed: {ALLOWED}")
    fn = _OPS[type(op)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        if not isinstance(op, (ast.Eq, ast.NotEq)) and not isinstance(value, str):
            raise _error(expr, node, "order comparisons need a number or a string")
        target = "" if value is None else str(value)
        return lambda cols, n: fn(_text(cols[name]), target)
    number = float(value)

    def numeric(cols: Columns, n: int) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return fn(_numeric(cols[name]), number)
    return numeric


def _compile(expr: str, node: ast.AST, fields: set[str]) -> Mask:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(expr, v, fields) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolop(cols: Columns, n: int) -> np.ndarray:
            out = np.asarray(parts[0](cols, n), dtype=bool)
            for p in parts[1:]:
                out = combine(out, p(cols, n))
            return out
        return boolop
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(expr, node.operand, fields)
        return lambda cols, n: np.logical_not(inner(cols, n))
    if isinstance(node, ast.Name):
        fields.add(node.id)
        name = node.id
        return lambda cols, n: _text(cols[name]) != ""
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        value = node.value
        return lambda cols, n: np.full(n, value)
    if isinstance(node, ast.Compare):
        steps: list[Mask] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            steps.append(_one_comparison(expr, node, op, left, right, fields))
            left = right

        def chain(cols: Columns, n: int) -> np.ndarray:
            out = np.asarray(steps[0](cols, n), dtype=bool)
            for s in steps[1:]:
                out = out & s(cols, n)
            return out
        return chain
    raise _error(expr, node, f"not allowed in a filter; allowed: {ALLOWED}")


def _one_comparison(expr: str, node: ast.AST, op: ast.cmpop, left: ast.AST, right: ast.AST,
                    fields: set[str]) -> Mask:
    if isinstance(op, (ast.In, ast.NotIn)):
        if not isinstance(left, ast.Name):
            raise _error(expr, left, "the left of 'in' must be a field name")
        if not isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            raise _error(expr, right, "the right of 'in' must be a tuple of constants, e.g. ('FR', 'DE')")
        values = [_constant(expr, e) for e in right.elts]
        fields.add(left.id)
        name, negate = left.id, isinstance(op, ast.NotIn)
        texts = [v for v in values if isinstance(v, str)]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]

        def member(cols: Columns, n: int) -> np.ndarray:
            col = cols[name]
            out = np.isin(_text(col), np.array(texts, dtype=object)) if texts else np.zeros(n, bool)
            if numbers:
                out |= np.isin(_numeric(col), numbers)
            return ~out if negate else out
        return member
    if isinstance(left, ast.Name) and not isinstance(right, ast.Name):
        fields.add(left.id)
        return _comparison(expr, node, op, left.id, _constant(expr, right))
    if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
        fields.add(right.id)
        swapped = _SWAP.get(type(op))
        if swapped is None:
            raise _error(expr, node, f"operator not allowed; allowed: {ALLOWED}")
        return _comparison(expr, node, swapped(), right.id, _constant(expr, left))
    where = left if not isinstance(left, ast.Name) else right
    raise _error(expr, where, "compare a field name with a constant")


def compile_filter(expression: str | None) -> Filter:
    """Parse and compile a filter; ``None`` or an empty string matches every event."""
    expr = (expression or "").strip()
    if not expr:
        return Filter("", frozenset(), lambda cols, n: np.ones(n, dtype=bool))
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        raise FilterError(f"not a valid expression: {exc.msg} (column {col + 1})\n  {expr}\n  {' ' * col}^") from None
    fields: set[str] = set()
    mask = _compile(expr, tree.body, fields)
    return Filter(expr, frozenset(fields), mask)
