"""Validation errors a person can act on: one line per problem, naming the dotted field path, what
was wrong and what is allowed there (the fields of the section, or the choices of a literal)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError


def _field_models(ann: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside a field's annotation, and whether it sits in a list or dict."""
    origin = get_origin(ann)
    if origin in (list, dict, tuple, set):
        inner, _ = _field_models(get_args(ann)[-1])
        return inner, True
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    for arg in get_args(ann):  # Optional / Union / Annotated
        model, contained = _field_models(arg)
        if model is not None:
            return model, contained
    return None, False


def submodel(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    field = model.model_fields.get(name)
    return None if field is None else _field_models(field.annotation)[0]


def _model_at(path: tuple, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model at a validation-error location (list indices and dict keys are stepped over)."""
    model: type[BaseModel] | None = root
    skip = False
    for part in path:
        if skip:
            skip = False
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        model, skip = _field_models(model.model_fields[part].annotation)
    return model


_RANGE = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _is_duration(path: tuple, root: type[BaseModel]) -> bool:
    """Whether the field at ``path`` is a duration (read by ``parse_duration``, held in seconds)."""
    parent = _model_at(path[:-1], root)
    if parent is None or not isinstance(path[-1], str) or path[-1] not in parent.model_fields:
        return False
    return any(getattr(getattr(m, "func", None), "__name__", "") == "parse_duration"
               for m in parent.model_fields[path[-1]].metadata)


def allowed_fields(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _literal_choices(path: tuple, root: type[BaseModel]) -> str | None:
    parent = _model_at(path[:-1], root)
    if parent is None or not isinstance(path[-1], str):
        return None
    field = parent.model_fields.get(path[-1])
    if field is None:
        return None
    ann = field.annotation
    if get_origin(ann) is list:
        ann = get_args(ann)[0]
    args = get_args(ann)
    if args and all(isinstance(a, str) for a in args):
        return ", ".join(args)
    return None


def pydantic_errors(err: ValidationError, source: str, root: type[BaseModel],
                    sources: Mapping[str, str] | None = None) -> str:
    """One line per problem: ``source: dotted.path: what is wrong; what is allowed``. ``sources``
    maps a dotted path (or a prefix of it) to where its value came from instead (``--set``)."""
    lines = []
    default = source
    for e in err.errors():
        loc = tuple(e["loc"])
        path = field_path(loc) or "(top level)"
        source = _source_of(".".join(str(p) for p in loc) or _leading_path(e["msg"], root), default, sources or {})
        kind = e["type"]
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1], root)
            allowed = f"; allowed here: {allowed_fields(parent)}" if parent else ""
            lines.append(f"{source}: {path}: unknown field{allowed}")
        elif kind == "missing":
            lines.append(f"{source}: {path}: required field is missing")
        elif kind in ("literal_error", "enum"):
            choices = _literal_choices(loc, root) or e.get("ctx", {}).get("expected", "")
            lines.append(f"{source}: {path}: {_short(e['input'])} is not allowed; allowed: {choices}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) or not loc else " (got null)" if got is None else \
                f" (got {_short(got) if not _secret(loc) else 'a ' + type(got).__name__})"
            if kind in _RANGE and isinstance(got, (int, float)) and _is_duration(loc, root):
                msg, shown = f"{msg} s", f" (got {got:g} s)"  # a duration's bound and value, in seconds
            lines.append(f"{source}: {path + ': ' if loc else ''}{msg}{shown}")
    return "\n".join(lines)


def field_path(parts) -> str:
    """A dotted field path as shown in an error line: a part holding a line break or another
    control character is shown quoted and escaped (``identity.batch.'a\\nb'``), so that the
    line stays one line."""
    return ".".join(p if isinstance(p, str) and p.isprintable() else
                    repr(p) if isinstance(p, str) else str(p) for p in parts)


def _leading_path(msg: str, root: type[BaseModel]) -> str:
    """The dotted path a model-level message starts with (``faults.0: ...``), when it names a field
    of ``root``; empty otherwise (so that the message is blamed on where that field came from)."""
    match = re.match(r"(?:Value error, )?([A-Za-z_]\w*(?:\.\w+)*)", msg)
    if match is None or match.group(1).split(".")[0] not in root.model_fields:
        return ""
    return match.group(1)


def _secret(loc: tuple) -> bool:
    """Whether a field holds a secret (a signing key, a client secret): its value is never shown."""
    name = str(loc[-1]).lower() if loc else ""
    return any(word in name for word in ("key", "secret", "password", "token"))


def _short(value: object) -> str:
    """A value as shown in an error line: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...{text[-12:]} ({len(text)} characters)"


shown_value = _short  # a value as an error line shows it (for the other modules)


def _source_of(path: str, default: str, sources: Mapping[str, str]) -> str:
    for key, origin in sources.items():
        if path == key or path.startswith(key + ".") or key.startswith(path + "."):
            return origin
    return default


def validate_model(model: type[BaseModel], raw: object, source: str, error: type[Exception], what: str):
    """``model`` validated from ``raw`` (a mapping); problems raise ``error`` with one line each."""
    if not isinstance(raw, dict):
        raise error(f"{source}: {what}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise error(pydantic_errors(err, source, model)) from None
