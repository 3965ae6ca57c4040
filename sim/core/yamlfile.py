"""Reading a user's YAML file into a mapping, with errors that name the file, line and column.

Every YAML the project reads goes through :class:`StrictLoader` (``yaml.safe_load`` semantics,
plus):

* a key repeated in one mapping is an error naming its line (``yaml.safe_load`` keeps the last);
* aliases cannot blow up: a document whose alias expansion exceeds :data:`MAX_EXPANDED_NODES`
  nodes (a "billion laughs" bomb is a few hundred bytes) or that refers to itself is refused
  before anything walks it;
* nesting deeper than :data:`MAX_DEPTH` is refused (Python's recursion would otherwise break);
* a plain ``1e9`` or ``2E-3`` is a number, as in YAML 1.2 (YAML 1.1 reads it as text).

:func:`safe_load` is the drop-in for ``yaml.safe_load`` (it raises :class:`yaml.YAMLError`, with
:class:`YamlLimitError` for the checks above), :func:`override_value` parses a ``--set`` value
(the text itself when it is not acceptable YAML) and :func:`read_mapping` reads a file into a
mapping with one-line errors.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 100
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document refused by :class:`StrictLoader`: repeated key, alias bomb, recursion,
    nesting too deep."""


def _check_graph(root: Node) -> None:
    """Refuse recursive documents, nesting deeper than MAX_DEPTH, and alias expansion beyond
    MAX_EXPANDED_NODES; iterative, linear in the number of distinct nodes."""
    size: dict[int, int] = {}       # node id -> expanded size
    on_path: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 0)]  # (node, state 0 = enter / 1 = exit)
    depth = 0
    while stack:
        node, state = stack.pop()
        key = id(node)
        if state == 1:
            on_path.discard(key)
            depth -= 1
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise YamlLimitError(None, None, f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                                     "(an alias bomb?); write the values out or use fewer aliases",
                                     node.start_mark)
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlLimitError(None, None, "an alias refers to a node that contains it (recursive data "
                                 "is not allowed)", node.start_mark)
        if isinstance(node, ScalarNode):
            size[key] = 1
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise YamlLimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
        on_path.add(key)
        stack.append((node, 1))
        for child in _children(node):
            if id(child) not in size:
                stack.append((child, 0))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses repeated keys, alias bombs, recursion and deep nesting."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_graph(node)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports unhashable keys
                if key in seen:
                    first = seen[key]
                    raise YamlLimitError(None, None, f"key {key!r} is repeated (first at line {first.line + 1}); "
                                         "each key may appear once in a mapping", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads ``1e9`` and ``2E-3`` as text (its floats need a dot and a signed exponent);
# YAML 1.2 and every user read them as numbers. Plain (unquoted) scalars of that form are floats here,
# so that a quoted ``'4'`` is the only way to write text that looks like a number.
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


QUOTED_NUMBER = "a number in quotes is text in YAML: write it without quotes"


def is_quoted_number(value: object) -> bool:
    """Whether ``value`` is text that reads as a finite number (``'4'``, ``' 2.5 '``): in a YAML
    file, a number someone quoted, which a field of numbers refuses (pydantic would convert it)."""
    if not isinstance(value, str):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def safe_load(text: str | bytes):
    """``yaml.safe_load`` with :class:`StrictLoader`'s checks. Raises :class:`yaml.YAMLError`
    (:class:`YamlLimitError` for a repeated key, an alias bomb, recursion or deep nesting), or
    ValueError for a number too long to convert."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlLimitError(None, None, "nested too deeply") from None
    finally:
        loader.dispose()


def override_value(text: str):
    """A ``--set key=value`` value as YAML (``40`` -> 40, ``true`` -> True, ``10m`` stays a
    string), with :func:`safe_load`'s checks: text that is not YAML, or that a check refuses (a
    repeated key, an alias bomb, deep nesting, an integer of thousands of digits), stays the text
    itself, which validation then reports like any wrong value. Never raises for a str."""
    try:
        return safe_load(text)
    except (yaml.YAMLError, ValueError, OverflowError, MemoryError):
        return text


def yaml_problem(exc: Exception, text: str = "") -> tuple[str, str]:
    """Where (`` line L, column C:`` or empty) and what (one line) of a YAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[:exc.position] if isinstance(exc.position, int) else ""
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        what = (f"character #x{exc.character:04x} is not allowed (control characters such as NUL are not)"
                if isinstance(exc.character, int) else f"cannot decode: {exc.reason}")
        return f" line {line}, column {column}:", what
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return where, " ".join(str(problem).split())


def read_mapping(path: str | Path, error: type[Exception], what: str) -> dict:
    """The YAML mapping in ``path``; any problem raises ``error`` with a message naming the file
    (``what`` says what the file should be, e.g. "a scenario is a YAML mapping with ...")."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        raw = safe_load(text)
    except YamlLimitError as exc:
        where, problem = yaml_problem(exc, text)
        raise error(f"{path}:{where} {problem}") from None
    except yaml.YAMLError as exc:
        where, problem = yaml_problem(exc, text)
        raise error(f"{path}:{where} not valid YAML: {problem}") from None
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. an integer with > 4300 digits
        raise error(f"{path}: a value cannot be read: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: {what}")
    return raw
