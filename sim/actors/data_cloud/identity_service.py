"""The identity service: resolves each event's identifiers to a unified profile, in real time.

It owns an :class:`~sim.domain.identity.IdentityGraph` with dense namespaces ``cookie``, ``email``
and ``contact_id``. At start-up every CRM contact is loaded as a record linking its contact id and
e-mail (rule ``crm_contact``). Each micro-batch is one job on a single FIFO server taking
``batch_overhead`` and then ``per_event`` per event, in order; an event leaves the ``identity``
stage when its own turn is done. Page views resolve their cookie (new cookies become new anonymous
profiles); a login links the cookie with the e-mail or contact id it carries (rule ``login``), which
may merge the cookie's anonymous profile into the person's. Merges are passed on with their
position so that the insight engine combines window state at the right point of the stream.

The scenario chooses the rules (``link_namespaces``: which identifiers a login links;
``crm_contacts``), the limits (``unique_namespaces``/``namespace_limits``, ``max_identities`` with
``on_exceed``). When a profile outgrows ``max_identities`` its oldest identities are deleted; a part
that is cut off becomes a new profile whose insight window state starts empty (counted in
``splits``).

Batch runs (``batch.runs_per_day``, epoch-aligned): a run snapshots the web sign-up forms seen so far
(a login with an e-mail the CRM does not know, ``visitors.other_email_share``) that no contact is
linked to yet, and ``batch.duration`` later links each form to the contacts the fuzzy rule of
:mod:`sim.domain.identity.reunify` matches (rule ``batch_fuzzy``). The merges this makes reach the
insights at the start of the next hand-over: from then on the person's visits count together and
their firings carry the contact. The next run waits for the previous one to finish.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd

from sim.actors.base import Actor, RunContext
from sim.core.batch import Batch
from sim.core.dists import lognormal
from sim.core.station import FifoStation
from sim.domain.events import LOGIN
from sim.domain.identity import GraphLimits, IdentityGraph
from sim.domain.identity.reunify import match_forms
from sim.domain.population import Population
from sim.scenario.data_cloud import Identity


def next_slot(now: float, period: float, done: float) -> float:
    """The first run slot ``now + k * period`` (k >= 1) at or after ``done``: the next run waits
    for this one to finish. O(1) whatever the duration (an infinite ``done`` gives infinity); the
    same value as adding ``period`` step by step when one step is enough."""
    following = now + period
    if following >= done:
        return following
    if not math.isfinite(done):
        return math.inf
    following += max(math.ceil((done - following) / period) - 1, 0) * period  # short of done by a step
    while following < done:  # a step, or two when rounding has it fall short
        following += period
    return following


class IdentityService(Actor):
    name = "identity"

    def __init__(self, ctx: RunContext, settings: Identity, population: Population,
                 forward: Callable[[Batch, list[tuple[int, int, int]]], None] | None,
                 batch_overhead: float | None = None) -> None:
        super().__init__(ctx)
        self.p = settings
        # per batch handed over (s): the micro-batch's, or none for the real-time graph's small hand-overs
        self.batch_overhead = self.p.batch_overhead if batch_overhead is None else batch_overhead
        self.forward = forward
        self.graph = IdentityGraph(
            dense={"cookie": population.n_cookies, "email": 2 * population.n_prospects,  # CRM's, then others
                   "contact_id": population.n_prospects},
            limits=GraphLimits(max_per_namespace=self.p.limits(), max_identities=self.p.max_identities,
                               on_exceed=self.p.on_exceed),
        )
        if self.p.crm_contacts:
            for i in range(population.n_prospects):
                self.graph.link([("contact_id", i), ("email", i)], rule="crm_contact", source="crm", t=0.0)
        self.link_email = "email" in self.p.link_namespaces
        self.link_contact = "contact_id" in self.p.link_namespaces
        self.station = FifoStation(1)
        self.events = 0
        self.logins = 0
        self.population = population
        self.forms: dict[int, float] = {}  # other e-mail identifier -> when its first sign-in was resolved
        self._contacts: pd.DataFrame | None = None  # first_name, last_name, company per contact, built once
        self._merges_due: list[tuple[int, int, int]] = []  # batch merges for the next hand-over
        self.rng_batch = ctx.rng("identity.batch")
        self.batch_runs = 0
        self.batch_links = 0
        self.batch_wrong_links = 0
        self.batch_merges = 0
        runs = self.p.batch.runs_per_day
        if runs:
            period = 86400.0 / runs
            first = period - ctx.start_epoch_s % period
            if first <= ctx.horizon:
                ctx.at(first, self._batch_snapshot, period)

    def receive(self, batch: Batch) -> None:
        """A processed micro-batch arrives (all events available at ``batch.t``)."""
        n = len(batch)
        start, _ = self.station.serve_one(float(batch.t[0]), self.batch_overhead + self.p.per_event * n)
        done = start + self.batch_overhead + self.p.per_event * np.arange(1, n + 1)
        self.ledger.stamp("click", "identity", batch.ids, done)
        profile = np.empty(n, dtype=np.int64)
        merges, self._merges_due = self._merges_due, []  # the batch runs' merges come first
        logins = np.flatnonzero(batch["event"] == LOGIN)
        cookies = batch["cookie"]
        lo = 0
        for i in [*logins.tolist(), n]:
            if i > lo:
                profile[lo:i] = self.graph.resolve_dense("cookie", cookies[lo:i])
            if i == n:
                break
            email, contact = int(batch["email"][i]), int(batch["contact"][i])
            cookie = ("cookie", int(cookies[i]))
            ids = [cookie]
            if email >= 0 and self.link_email:
                ids.append(("email", email))
                if email >= self.population.n_prospects:
                    self.forms.setdefault(email, float(done[i]))
            if contact >= 0 and self.link_contact:
                ids.append(("contact_id", contact))
            if len(ids) > 1:
                res = self.graph.link(ids, rule="login", source="web", t=float(done[i]))
                profile[i] = res.profile
                merges.extend((i, m.absorbed, m.survivor) for m in res.merges)
            else:  # a login whose identifier no rule links: the cookie's own profile
                profile[i] = self.graph.resolve_dense("cookie", cookies[i:i + 1])[0]
            lo = i + 1
        self.events += n
        self.logins += len(logins)
        assert self.forward is not None  # wired by the system before the run
        self.forward(batch.with_columns(t=done, profile=profile), merges)

    # -- batch runs ------------------------------------------------------------------------
    def _batch_snapshot(self, period: float) -> None:
        now = self.env.now
        pending = [e for e, t in self.forms.items() if t <= now and not self._has_contact(e)]
        d = self.p.batch.duration
        done = now + float(lognormal(self.rng_batch, d.median, d.sigma))
        self.ctx.at(done, self._batch_apply, pending)
        following = next_slot(now, period, done)
        if following <= self.ctx.horizon:
            self.ctx.at(following, self._batch_snapshot, period)

    def _has_contact(self, email: int) -> bool:
        profile = self.graph.profile_of("email", email)
        return profile is not None and bool(self.graph.identifiers(profile, "contact_id"))

    def _batch_apply(self, pending: list[int]) -> None:
        self.batch_runs += 1  # a run counts when it has finished
        if not pending:
            return
        now = self.env.now
        pop = self.population
        owners = [e - pop.n_prospects for e in pending]
        contacts = self._contact_fields()
        typed = [pop.form_typos.get(i, first) for i, first in zip(owners, contacts["first_name"].to_numpy()[owners])]
        forms = pd.DataFrame({"first_name": typed,
                              "last_name": contacts["last_name"].to_numpy()[owners],
                              "company": contacts["company"].to_numpy()[owners]})
        for k, contact in match_forms(forms, contacts, self.p.batch.precision):
            res = self.graph.link([("email", pending[k]), ("contact_id", contact)], rule="batch_fuzzy",
                                  source="batch", t=now)
            self.batch_links += 1
            self.batch_wrong_links += int(contact != owners[k])
            self.batch_merges += len(res.merges)
            self._merges_due.extend((0, m.absorbed, m.survivor) for m in res.merges)

    def _contact_fields(self) -> pd.DataFrame:
        """First name, last name and company (the account's name) of every CRM contact."""
        if self._contacts is None:
            org, pop = self.population.org, self.population
            rows = [org.contacts[cid] for cid in pop.contact_ids]
            names = [c.name.split(" ", 1) for c in rows]
            self._contacts = pd.DataFrame({"first_name": [n[0] for n in names],
                                           "last_name": [n[1] if len(n) > 1 else "" for n in names],
                                           "company": [org.accounts[c.account_id].name for c in rows]})
        return self._contacts

    def contact_of(self, profile: int) -> int | None:
        """The CRM contact index of a profile, if it has one (the most recently linked one when a
        scenario allows several)."""
        ids = self.graph.identifiers(profile, "contact_id")
        return int(cast(int, ids[-1][1])) if ids else None

    def counts(self) -> dict:
        g = self.graph
        return {"events": self.events, "logins": self.logins, "profiles_created": g.profiles_created,
                "unified_profiles": g.unified_profiles(), "merges": g.merges,
                "refused_links": g.refused, "refused_by_rule": dict(sorted(g.refused_by_rule.items())),
                "identities_deleted": g.evicted, "splits": g.splits,
                "links_by_rule": dict(sorted(g.links_by_rule.items())),
                "forms": len(self.forms), "batch_runs": self.batch_runs, "batch_links": self.batch_links,
                "batch_wrong_links": self.batch_wrong_links, "batch_merges": self.batch_merges,
                "busy_s": round(self.station.busy_s, 6)}
