"""Comparing designs on the same traffic: a scenario's ``variants`` run with the same seed.

Every named stream of random numbers is derived from the seed and the stream's name, so variants
that change only downstream actors (the trigger, the window type, a segment's refresh) see exactly
the same visitors, clicks and logins: the differences in the table are the designs', not noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs import budget
from sim.runs.runner import run
from sim.scenario.load import load, variants
from sim.systems import get as get_system

BASE = "base"


def variant_scenarios(scenario, overrides: Mapping[str, Any] | None = None) -> dict:
    """The base scenario and each variant (base + the variant's dotted overrides), validated."""
    base = load(scenario, overrides)
    return variants(base) or {BASE: base}


def compare(scenario: str | Path | dict, seed: int | None = None, overrides: Mapping[str, Any] | None = None,
            progress: bool = False, max_memory: str | int | float | None = None) -> tuple[pd.DataFrame, dict]:
    """Run every variant with one seed. Returns a table (one row per variant) and the results.
    Every variant is checked (and sized against ``max_memory``) before the first one runs."""
    variants = variant_scenarios(scenario, overrides)
    for name, sc in variants.items():
        budget.check(get_system(sc.system).estimate(sc), f"variants.{name}", max_memory)
    first = next(iter(variants.values()))
    seed = first.seed if seed is None else int(seed)
    rows, results = [], {}
    for name, sc in variants.items():
        result = run(sc, seed=seed, progress=progress, max_memory=max_memory)
        results[name] = result
        rows.append(variant_row(name, result))
    return pd.DataFrame(rows).set_index("variant"), results


def variant_row(name: str, result) -> dict:
    """One variant's line: the columns its system gives (for Data Cloud: firings, actions, losses,
    intents by status, time to action)."""
    return {"variant": name, **result.system.variant_row(result)}
