"""Identity rule sets: namespaces, match rules, blocking, limits and reconciliation (RULES.yaml).

.. code-block:: yaml

    namespaces:                 # column -> normaliser; equal normalised values link records
      email: email
      phone: phone:AU
    match_rules:                # a pair of records links when all criteria of any rule hold
      - name: name_dob
        criteria:
          - {field: given_name, method: fuzzy, algorithm: jaro_winkler, threshold: 0.85}
          - {field: surname, method: fuzzy, algorithm: jaro_winkler, threshold: 0.85}
          - {field: date_of_birth, method: normalized}
    blocking: [[date_of_birth], [surname]]   # candidate pairs for fuzzy-only rules
    limits: {max_identities: 50, on_exceed: delete_oldest, max_per_namespace: {contact_id: 1}}
    reconciliation:
      updated_field: last_modified          # record time; default: order of the input
      default: last_updated
      attributes: {given_name: most_frequent, email: {rule: source_priority, sources: [crm, web]}}

Methods: ``exact`` (equal raw values), ``normalized`` (equal after the field's normaliser: the
namespace's one if the field is a namespace, else the criterion's ``normalizer``, default
``text``), ``fuzzy`` (``algorithm`` similarity in [0, 1] ≥ ``threshold``, on normalised values).
A blank value never matches unless ``match_on_blank`` (then two blanks match).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sim.core.errors import validate_model
from sim.core.yamlfile import QUOTED_NUMBER, is_quoted_number, read_mapping
from sim.domain.identity import normalize

Algorithm = Literal["jaro_winkler", "jaro", "levenshtein", "damerau_levenshtein", "indel", "token_sort", "token_set"]


class RulesError(ValueError):
    """A rule set that cannot be used; the message names the key and what is allowed."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


MAX_LIMIT = 1_000_000_000


def _no_bool(value: object) -> object:
    """Numbers must be written as numbers: ``true`` is not 1, nor ``'1'`` (pydantic would take both)."""
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true/false")
    if is_quoted_number(value):
        raise ValueError(f"a number is expected, not text ({QUOTED_NUMBER})")
    return value


Whole = Annotated[int, BeforeValidator(_no_bool)]
Fraction = Annotated[float, BeforeValidator(_no_bool)]


Normalizer = Annotated[str, BeforeValidator(lambda v: normalize.check_spec(str(v)))]


def _check_keys(keys):
    for key in keys or []:
        if not key:
            raise ValueError("a blocking key is a non-empty list of fields")
    return keys


class Criterion(_Model):
    """One field comparison of a match rule."""

    field: str
    method: Literal["exact", "normalized", "fuzzy"]
    algorithm: Algorithm | None = None
    threshold: Fraction | None = Field(None, gt=0.0, le=1.0, description="fuzzy: minimum similarity in (0, 1]")
    normalizer: Normalizer | None = Field(None, description="for a field that is not a namespace (default text)")
    match_on_blank: bool = False

    @model_validator(mode="after")
    def _fuzzy_needs_threshold(self) -> Criterion:
        if self.method == "fuzzy":
            if self.threshold is None:
                raise ValueError(f"field {self.field!r}: a fuzzy criterion needs a threshold in (0, 1], e.g. 0.9")
            if self.algorithm is None:
                self.algorithm = "jaro_winkler"
        elif self.algorithm is not None or self.threshold is not None:
            raise ValueError(f"field {self.field!r}: algorithm and threshold apply to method fuzzy only")
        return self


class MatchRule(_Model):
    name: str = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)
    blocking: list[list[str]] | None = Field(
        None, description="fuzzy rules: candidate keys (default: the rule's exact criteria, else the rule "
                          "set's blocking)")

    @field_validator("blocking")
    @classmethod
    def _non_empty_keys(cls, keys):
        return _check_keys(keys)

    @property
    def fuzzy(self) -> bool:
        return any(c.method == "fuzzy" for c in self.criteria)


class Limits(_Model):
    max_identities: Whole | None = Field(50, ge=1, le=MAX_LIMIT, description="identities per profile (doc: Adobe, 50)")
    on_exceed: Literal["delete_oldest", "refuse"] = Field(
        "delete_oldest", description="doc: Adobe deletes the oldest identity first")
    max_per_namespace: dict[str, Annotated[Whole, Field(ge=1, le=MAX_LIMIT)]] = Field(default_factory=dict)
    max_identities_per_record: Whole = Field(20, ge=1, le=MAX_LIMIT,
                                             description="doc: Adobe, 20 per record; more -> record refused")
    max_block_size: Whole = Field(1000, ge=2, le=MAX_LIMIT,
                                  description="blocks larger than this generate no pairs (reported)")


def _attr_rule(value):
    return {"rule": value} if isinstance(value, str) else value


class AttributeRule(_Model):
    rule: Literal["last_updated", "most_frequent", "source_priority"]
    sources: list[str] | None = None

    @model_validator(mode="after")
    def _sources(self) -> AttributeRule:
        if self.rule == "source_priority" and not self.sources:
            raise ValueError("source_priority needs sources: a list of source names, most trusted first")
        if self.rule != "source_priority" and self.sources:
            raise ValueError(f"sources apply to source_priority only, not {self.rule}")
        return self


AttrRule = Annotated[AttributeRule, BeforeValidator(_attr_rule)]


class Reconciliation(_Model):
    updated_field: str | None = Field(None, description="record time column (epoch s or ISO 8601); default input order")
    source_field: str | None = Field(None, description="record source column; default the input file's name")
    default: AttrRule = Field(default_factory=lambda: AttributeRule(rule="last_updated"))
    attributes: dict[str, AttrRule] = Field(default_factory=dict)

    def rule_for(self, attribute: str) -> AttributeRule:
        return self.attributes.get(attribute, self.default)


class RuleSet(_Model):
    namespaces: dict[str, Normalizer] = Field(default_factory=dict)
    match_rules: list[MatchRule] = Field(default_factory=list)
    blocking: list[list[str]] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    reconciliation: Reconciliation = Field(default_factory=Reconciliation)

    @field_validator("blocking")
    @classmethod
    def _non_empty_keys(cls, keys: list[list[str]]) -> list[list[str]]:
        return _check_keys(keys)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        names = [r.name for r in self.match_rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"match rule names must be unique; repeated: {', '.join(dup)}")
        if not self.namespaces and not self.match_rules:
            raise ValueError("a rule set needs namespaces or match_rules (or both)")
        for rule in self.match_rules:
            if all(c.method == "fuzzy" for c in rule.criteria) and not (self.blocking or rule.blocking):
                raise ValueError(f"match rule {rule.name!r} is fuzzy on every field: give blocking keys "
                                 "(blocking: [[field, ...], ...]) so that candidates are not all pairs")
        return self

    def fields(self) -> list[str]:
        """Every input field the rule set compares."""
        out = list(self.namespaces)
        out += [c.field for r in self.match_rules for c in r.criteria]
        out += [f for key in self.blocking for f in key]
        out += [f for r in self.match_rules for key in r.blocking or [] for f in key]
        return list(dict.fromkeys(out))

    def normalizer_for(self, fieldname: str, criterion: Criterion | None = None) -> str:
        """The normaliser spec a field's values go through for comparison."""
        if fieldname in self.namespaces:
            return self.namespaces[fieldname]
        if criterion is not None and criterion.normalizer:
            return criterion.normalizer
        return "text"


WHAT = "a rule set is a YAML mapping with namespaces, match_rules, blocking, limits, reconciliation"


def parse_rules(raw: object, source: str = "rules") -> RuleSet:
    """Validate a rules mapping; errors name the key and the allowed values."""
    return validate_model(RuleSet, raw, source, RulesError, WHAT)


def load_rules(path: str | Path) -> RuleSet:
    """A validated :class:`RuleSet` from a YAML file."""
    return parse_rules(read_mapping(path, RulesError, WHAT), str(path))
