"""Validation messages (sim.core.errors) on a small model tree made for the test: one line per
problem, ``source: dotted.path: what; allowed``, the model found under lists and dicts, literal
choices, secrets never shown, long values cut at 60 characters, ``--set`` origins by dotted prefix.
Every expected line is written out in full from the module's rules."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.core.errors import (
    _field_models,
    _literal_choices,
    _model_at,
    _secret,
    _short,
    _source_of,
    allowed_fields,
    pydantic_errors,
    submodel,
    validate_model,
)


class Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["fast", "slow"] = "fast"
    n: int = 0
    api_key: str = ""

    @field_validator("n")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even")
        return v

    @field_validator("api_key")
    @classmethod
    def _long(cls, v: str) -> str:
        if v and len(v) < 8:
            raise ValueError("too short")
        return v


class Root(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    leaf: Optional[Leaf] = None  # noqa: UP045 - the Optional form is what is being tested
    leaves: list[Leaf] = Field(default_factory=list)
    by_name: dict[str, Leaf] = Field(default_factory=dict)
    kinds: list[Literal["x", "y"]] = Field(default_factory=list)
    tagged: Annotated[Leaf | None, "doc"] = None
    count: int = 0

    @model_validator(mode="after")
    def _not_both(self) -> Root:
        if self.count and self.leaves:
            raise ValueError("count and leaves exclude each other")
        return self


def errors_of(raw: dict, sources: dict | None = None) -> list[str]:
    with pytest.raises(ValidationError) as err:
        Root.model_validate(raw)
    return pydantic_errors(err.value, "cfg.yaml", Root, sources).split("\n")


def test_the_model_inside_an_annotation():
    assert _field_models(Leaf) == (Leaf, False)
    assert _field_models(list[Leaf]) == (Leaf, True)
    assert _field_models(dict[str, Leaf]) == (Leaf, True)
    assert _field_models(tuple[int, Leaf]) == (Leaf, True)
    assert _field_models(set[int]) == (None, True)
    assert _field_models(Optional[Leaf]) == (Leaf, False)  # noqa: UP045
    assert _field_models(Leaf | None) == (Leaf, False)
    assert _field_models(Optional[list[Leaf]]) == (Leaf, True)  # noqa: UP045
    assert _field_models(Annotated[Leaf, "x"]) == (Leaf, False)
    assert _field_models(int) == (None, False)
    assert _field_models(str | None) == (None, False)
    assert _field_models(Literal["a"]) == (None, False)


def test_submodel_and_model_at_a_location():
    assert submodel(Root, "leaf") is Leaf and submodel(Root, "leaves") is Leaf and submodel(Root, "tagged") is Leaf
    assert submodel(Root, "name") is None and submodel(Root, "nope") is None
    assert _model_at((), Root) is Root
    assert _model_at(("leaf",), Root) is Leaf
    assert _model_at(("leaves", 3), Root) is Leaf       # the index is stepped over
    assert _model_at(("by_name", "k"), Root) is Leaf    # so is the dict key, even a string one
    assert _model_at(("by_name", "leaf"), Root) is Leaf
    assert _model_at(("leaves",), Root) is Leaf
    assert _model_at(("name",), Root) is None
    assert _model_at(("nope",), Root) is None
    assert _model_at((0,), Root) is None
    assert _model_at(("leaf", "mode"), Root) is None
    assert _model_at(("leaf", "mode", "x"), Root) is None
    assert _model_at(("leaf", "nope"), Root) is None
    assert allowed_fields(Leaf) == "mode, n, api_key"


def test_literal_choices_at_a_location():
    assert _literal_choices(("leaf", "mode"), Root) == "fast, slow"
    assert _literal_choices(("leaves", 0, "mode"), Root) == "fast, slow"
    assert _literal_choices(("kinds",), Root) == "x, y"          # list of a literal
    assert _literal_choices(("kinds", 0), Root) is None          # an index names no field
    assert _literal_choices(("leaf", "n"), Root) is None         # not a literal
    assert _literal_choices(("leaf", "nope"), Root) is None
    assert _literal_choices(("nope", "mode"), Root) is None
    assert _literal_choices(("name",), Root) is None


def test_each_kind_of_problem_is_one_line_naming_the_path():
    lines = errors_of({"name": "a", "leaf": {"mode": "medium", "n": 3, "colour": 1}, "extra": 1})
    assert sorted(lines) == sorted([
        "cfg.yaml: leaf.mode: 'medium' is not allowed; allowed: fast, slow",
        "cfg.yaml: leaf.n: must be even (got 3)",
        "cfg.yaml: leaf.colour: unknown field; allowed here: mode, n, api_key",
        "cfg.yaml: extra: unknown field; allowed here: name, leaf, leaves, by_name, kinds, tagged, count",
    ])
    assert errors_of({}) == ["cfg.yaml: name: required field is missing"]
    assert errors_of({"name": "a", "leaves": [{}, {"mode": "x"}]}) == [
        "cfg.yaml: leaves.1.mode: 'x' is not allowed; allowed: fast, slow"]
    assert errors_of({"name": "a", "by_name": {"k": {"bad": 1}}}) == [
        "cfg.yaml: by_name.k.bad: unknown field; allowed here: mode, n, api_key"]


def test_a_literal_in_a_list_falls_back_to_the_expected_values_pydantic_gives():
    (line,) = errors_of({"name": "a", "kinds": ["x", "z"]})
    assert line.startswith("cfg.yaml: kinds.1: 'z' is not allowed; allowed: ")
    assert "'x'" in line and "'y'" in line


def test_an_unknown_field_where_no_model_is_known_lists_nothing():
    class Free(BaseModel):
        model_config = ConfigDict(extra="forbid")
        inner: dict[str, dict] = Field(default_factory=dict)

    with pytest.raises(ValidationError) as err:
        Free.model_validate({"inner": {}, "zzz": 1})
    assert pydantic_errors(err.value, "s", Free) == "s: zzz: unknown field; allowed here: inner"
    with pytest.raises(ValidationError) as err:
        Root.model_validate({"name": "a", "kinds": {"odd": 1}})
    (line,) = pydantic_errors(err.value, "s", Root).split("\n")
    assert line.startswith("s: kinds: ") and "(got" not in line  # a dict or list value is not repeated


def test_a_top_level_problem_has_no_path_and_shows_no_value():
    assert errors_of({"name": "a", "count": 2, "leaves": [{}]}) == ["cfg.yaml: count and leaves exclude each other"]


def test_the_value_shown_is_cut_and_secrets_are_never_shown():
    assert errors_of({"name": "a", "leaf": {"api_key": "hunter2"}}) == [
        "cfg.yaml: leaf.api_key: too short (got a str)"]
    (line,) = errors_of({"name": "a", "count": "x" * 100})
    assert line.endswith(f" (got {_short('x' * 100)})")
    (line,) = errors_of({"name": "a", "leaf": {"n": None}})
    assert line.endswith(" (got null)")  # None is shown as YAML writes it


def test_short_keeps_sixty_characters_and_cuts_longer_reprs():
    sixty = "a" * 58  # its repr has quotes: 60 characters
    assert _short(sixty) == repr(sixty)
    assert _short(12) == "12"
    long = "b" * 59  # repr: 61 characters
    text = repr(long)
    assert _short(long) == f"{text[:40]}...{text[-12:]} (61 characters)"
    assert _short(long) == "'" + "b" * 39 + "..." + "b" * 11 + "' (61 characters)"


@pytest.mark.parametrize(("name", "secret"), [("api_key", True), ("client_secret", True), ("Password", True),
                                              ("token_url", True), ("monkey", True), ("name", False),
                                              ("threshold", False)])
def test_secret_field_names(name, secret):
    assert _secret(("section", 0, name)) is secret
    assert _secret((name,)) is secret
    assert _secret(()) is False


def test_the_source_of_a_path_by_dotted_prefix():
    sources = {"leaf.n": "--set leaf.n=3", "name": "--set name"}
    assert _source_of("leaf.n", "file", sources) == "--set leaf.n=3"
    assert _source_of("leaf.n.deeper", "file", sources) == "--set leaf.n=3"
    assert _source_of("leaf", "file", sources) == "--set leaf.n=3"       # a parent of the overridden path
    assert _source_of("leaf.nn", "file", sources) == "file"               # not a dotted prefix
    assert _source_of("lea", "file", sources) == "file"
    assert _source_of("names", "file", sources) == "file"
    assert _source_of("name", "file", {}) == "file"
    lines = errors_of({"name": "a", "leaf": {"n": 3, "mode": "no"}}, {"leaf.n": "--set leaf.n=3"})
    assert sorted(lines) == ["--set leaf.n=3: leaf.n: must be even (got 3)",
                             "cfg.yaml: leaf.mode: 'no' is not allowed; allowed: fast, slow"]


class Wrong(ValueError):
    pass


def test_validate_model_returns_the_model_or_raises_the_callers_error():
    assert validate_model(Root, {"name": "a"}, "src", Wrong, "w") == Root(name="a")
    for raw in (None, [1], "name: a", 3):
        with pytest.raises(Wrong) as err:
            validate_model(Root, raw, "src", Wrong, "a root is a mapping with name")
        assert str(err.value) == "src: a root is a mapping with name"
    with pytest.raises(Wrong) as err:
        validate_model(Root, {"name": "a", "leaf": {"n": 1}}, "src", Wrong, "w")
    assert str(err.value) == "src: leaf.n: must be even (got 1)"
    assert err.value.__cause__ is None and err.value.__suppress_context__


class A(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int = 0


class B(BaseModel):
    model_config = ConfigDict(extra="forbid")
    b: int = 0


def test_an_unknown_field_inside_a_union_of_models_lists_no_fields():
    """pydantic puts the member's class name in the location; no model is known there."""
    class U(BaseModel):
        u: A | B

    with pytest.raises(ValidationError) as err:
        U.model_validate({"u": {"zzz": 1}})
    assert pydantic_errors(err.value, "s", U).split("\n") == ["s: u.A.zzz: unknown field", "s: u.B.zzz: unknown field"]


def test_an_enum_value_names_the_allowed_values():
    from enum import Enum

    class Colour(Enum):
        RED = "red"
        BLUE = "blue"

    class Paint(BaseModel):
        colour: Colour

    with pytest.raises(ValidationError) as err:
        Paint.model_validate({"colour": "green"})
    assert pydantic_errors(err.value, "s", Paint) == "s: colour: 'green' is not allowed; allowed: 'red' or 'blue'"
