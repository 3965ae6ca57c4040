"""Reading scenarios: YAML files, dotted overrides, and error messages a person can act on.

``load("scenarios/b2b_pricing_alert.yaml", overrides={"visitors.rate_per_s": 40})`` reads the file,
applies each override at its dotted path (every segment must be a field of the model at that
level), validates, and returns a :class:`~sim.scenario.models.Scenario`. Any problem raises
:class:`ScenarioError`, whose message names the file, the field path, what was wrong and what is
allowed; the command line prints it and exits with code 2.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.core.errors import allowed_fields, field_path, pydantic_errors, shown_value, submodel
from sim.core.yamlfile import read_mapping
from sim.scenario.errors import Overrides, ScenarioError  # noqa: F401  (re-exported)
from sim.scenario.models import ScenarioBase, model_for


def parse_override_value(text: str) -> Any:
    """A ``--set`` value as YAML (``40`` -> 40, ``true`` -> True, ``10m`` stays a string), read
    with the strict loader (bounded nesting and aliases, no repeated keys)."""
    from sim.core.yamlfile import override_value

    return override_value(text)


def apply_overrides(raw: dict, overrides: Mapping[str, Any], source: str = "overrides") -> dict:
    """A copy of ``raw`` with each dotted ``key = value`` applied; unknown keys are errors."""
    for key in overrides:
        if not isinstance(key, str):
            raise ScenarioError(f"{source}: key {shown_value(key)} ({type(key).__name__}) is not text; a key is a "
                                "dotted field path such as visitors.rate_per_s")
    out = copy.deepcopy(raw)
    if "system" in overrides:  # the system decides which fields exist
        out["system"] = overrides["system"]
    root = _model(out, source)
    done: list[str] = []
    for key, value in overrides.items():
        parts = key.split(".")
        shown = field_path(parts)
        inside = [k for k in done if k.startswith(key + ".")]
        if inside:  # the section would replace them without a word
            earlier = ", ".join(field_path(k.split(".")) for k in inside)
            raise ScenarioError(f"{source}: {shown}: a whole section given after {earlier} "
                                f"would discard {'it' if len(inside) == 1 else 'them'}; give the section first and "
                                "the fields after it, or put them inside it")
        done.append(key)
        model: type[BaseModel] | None = root
        node = out
        for i, part in enumerate(parts):
            if model is None or part not in model.model_fields:
                where = field_path(parts[:i]) or "the scenario"
                allowed = f"; allowed in {where}: {allowed_fields(model)}" if model else ""
                raise ScenarioError(f"{source}: {shown}: unknown field {part!r}{allowed}")
            if i == len(parts) - 1:
                node[part] = copy.deepcopy(value)  # the caller's value stays the caller's
            else:
                child = node.get(part)
                if child is None:  # a section the file leaves out: its defaults, then the override
                    child = node[part] = _default_section(model, part)
                if not isinstance(child, dict):
                    raise ScenarioError(f"{source}: {shown}: {field_path(parts[: i + 1])} is not a section")
                node = child
                model = submodel(model, part)
    return out


def _default_section(model: type[BaseModel], field: str) -> dict:
    """The default of a section as a mapping (so that ``--set ingestion.http_latency.median=50ms``
    keeps the default p95), or an empty mapping when the field has no model default."""
    default = model.model_fields[field].get_default(call_default_factory=True)
    return default.model_dump(mode="python") if isinstance(default, BaseModel) else {}


def _model(raw: dict, source: str) -> type[ScenarioBase]:
    try:
        return model_for(raw.get("system", "data_cloud"))
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: no such scenario file")
    return read_mapping(path, ScenarioError, "a scenario is a YAML mapping with name, horizon and actor sections")


def validate(raw: dict, source: str = "scenario", sources: Mapping[str, str] | None = None) -> ScenarioBase:
    """The scenario ``raw`` validated by the model of its ``system`` (default ``data_cloud``).
    ``sources`` names where overridden paths came from, for the error lines."""
    model = _model(raw, source)
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(pydantic_errors(err, source, model, sources)) from None


def derive(base: ScenarioBase, changes: Mapping[str, Any], label: str) -> ScenarioBase:
    """A variant of ``base``: its dotted ``changes`` applied and validated (errors start with
    ``label``); the base's own ``variants`` are not carried over."""
    raw = base.model_dump(mode="python")
    raw["variants"] = {}
    return validate(apply_overrides(raw, changes, source=label), label)


def load(path_or_scenario: str | Path | ScenarioBase | dict,
         overrides: Mapping[str, Any] | None = None) -> ScenarioBase:
    """A validated scenario from a YAML path, a dict or a Scenario, with dotted overrides applied."""
    source_of_overrides = getattr(overrides, "source", "overrides")
    overrides = dict(overrides or {})
    if isinstance(path_or_scenario, ScenarioBase):
        raw = path_or_scenario.model_dump(mode="python")
        source = path_or_scenario.name
    elif isinstance(path_or_scenario, dict):
        raw, source = path_or_scenario, "scenario"
    else:
        raw, source = read_yaml(path_or_scenario), str(path_or_scenario)
    if overrides:
        raw = apply_overrides(raw, overrides, source=source_of_overrides)
    scenario = validate(raw, source, dict.fromkeys(overrides, source_of_overrides))
    variants(scenario, source)  # every variant is checked whenever the scenario is read
    return scenario


def variants(base: ScenarioBase, source: str = "scenario") -> dict[str, ScenarioBase]:
    """Each of ``base``'s variants (base + the variant's dotted overrides), validated."""
    out = {}
    for name, changes in base.variants.items():
        where = field_path(("variants", name))
        if not isinstance(changes, dict):
            raise ScenarioError(f"{source}: {where}: a mapping of dotted overrides, e.g. "
                                "{insights.window_type: tumbling}")
        out[name] = derive(base, changes, f"{source}: {where}")
    return out
