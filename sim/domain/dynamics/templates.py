"""Personalisation: message templates with ``{{namespace.attribute}}`` placeholders.

``Hello {{contact.firstname}}, your case {{incident.title}} is resolved`` is rendered from a
*context*: namespace → attributes. A journey instance's context holds the triggering record under
its table's name (``incident``) and under the trigger's name, every awaited trigger the same way,
and the customer's own record under ``contact``/``lead``/``account``. A placeholder whose namespace
or attribute is missing, or whose value is null, raises :class:`PersonalisationError`: a message is
never sent with a silent empty string in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*")


class TemplateError(ValueError):
    """A template that cannot be compiled (a malformed placeholder)."""


class PersonalisationError(ValueError):
    """A placeholder that has no value for this customer; ``placeholder`` is ``namespace.attribute``."""

    def __init__(self, placeholder: str, why: str) -> None:
        super().__init__(f"{{{{{placeholder}}}}}: {why}")
        self.placeholder = placeholder


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Template:
    """A compiled template; ``placeholders`` are its ``(namespace, attribute)`` pairs in order."""

    text: str
    parts: tuple[str, ...]  # literal text around the placeholders: len(placeholders) + 1
    placeholders: tuple[tuple[str, str], ...]

    def render(self, context: Mapping[str, Mapping[str, Any]]) -> str:
        """The message; raises :class:`PersonalisationError` on the first missing value."""
        out = [self.parts[0]]
        for (ns, attr), after in zip(self.placeholders, self.parts[1:]):
            record = context.get(ns)
            name = f"{ns}.{attr}"
            if record is None:
                raise PersonalisationError(name, f"no {ns} record for this customer")
            if attr not in record:
                raise PersonalisationError(name, f"{ns} has no attribute {attr!r}")
            value = record[attr]
            if value is None:
                raise PersonalisationError(name, "the value is empty")
            out += [_text(value), after]
        return "".join(out)


def compile_template(text: str) -> Template:
    """Parse ``text``; raises :class:`TemplateError` naming a malformed placeholder."""
    parts, names, pos = [], [], 0
    for match in _PLACEHOLDER.finditer(text):
        name = _NAME.fullmatch(match.group(1))
        if name is None:
            raise TemplateError(f"{match.group(0)!r} is not a placeholder; write {{{{namespace.attribute}}}}, "
                                f"e.g. {{{{contact.firstname}}}}")
        parts.append(text[pos:match.start()])
        names.append((name.group(1), name.group(2)))
        pos = match.end()
    parts.append(text[pos:])
    for literal in parts:
        if "{{" in literal or "}}" in literal:
            raise TemplateError(f"unbalanced '{{{{' or '}}}}' in template {text!r}")
    return Template(text, tuple(parts), tuple(names))
