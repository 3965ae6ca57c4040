"""Problems a person can act on, and JSON Schema validation that reports them.

Every check of the AEP objects ends in a list of :class:`Problem`: the dotted field path inside
the object's JSON body (``scheduleParams.interval``, ``mappings[2].destinationXdmPath``), what is
wrong and what is allowed there. :class:`AepError` carries them; :mod:`sim.domain.aep.api` adds the
object (file, endpoint, name) in front, one line per problem.

Structural rules (required fields, types, enumerations, minimums) are JSON Schemas checked by the
``jsonschema`` library, as the platform publishes them (the flow spec's ``scheduleSpec`` and
``transformationSpecs`` are such schemas); :func:`schema_problems` turns its errors into problems.
Cross-object rules (a mapping's destination path must exist in the target schema) are Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import jsonschema


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``field`` is a dotted path in the body (``""`` for the whole object)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def under(self, prefix: str) -> Problem:
        """The same problem with ``prefix`` in front of its field path."""
        if not prefix:
            return self
        if not self.field:
            return Problem(prefix, self.message)
        sep = "" if self.field.startswith("[") else "."
        return Problem(f"{prefix}{sep}{self.field}", self.message)


class AepError(ValueError):
    """An object the platform would refuse; ``problems`` lists every reason (one line each)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def under(self, prefix: str) -> AepError:
        return AepError(p.under(prefix) for p in self.problems)


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise AepError(problems)


def dotted(path: Iterable[Any]) -> str:
    """``['mappings', 2, 'identity']`` -> ``mappings[2].identity``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else repr(value)


_JSON_TYPES = {"integer": "an integer", "string": "a string", "boolean": "true or false", "object": "an object",
               "array": "a list", "number": "a number", "null": "null"}


def _message(err: jsonschema.ValidationError, labels: dict) -> tuple[str, str]:
    """(field, message) for one jsonschema error, in the vocabulary of this package."""
    field = dotted(err.absolute_path)
    kind, expected = err.validator, cast(Any, err.validator_value)
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else str(expected)
        return dotted([*err.absolute_path, missing]), "required field is missing"
    if kind == "additionalProperties":
        schema = cast(Mapping[str, Any], err.schema)  # an object schema has additionalProperties
        allowed = ", ".join(sorted(schema.get("properties", {})))
        extra = sorted(set(cast(Mapping[str, Any], err.instance)) - set(schema.get("properties", {})))
        names = ", ".join(extra)
        return field, f"unknown field(s) {names}; allowed here: {allowed}"
    if kind == "type":
        want: list[str] = expected if isinstance(expected, list) else [expected]
        return field, f"{_shown(err.instance)} is not {' or '.join(_JSON_TYPES.get(w, w) for w in want)}"
    if kind == "enum":
        return field, f"{_shown(err.instance)} is not allowed; allowed: {', '.join(map(str, expected))}"
    if kind == "const":
        return field, f"{_shown(err.instance)} is not allowed; expected {expected!r}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {"minimum": "below the minimum", "exclusiveMinimum": "not above", "maximum": "above the maximum",
                "exclusiveMaximum": "not below"}[kind]
        context = labels.get(dotted(err.schema_path), "")
        return field, f"{_shown(err.instance)} is {word} {expected}{context}"
    if kind in ("minLength", "minItems"):
        return field, "must not be empty" if expected == 1 else f"needs at least {expected} items"
    if kind == "maxItems":
        return field, f"at most {expected} item(s) allowed"
    if kind == "pattern":
        return field, f"{_shown(err.instance)} does not match {expected}"
    if kind == "not":
        label = labels.get(dotted(err.schema_path), f"{_shown(err.instance)} is not allowed here")
        return label if isinstance(label, tuple) else (field, label)
    return field, err.message


def schema_problems(schema: dict, instance: Any, labels: dict | None = None) -> list[Problem]:
    """Validate ``instance`` against a draft-07 JSON ``schema``; one :class:`Problem` per error,
    sorted by field. ``labels`` maps a schema path (``then.properties.interval.minimum``) to the
    words that explain it (`` for frequency 'minute'``); for a ``not`` rule the label may be a
    ``(field, message)`` pair, since such an error sits on the object rather than on a field."""
    validator = jsonschema.Draft7Validator(schema)
    problems = {Problem(*_message(e, labels or {})) for e in validator.iter_errors(instance)}
    return sorted(problems, key=lambda p: (p.field, p.message))


def check_schema(schema: dict) -> None:
    """Raise if ``schema`` itself is not a valid draft-07 schema (used on the published specs)."""
    jsonschema.Draft7Validator.check_schema(schema)
