"""Column values drawn from a scenario's value specs, and the org's generated customers.

A spec (see :mod:`sim.scenario.dynamics`) is compiled once against its column into a
:class:`Sampler`; ``sampler(rng)`` gives one value as the column stores it. Names, e-mail
addresses and mobile numbers are drawn from small fixed lists, so that templates such as
``{{contact.firstname}}`` render.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sim.domain.dynamics import Ref, Table
from sim.scenario.dynamics import Choice, Customers, Generate, Uniform, column_label

FIRST_NAMES = ("Ana", "Ben", "Chloé", "David", "Elif", "Farid", "Grace", "Hugo", "Inès", "Jonas", "Kofi", "Lena",
               "Marta", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Ximena",
               "Yusuf", "Zoé", "Léa", "Lucas", "Mia", "Nils")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Schmidt", "Müller", "Rossi", "García", "Silva", "Nowak", "Jansen",
              "Larsen", "Novak", "Kowalski", "Smith", "Jones", "Brown", "Tanaka", "Kim", "Nguyen", "Haddad")
COMPANIES = ("Contoso", "Fabrikam", "Northwind", "Tailspin", "Wingtip", "Litware", "Proseware", "Adatum",
             "Woodgrove", "Alpine Ski House")
_CODE = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))

Sampler = Callable[[np.random.Generator], Any]


def generated(rng: np.random.Generator, kind: str) -> str:
    if kind == "firstname":
        return FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
    if kind == "lastname":
        return LAST_NAMES[rng.integers(len(LAST_NAMES))]
    if kind == "company":
        return COMPANIES[rng.integers(len(COMPANIES))]
    if kind == "email":
        return f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))].lower()}.{rng.integers(1_000_000):06d}@example.com"
    if kind == "mobile":
        return f"+3361{rng.integers(10_000_000):07d}"
    return "".join(_CODE[rng.integers(len(_CODE), size=8)])  # code


def compile_value(table: Table, column: str, spec: Any) -> Sampler:
    """A sampler of ``spec`` for ``table.column`` (the scenario model has checked the spec)."""
    col = table.columns[column]
    if isinstance(spec, Choice):
        labels = [table.coerce(column, column_label(col, label)) for label in spec.choice]
        weights = np.array(list(spec.choice.values()), dtype=float)
        cum = np.cumsum(weights / weights.sum())
        blank = spec.blank

        def choice(rng: np.random.Generator) -> Any:
            if blank and rng.random() < blank:
                return None
            return labels[min(int(np.searchsorted(cum, rng.random(), side="right")), len(labels) - 1)]
        return choice
    if isinstance(spec, Uniform):
        lo, hi = spec.uniform
        whole = col.type == "int"
        blank = spec.blank

        def uniform(rng: np.random.Generator) -> Any:
            if blank and rng.random() < blank:
                return None
            return int(rng.integers(round(lo), round(hi) + 1)) if whole else float(rng.uniform(lo, hi))
        return uniform
    if isinstance(spec, Generate):
        kind, blank = spec.generate, spec.blank

        def generate(rng: np.random.Generator) -> Any:
            if blank and rng.random() < blank:
                return None
            return generated(rng, kind)
        return generate
    value = table.coerce(column, spec)
    return lambda rng: value


def compile_values(table: Table, specs: Mapping[str, Any]) -> Callable[[np.random.Generator], dict[str, Any]]:
    """A sampler of a whole ``column -> spec`` mapping (columns drawn in their given order)."""
    samplers = [(column, compile_value(table, column, spec)) for column, spec in specs.items()]
    return lambda rng: {column: sample(rng) for column, sample in samplers}


def compile_batch(table: Table, specs: Mapping[str, Any]) -> Callable[[np.random.Generator, int], list[dict]]:
    """A sampler of ``n`` records' values at once (choices and ranges drawn as arrays)."""
    columns: list[tuple[str, str, Any, float]] = []  # (column, kind, what to draw from, blank share)
    for column, spec in specs.items():
        col = table.columns[column]
        if isinstance(spec, Choice):
            labels = np.empty(len(spec.choice), dtype=object)
            labels[:] = [table.coerce(column, column_label(col, label)) for label in spec.choice]
            weights = np.array(list(spec.choice.values()), dtype=float)
            columns.append((column, "choice", (labels, np.cumsum(weights / weights.sum())), spec.blank))
        elif isinstance(spec, Uniform):
            columns.append((column, "uniform", (spec.uniform, col.type == "int"), spec.blank))
        elif isinstance(spec, Generate):
            columns.append((column, "generate", spec.generate, spec.blank))
        else:
            columns.append((column, "value", table.coerce(column, spec), 0.0))

    def sample(rng: np.random.Generator, n: int) -> list[dict]:
        names, arrays = [], []
        for column, kind, arg, blank in columns:
            if kind == "choice":
                labels, cum = arg
                values = labels[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(labels) - 1)]
            elif kind == "uniform":
                (lo, hi), whole = arg
                drawn = rng.integers(round(lo), round(hi) + 1, size=n) if whole else rng.uniform(lo, hi, size=n)
                values = np.empty(n, dtype=object)
                values[:] = drawn.tolist()
            elif kind == "generate":
                values = np.empty(n, dtype=object)
                values[:] = [generated(rng, arg) for _ in range(n)]
            else:
                values = np.empty(n, dtype=object)
                values[:] = [arg] * n
            if blank:
                values[rng.random(n) < blank] = None
            names.append(column)
            arrays.append(values.tolist())
        return [dict(zip(names, row)) for row in zip(*arrays)] if names else [{} for _ in range(n)]
    return sample


def make_customers(settings: Customers, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """The accounts and contacts of the org (rows to create, ids included), drawn from ``rng``."""
    accounts = [{"accountid": f"account-{i:05d}", "name": f"{COMPANIES[i % len(COMPANIES)]} {i}"}
                for i in range(settings.accounts)]
    n = settings.contacts
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    account = rng.integers(settings.accounts, size=n)
    has_email = rng.random(n) < settings.email_share
    has_mobile = rng.random(n) < settings.mobile_share
    no_name = rng.random(n) < settings.firstname_blank
    phone = rng.integers(10_000_000, size=n)
    contacts = []
    for i in range(n):
        fn, ln = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        contacts.append({
            "contactid": f"contact-{i:06d}", "firstname": None if no_name[i] else fn, "lastname": ln,
            "emailaddress1": f"{fn.lower()}.{ln.lower()}.{i}@example.com" if has_email[i] else None,
            "mobilephone": f"+3361{phone[i]:07d}" if has_mobile[i] else None,
            "parentcustomerid": Ref("account", accounts[account[i]]["accountid"]), "statecode": "Active"})
    return accounts, contacts
