"""Website visitors: the exogenous click stream.

Sessions arrive as a Poisson process of rate ``visitors.rate_per_s`` (sessions/s), optionally
shaped by 24 hourly multipliers (a non-homogeneous Poisson process, constant within each hour of
the wall clock). A session belongs to a known prospect (share ``prospect_share``) or an anonymous
visitor, runs on one of that person's devices (cookies), and reads a geometric number of pages
(mean ``pages_per_session``) separated by exponential think times. Prospects with buying intent
read the Pricing page with probability ``hot_pricing_prob``, everyone else ``pricing_prob``. A
prospect on a device that is not yet linked logs in during the session with probability
``login_prob``; the login event carries the e-mail (or the CRM contact id), which is what links the
cookie to the person. A share ``malformed_share`` of events is sent with one broken field.

Traffic does not react to the system, so it is drawn ahead, in chunks of ``chunk`` seconds
of session starts, and handed over by :meth:`WebVisitors.take_until`. Any class with the same
``take_until`` and ``counts`` methods can stand in for it (``sim.run(..., visitors=...)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from sim.actors.base import Actor, RunContext
from sim.core.dists import lognormal
from sim.domain.events import CLICK_FIELDS, LOGIN, PAGE_CODE, PAGE_VIEW, PAGES, empty_clicks
from sim.domain.population import Population
from sim.scenario.data_cloud import Visitors


class ClickSource(Protocol):
    """What the ingestion API pulls clicks from: :class:`WebVisitors`, :class:`ScriptedClicks` or
    a model of one's own (``counts()`` and ``held(horizon)`` are optional)."""

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        """The clicks sent before ``t_end`` not handed over yet, as columns sorted by ``t``."""
        ...


# what ``sim.run(..., visitors=...)`` takes: a click source, or a factory ``(ctx, population) -> source``
VisitorModel = ClickSource | Callable[[RunContext, Population], ClickSource]

_OTHER_PAGES = np.array([PAGE_CODE[p] for p in ("home", "product", "blog", "docs", "contact", "careers")])
_OTHER_WEIGHTS = np.cumsum([0.32, 0.25, 0.15, 0.16, 0.07, 0.05])
_COLUMNS = ("t", *CLICK_FIELDS)


class WebVisitors(Actor):
    """Draws sessions and their clicks; see the module docstring."""

    name = "visitors"

    def __init__(self, ctx: RunContext, settings: Visitors, population: Population,
                 oversize_bytes: int = 2_000_000) -> None:
        super().__init__(ctx)
        self.p = settings
        self.pop = population
        self.oversize_bytes = oversize_bytes  # the size of an event a buggy tag sends too large
        self.rng = ctx.rng("visitors")
        self.rng_faults = ctx.rng("visitors.malformed")
        self.rng_resend = ctx.rng("visitors.resend")
        self.next_event_id = 0
        self.resent = 0
        self.start_epoch = ctx.start_epoch_s
        self.linked = np.zeros(max(population.n_cookies, 1), dtype=bool)
        self.pending = empty_clicks()
        self.generated_until = 0.0
        self.sessions = 0
        self.clicks = 0
        self.logins = 0
        self.malformed = 0
        self.pricing_views = 0

    # -- arrivals ------------------------------------------------------------------------------
    def _rate(self, t: float) -> float:
        profile = self.p.daily_profile
        if profile is None:
            return self.p.rate_per_s
        hour = int(((self.start_epoch + t) // 3600) % 24)
        return self.p.rate_per_s * profile[hour]

    def _session_starts(self, a: float, b: float) -> np.ndarray:
        """Poisson session start times in ``[a, b)``, piecewise constant per wall-clock hour."""
        out = []
        t = a
        while t < b:
            wall = self.start_epoch + t
            hour_end = (math.floor(wall / 3600) + 1) * 3600 - self.start_epoch
            seg_end = min(b, hour_end)
            rate = self._rate(t)
            n = self.rng.poisson(rate * (seg_end - t)) if rate > 0 else 0
            if n:
                out.append(np.sort(self.rng.uniform(t, seg_end, size=n)))
            t = seg_end
        return np.concatenate(out) if out else np.empty(0)

    def _draw_chunk(self, a: float, b: float) -> dict[str, np.ndarray]:
        p, pop, rng = self.p, self.pop, self.rng
        starts = self._session_starts(a, b)
        s = len(starts)
        if s == 0:
            return empty_clicks()
        self.sessions += s
        if pop.n_prospects and pop.n_anonymous:
            is_prospect = rng.random(s) < p.prospect_share
        else:
            is_prospect = np.full(s, pop.n_prospects > 0)
        person = np.where(is_prospect,
                          rng.integers(0, max(pop.n_prospects, 1), size=s),
                          pop.n_prospects + rng.integers(0, max(pop.n_anonymous, 1), size=s))
        cookie = pop.device_start[person] + (rng.random(s) * pop.device_count[person]).astype(np.int64)
        pages_n = rng.geometric(1.0 / p.pages_per_session, size=s)
        n = int(pages_n.sum())
        session_of = np.repeat(np.arange(s), pages_n)
        first = np.zeros(s, dtype=np.int64)
        first[1:] = np.cumsum(pages_n)[:-1]
        gaps = rng.exponential(p.think_time, size=n)
        gaps[first] = 0.0
        csum = np.cumsum(gaps)
        t = starts[session_of] + csum - csum[first][session_of]
        hot = pop.hot[person][session_of]
        pricing = rng.random(n) < np.where(hot, p.hot_pricing_prob, p.pricing_prob)
        other = _OTHER_PAGES[np.searchsorted(_OTHER_WEIGHTS, rng.random(n) * _OTHER_WEIGHTS[-1], side="right")]
        page = np.where(pricing, PAGE_CODE["pricing"], other).astype(np.int16)
        event = np.full(n, PAGE_VIEW, dtype=np.int8)
        email = np.full(n, -1, dtype=np.int64)
        contact = np.full(n, -1, dtype=np.int64)
        # logins: prospects on devices not linked yet
        u_login = rng.random(s)
        pos = (rng.random(s) * pages_n).astype(np.int64)
        by_contact = rng.random(s) < p.login_with_contact_id
        logs_in = is_prospect & ~self.linked[cookie] & (u_login < p.login_prob)
        if logs_in.any():
            idx = first[logs_in] + pos[logs_in]
            who = person[logs_in]
            event[idx] = LOGIN
            page[idx] = PAGE_CODE["login"]
            email[idx] = np.where(by_contact[logs_in], -1, who)
            contact[idx] = np.where(by_contact[logs_in], who, -1)
            if len(pop.other_email):  # they sign in with their other e-mail, never the contact id
                other = pop.other_email[who]
                email[idx] = np.where(other, pop.n_prospects + who, email[idx])
                contact[idx] = np.where(other, -1, contact[idx])
            self.linked[cookie[logs_in]] = True
            self.logins += int(logs_in.sum())
        cols = {
            "t": t,
            "event_time": t.copy(),
            "person": person[session_of],
            "cookie": cookie[session_of],
            "page": page,
            "event": event,
            "email": email,
            "contact": contact,
            "size_bytes": np.full(n, p.payload_bytes, dtype=np.int64),
            "event_id": np.arange(self.next_event_id, self.next_event_id + n, dtype=np.int64),
        }
        self.next_event_id += n
        self._corrupt(cols)
        self.pricing_views += int(((cols["page"] == PAGE_CODE["pricing"]) & (event == PAGE_VIEW)).sum())
        return self._resend(cols)

    def _resend(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """At-least-once delivery: a share of events is sent a second time (same event id and
        content) after ``resend_delay``; the lakehouse drops the copy (``duplicate``)."""
        n = len(cols["t"])
        if not n or self.p.duplicate_share <= 0:
            return cols
        again = np.flatnonzero(self.rng_resend.random(n) < self.p.duplicate_share)
        if not len(again):
            return cols
        self.resent += len(again)
        delay = lognormal(self.rng_resend, self.p.resend_delay.median, self.p.resend_delay.sigma, size=len(again))
        copies = {c: v[again] for c, v in cols.items()}
        copies["t"] = copies["t"] + delay
        return {c: np.concatenate([cols[c], copies[c]]) for c in cols}

    def _corrupt(self, cols: dict[str, np.ndarray]) -> None:
        """Break one field of a share of events, as buggy tags do."""
        n = len(cols["t"])
        bad = np.flatnonzero(self.rng_faults.random(n) < self.p.malformed_share)
        if not len(bad):
            return
        self.malformed += len(bad)
        kind = self.rng_faults.integers(0, 5, size=len(bad))
        cols["cookie"][bad[kind == 0]] = -1
        cols["page"][bad[kind == 1]] = -1
        cols["event"][bad[kind == 1]] = PAGE_VIEW
        cols["event_time"][bad[kind == 2]] = np.nan
        cols["event_time"][bad[kind == 3]] += 86400.0
        cols["size_bytes"][bad[kind == 4]] = self.oversize_bytes

    # -- hand-over -----------------------------------------------------------------------------
    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        """All clicks sent before ``t_end`` not handed over yet, sorted by send time."""
        new = []
        while self.generated_until < t_end:
            a = self.generated_until
            b = a + self.p.chunk
            new.append(self._draw_chunk(a, b))
            self.generated_until = b
        if new:
            merged = {c: np.concatenate([self.pending[c]] + [x[c] for x in new]) for c in _COLUMNS}
            order = np.argsort(merged["t"], kind="stable")
            self.pending = {c: v[order] for c, v in merged.items()}
        k = int(np.searchsorted(self.pending["t"], t_end, side="left"))
        out = {c: v[:k] for c, v in self.pending.items()}
        self.pending = {c: v[k:] for c, v in self.pending.items()}
        self.clicks += k
        return out

    def counts(self) -> dict:
        return {"sessions_drawn": self.sessions, "clicks_sent": self.clicks, "logins_drawn": self.logins,
                "malformed_drawn": self.malformed, "resent_drawn": self.resent}


class ScriptedClicks:
    """A hand-written click log, for tests and what-if studies.

    ``rows`` are dicts with ``t`` (seconds), ``cookie``, ``page`` (a name from
    :data:`sim.domain.events.PAGES`), and for a login ``email`` or ``contact`` (prospect index).
    """

    name = "visitors"

    def __init__(self, rows: list[dict]) -> None:
        rows = sorted(rows, key=lambda r: r["t"])
        values = {
            "t": [r["t"] for r in rows],
            "event_time": [r.get("event_time", r["t"]) for r in rows],
            "person": [r.get("person", -1) for r in rows],
            "cookie": [r["cookie"] for r in rows],
            "page": [PAGES.index(r.get("page", "home")) for r in rows],
            "event": [LOGIN if r.get("page") == "login" else PAGE_VIEW for r in rows],
            "email": [r.get("email", -1) for r in rows],
            "contact": [r.get("contact", -1) for r in rows],
            "size_bytes": [r.get("size_bytes", 1000) for r in rows],
            "event_id": [r.get("event_id", k) for k, r in enumerate(rows)],
        }
        self.cols = {c: np.array(values[c], dtype=empty.dtype) for c, empty in empty_clicks().items()}
        self.pos = 0

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        k = int(np.searchsorted(self.cols["t"], t_end, side="left"))
        out = {c: v[self.pos : k] for c, v in self.cols.items()}
        self.pos = max(self.pos, k)
        return out

    def counts(self) -> dict:
        return {"clicks_sent": self.pos}

    def held(self, horizon: float) -> dict:
        return {}
