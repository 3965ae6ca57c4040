"""Reconciliation: each unified profile's attribute values, chosen from its records by rule.

Blank values never win. Rules, with their deterministic tie-breaks:

* ``last_updated``: the value of the most recent record (record time, then input order);
* ``most_frequent``: the value carried by most records; ties go to the value seen most recently;
* ``source_priority``: the value from the first source in ``sources`` that has one (sources not
  listed come after all listed ones); within a source, the most recent.

Namespace fields without an explicit rule keep **all** their values (contact points are all kept,
as the platforms do): the distinct normalised identifiers, most recent first, joined by ``|``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.domain.identity import normalize
from sim.domain.identity.resolver import normalize_column
from sim.domain.identity.rules import AttributeRule, RuleSet

PROFILE = "profile_id"


def _recency(frame: pd.DataFrame, time_column: str | None) -> np.ndarray:
    """Rank of each row by (record time, input order); larger is more recent."""
    pos = np.arange(len(frame))
    if time_column and time_column in frame:
        t = frame[time_column].to_numpy(dtype=np.float64)
        t = np.where(np.isnan(t), -np.inf, t)
        order = np.lexsort((pos, t))
    else:
        order = pos
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = pos
    return rank


def _pick(df: pd.DataFrame, rule: AttributeRule) -> pd.Series:
    """One value per profile from rows (profile, value, rank, source) with non-blank values."""
    if rule.rule == "last_updated":
        best = df.sort_values([PROFILE, "rank"], ascending=[True, False])
    elif rule.rule == "most_frequent":
        grouped = df.groupby([PROFILE, "value"], sort=False).agg(count=("rank", "size"), rank=("rank", "max"))
        best = grouped.reset_index().sort_values([PROFILE, "count", "rank"], ascending=[True, False, False])
    else:
        priority = {s: i for i, s in enumerate(rule.sources or [])}
        df = df.assign(priority=df["source"].map(priority).fillna(len(priority)))
        best = df.sort_values([PROFILE, "priority", "rank"], ascending=[True, True, False])
    return best.drop_duplicates(PROFILE).set_index(PROFILE)["value"]


def reconcile(records: pd.DataFrame, profile: np.ndarray, rules: RuleSet, attributes: list[str],
              time_column: str | None = None, source_column: str | None = None) -> pd.DataFrame:
    """The unified profiles: ``profile_id``, ``records``, ``sources`` and one column per attribute."""
    rec = rules.reconciliation
    rank = _recency(records, time_column)
    source = records[source_column].astype(str).to_numpy() if source_column else np.full(len(records), "input")
    base = pd.DataFrame({PROFILE: profile, "rank": rank, "source": source})
    out = base.groupby(PROFILE).agg(records=("rank", "size"))
    out["sources"] = base.groupby(PROFILE)["source"].agg(lambda s: ";".join(sorted(set(s))))
    for attr in attributes:
        raw = records[attr].fillna("").astype(str).str.strip()
        if attr in rules.namespaces and attr not in rec.attributes:
            fn = normalize.get(rules.namespaces[attr])
            normed = normalize_column(raw.to_numpy(), fn)
            df = base.assign(value=normed)
            df = df[df["value"] != ""].sort_values([PROFILE, "rank"], ascending=[True, False])
            df = df.drop_duplicates([PROFILE, "value"])
            out[attr] = df.groupby(PROFILE, sort=False)["value"].agg("|".join)
        else:
            df = base.assign(value=raw.to_numpy())
            out[attr] = _pick(df[df["value"] != ""], rec.rule_for(attr))
    out = out.reset_index()
    return out.fillna(dict.fromkeys(attributes, ""))
