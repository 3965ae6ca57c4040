"""Synthetic person records with known duplicates, for identity-resolution benchmarks and tests.

:func:`synthetic_people` recombines field values drawn from pools (for instance the FEBRL data's
columns) into ``originals`` new people with random 7-digit social-security ids and dates of birth,
then adds ``duplicates`` copies of randomly chosen originals, each with 1 to 3 typos (a character
substituted, deleted, inserted or two transposed) in randomly chosen fields, the way FEBRL makes its
duplicates. The ``entity`` column is the ground truth. Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import pandas as pd

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
DIGITS = np.array(list("0123456789"))


def typo(rng: np.random.Generator, text: str) -> str:
    """``text`` with one random edit (digits stay digits)."""
    if not text:
        return text
    alphabet = DIGITS if text.isdigit() else LETTERS
    i = int(rng.integers(len(text)))
    kind = int(rng.integers(4))
    if kind == 0:
        return text[:i] + str(rng.choice(alphabet)) + text[i + 1:]
    if kind == 1 and len(text) > 1:
        return text[:i] + text[i + 1:]
    if kind == 2:
        return text[:i] + str(rng.choice(alphabet)) + text[i:]
    if len(text) > 1:
        j = min(i, len(text) - 2)
        return text[:j] + text[j + 1] + text[j] + text[j + 2:]
    return text + str(rng.choice(alphabet))


def synthetic_people(pools: Mapping[str, Sequence[str]], originals: int, duplicates: int, seed: int,
                     typo_fields: Sequence[str] | None = None) -> pd.DataFrame:
    """``originals + duplicates`` records: rec_id, entity, the pooled fields, soc_sec_id, date_of_birth."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for name, pool in pools.items():
        values = np.array([str(v) for v in pool if isinstance(v, str) and v.strip()], dtype=object)
        data[name] = values[rng.integers(len(values), size=originals)]
    data["soc_sec_id"] = np.array([f"{v:07d}" for v in rng.choice(10_000_000, size=originals, replace=False)],
                                  dtype=object)
    days = rng.integers(0, 36_500, size=originals)
    dob = pd.Timestamp("1920-01-01") + pd.to_timedelta(days, unit="D")
    data["date_of_birth"] = np.array(dob.strftime("%Y%m%d"), dtype=object)
    base = pd.DataFrame(data)
    base.insert(0, "entity", np.arange(originals))
    base.insert(0, "rec_id", [f"rec-{i}-org" for i in range(originals)])
    src = rng.integers(originals, size=duplicates)
    dups = base.iloc[src].reset_index(drop=True).copy()
    fields = list(typo_fields or [c for c in base.columns if c not in ("rec_id", "entity")])
    counter: dict[int, int] = {}
    ids = []
    for k, e in enumerate(src.tolist()):
        n = counter.get(e, 0)
        counter[e] = n + 1
        ids.append(f"rec-{e}-dup-{n}")
        for f in rng.choice(fields, size=int(rng.integers(1, 4)), replace=False):
            dups.at[k, f] = typo(rng, cast(str, dups.at[k, f]))  # the fields are strings
    dups["rec_id"] = ids
    return pd.concat([base, dups], ignore_index=True)


def true_pairs(entity: np.ndarray) -> int:
    """Number of record pairs that belong to one entity."""
    _, counts = np.unique(entity, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(entity: np.ndarray, predicted: np.ndarray) -> dict:
    """Pairwise precision, recall and F1 of a predicted partition against the true one, counted
    exactly from the contingency table (no pair enumeration)."""
    joint = pd.Series(1, index=pd.MultiIndex.from_arrays([entity, predicted])).groupby(level=[0, 1]).size()
    tp = int((joint * (joint - 1) // 2).sum())
    pred = true_pairs(predicted)
    true = true_pairs(entity)
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true, "predicted_pairs": pred,
            "true_positives": tp}
