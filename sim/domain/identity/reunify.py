"""Batch re-unification: what an identity ruleset's batch run adds to real-time resolution.

Real-time resolution links only on exact and exact-normalised identifiers; the batch run (at most 4
per 24 h in Data Cloud) applies every match rule, fuzzy ones included. The records only a fuzzy
rule can link here are **web sign-up forms**: a visitor who signs in with an e-mail the CRM does not
know (a personal address) but types a first name, a last name and a company. The batch rule is
Data Cloud's fuzzy shape: fuzzy first name (Jaro-Winkler at the ruleset's precision) plus exact
normalised last name and company (the contact's account name), run on the identity engine's
:func:`~sim.domain.identity.resolver.resolve`.

Only forms are linked to contacts: two CRM contacts matching each other are left as they are (the
twin's synthetic names repeat far more often than real ones, so contact-to-contact merges would be
an artefact of the population). A form matching several contacts (homonyms in one company) is
linked to all of them, as the platform would; the caller counts the wrong ones.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sim.domain.identity.normalize import name as normalize_name
from sim.domain.identity.resolver import ID, TIME, resolve
from sim.domain.identity.rules import Criterion, MatchRule, RuleSet

Precision = Literal["high", "medium", "low"]
# Jaro-Winkler similarity a fuzzy first name needs at each precision of the ruleset (assumed: the
# levels are documented, their thresholds are not)
FIRST_NAME_THRESHOLD: dict[str, float] = {"high": 0.95, "medium": 0.9, "low": 0.85}
FORM_FIELDS = ("first_name", "last_name", "company")


def batch_rules(precision: Precision = "medium") -> RuleSet:
    """The batch run's fuzzy match rule: fuzzy first name, exact normalised last name and company."""
    return RuleSet(match_rules=[MatchRule(name=f"fuzzy_first_name_{precision}", criteria=[
        Criterion(field="last_name", method="normalized", normalizer="name"),
        Criterion(field="company", method="normalized", normalizer="name"),
        Criterion(field="first_name", method="fuzzy", algorithm="jaro_winkler",
                  threshold=FIRST_NAME_THRESHOLD[precision], normalizer="name"),
    ])])


def match_forms(forms: pd.DataFrame, contacts: pd.DataFrame, precision: Precision = "medium"
                ) -> list[tuple[int, int]]:
    """Pairs (form row, contact row) the batch rule puts in one profile, sorted.

    ``forms`` and ``contacts`` have the columns of :data:`FORM_FIELDS` (any index; rows are
    positions). Only contacts sharing a form's normalised last name and company are read, so a run
    costs what its forms cost, not the size of the CRM."""
    if not len(forms) or not len(contacts):
        return []
    key = ["last_name", "company"]
    fkeys = {tuple(normalize_name(str(v)) for v in row) for row in forms[key].itertuples(index=False)}
    ckey = [tuple(normalize_name(str(v)) for v in row) for row in contacts[key].itertuples(index=False)]
    near = np.array([k in fkeys for k in ckey], dtype=bool)
    if not near.any():
        return []
    cpos = np.flatnonzero(near)
    frame = pd.concat([
        pd.DataFrame({ID: [f"crm:{i}" for i in cpos], TIME: 0.0,
                      **{f: contacts[f].to_numpy()[cpos] for f in FORM_FIELDS}}),
        pd.DataFrame({ID: [f"web:{k}" for k in range(len(forms))], TIME: 1.0,
                      **{f: forms[f].to_numpy() for f in FORM_FIELDS}}),
    ], ignore_index=True)
    _, profile = resolve(frame, batch_rules(precision))
    nc = len(cpos)
    crm_of: dict[int, list[int]] = {}
    for i, p in zip(cpos.tolist(), profile[:nc].tolist()):
        crm_of.setdefault(p, []).append(i)
    pairs = [(k, i) for k, p in enumerate(profile[nc:].tolist()) for i in crm_of.get(p, ())]
    return sorted(pairs)
