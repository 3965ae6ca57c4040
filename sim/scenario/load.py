"""Reading scenarios: YAML files, dotted overrides, and error messages a person can act on.

``load("scenarios/b2b_pricing_alert.yaml", overrides={"visitors.rate_per_s": 40})`` reads the file,
applies each override at its dotted path (every segment must be a field of the model at that
level), validates, and returns a :class:`~sim.scenario.models.Scenario`. Any problem raises
:class:`ScenarioError`, whose message names the file, the field path, what was wrong and what is
allowed; the command line prints it and exits with code 2.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from sim.scenario.models import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used, with a message naming the field and what is allowed."""


def _submodel(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    field = model.model_fields.get(name)
    if field is None:
        return None
    ann = field.annotation
    for candidate in (ann, *get_args(ann)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _model_at(path: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Scenario
    for part in path:
        if model is None or not isinstance(part, str):
            return None
        model = _submodel(model, part)
    return model


def _allowed(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _literal_choices(path: tuple) -> str | None:
    parent = _model_at(path[:-1])
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


def format_errors(err: ValidationError, source: str) -> str:
    """One line per problem: ``source: dotted.path: what is wrong; what is allowed``."""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        kind = e["type"]
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = f"; allowed here: {_allowed(parent)}" if parent else ""
            lines.append(f"{source}: {path}: unknown field{allowed}")
        elif kind == "missing":
            lines.append(f"{source}: {path}: required field is missing")
        elif kind in ("literal_error", "enum"):
            choices = _literal_choices(loc) or e.get("ctx", {}).get("expected", "")
            lines.append(f"{source}: {path}: {e['input']!r} is not allowed; allowed: {choices}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
            lines.append(f"{source}: {path}: {msg}{shown}")
    return "\n".join(lines)


def parse_override_value(text: str) -> Any:
    """A ``--set`` value as YAML (``40`` -> 40, ``true`` -> True, ``10m`` stays a string)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict, overrides: Mapping[str, Any], source: str = "--set") -> dict:
    """A copy of ``raw`` with each dotted ``key = value`` applied; unknown keys are errors."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = key.split(".")
        model: type[BaseModel] | None = Scenario
        node = out
        for i, part in enumerate(parts):
            if model is None or part not in model.model_fields:
                where = ".".join(parts[:i]) or "the scenario"
                allowed = f"; allowed in {where}: {_allowed(model)}" if model else ""
                raise ScenarioError(f"{source}: {key}: unknown field {part!r}{allowed}")
            if i == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                if not isinstance(child, dict):
                    raise ScenarioError(f"{source}: {key}: {'.'.join(parts[: i + 1])} is not a section")
                node = child
                model = _submodel(model, part)
    return out


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario is a YAML mapping with name, horizon and actor sections")
    return raw


def validate(raw: dict, source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(format_errors(err, source)) from None


def load(path_or_scenario: str | Path | Scenario | dict, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A validated scenario from a YAML path, a dict or a Scenario, with dotted overrides applied."""
    overrides = dict(overrides or {})
    if isinstance(path_or_scenario, Scenario):
        raw = path_or_scenario.model_dump(mode="python")
        source = path_or_scenario.name
    elif isinstance(path_or_scenario, dict):
        raw, source = path_or_scenario, "scenario"
    else:
        raw, source = read_yaml(path_or_scenario), str(path_or_scenario)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return validate(raw, source)
