"""Filter expressions for insights and segments: a small, safe language evaluated on columns.

``page == 'pricing' and country in ('FR', 'DE')`` is parsed with Python's :mod:`ast` and only these
forms are accepted (anything else is an error pointing at its column):

* comparisons ``==, !=, <, <=, >, >=`` (chains such as ``1 <= n < 5`` too) between a field name and
  a constant (string, number, ``True``/``False``/``None``), either side;
* ``field in (c1, c2, ...)`` and ``not in`` with a tuple or list of constants;
* ``and``, ``or``, ``not`` and parentheses; a bare field name is true when the value is non-blank.

Limits (an error names the limit and points at the column): at most :data:`MAX_LENGTH` characters,
:data:`MAX_DEPTH` levels of nesting (parentheses, ``not``, sub-expressions), numbers of magnitude
at most :data:`MAX_NUMBER` and strings of at most :data:`MAX_STRING` characters.

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
MAX_LENGTH = 10_000
MAX_DEPTH = 50
MAX_NUMBER = 1e15
MAX_STRING = 1_000
MAX_NUMBER_TEXT = 40  # characters of one number literal (Python refuses > 4300 digits on its own)
_SHOWN = 60  # characters shown either side of the column in an error


class FilterError(ValueError):
    """A filter that cannot be used; the message shows the expression and points at the column."""


def _excerpt(expr: str, col: int) -> tuple[str, int]:
    """The part of a long expression around ``col`` (with ``...``), and the column within it."""
    if len(expr) <= 2 * _SHOWN:
        return expr, col
    lo, hi = max(col - _SHOWN, 0), min(col + _SHOWN, len(expr))
    head = "..." if lo > 0 else ""
    return head + expr[lo:hi] + ("..." if hi < len(expr) else ""), col - lo + len(head)


def _at(expr: str, col: int | None, message: str) -> FilterError:
    if col is None:
        shown, _ = _excerpt(expr, 0)
        return FilterError(f"{message}: {shown!r}")
    col = min(max(col, 0), len(expr))
    shown, at = _excerpt(expr, col)
    shown = shown.replace("\n", " ").replace("\r", " ")
    return FilterError(f"{message} (column {col + 1})\n  {shown}\n  {' ' * at}^")


def _error(expr: str, node: ast.AST | None, message: str) -> FilterError:
    return _at(expr, getattr(node, "col_offset", None), message)


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
        return self._evaluate(tuple(row.get(f, "") for f in self.fields))

    def _evaluate(self, values: tuple) -> bool:
        cols = {}
        for f, v in zip(self.fields, values):
            col = np.empty(1, dtype=object)
            col[0] = v
            cols[f] = col
        return bool(self._mask(cols, 1)[0])


def _constant(expr: str, node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return _bounded(expr, node, node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
        return -_bounded(expr, node.operand, node.operand.value)
    raise _error(expr, node, "expected a constant (a quoted string, a number, True, False or None)")


def _bounded(expr: str, node: ast.AST, value):
    """``value`` if within the literal limits, else a FilterError pointing at it."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise _error(expr, node, f"a string in a filter has at most {MAX_STRING:,} characters "
                                 f"(this one has {len(value):,})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and value != value:
            raise _error(expr, node, "a number in a filter must be finite")
        if not -MAX_NUMBER <= value <= MAX_NUMBER:  # int vs float compares exactly, no overflow
            raise _error(expr, node, f"a number in a filter is at most {MAX_NUMBER:.0e} in magnitude")
    return value


def _scan_nesting(expr: str) -> None:
    """Refuse brackets nested deeper than MAX_DEPTH before Python's parser sees them (quotes are
    skipped, roughly: the parser's own errors are caught anyway)."""
    depth, quote, escaped, word = 0, "", False, -1
    for col, ch in enumerate(expr):
        if not quote and (ch.isalnum() or ch in "._"):
            if word < 0:
                word = col
            if expr[word].isdigit() or (expr[word] == "." and expr[word + 1: col + 1][:1].isdigit()):
                if col - word + 1 > MAX_NUMBER_TEXT:
                    raise _at(expr, word, f"a number in a filter has at most {MAX_NUMBER_TEXT} characters "
                                          f"and is at most {MAX_NUMBER:.0e} in magnitude")
            continue
        word = -1
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _at(expr, col, f"nested deeper than {MAX_DEPTH} levels")
        elif ch in ")]}":
            depth -= 1


def _check_depth(expr: str, tree: ast.AST) -> None:
    """Refuse syntax trees deeper than MAX_DEPTH (iteratively, before anything recurses)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _error(expr, node, f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


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
    if expression is not None and not isinstance(expression, str):
        raise FilterError(f"a filter is text, not {type(expression).__name__}")
    expr = (expression or "").strip()
    if not expr:
        return Filter("", frozenset(), lambda cols, n: np.ones(n, dtype=bool))
    if len(expr) > MAX_LENGTH:
        raise FilterError(f"a filter has at most {MAX_LENGTH:,} characters (this one has {len(expr):,})")
    nul = expr.find("\0")
    if nul >= 0:
        raise _at(expr, nul, "a filter cannot contain a NUL character")
    _scan_nesting(expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1 if exc.lineno in (None, 1) else None
        msg = " ".join(str(exc.msg).split())
        if "nested" in msg or "too complex" in msg:
            msg = f"nested deeper than {MAX_DEPTH} levels ({msg})"
        raise _at(expr, col, f"not a valid expression: {msg}") from None
    except (RecursionError, MemoryError):
        raise FilterError(f"nested deeper than {MAX_DEPTH} levels (too deep for the parser)") from None
    except ValueError as exc:
        raise FilterError(f"not a valid expression: {' '.join(str(exc).split())}") from None
    _check_depth(expr, tree.body)
    fields: set[str] = set()
    mask = _compile(expr, tree.body, fields)
    return Filter(expr, frozenset(fields), mask)
