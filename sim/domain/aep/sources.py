"""Pure models of the source APIs a dataflow run reads: the calls, and when each happens.

A run that must read ``N`` rows starting at time ``t`` turns into a sequence of HTTP calls —
token requests, pages, refused calls and the waits they impose. :meth:`SourceApi.read` computes
that sequence (:class:`ReadPlan` of :class:`Call`) from the per-call latency, so that an actor can
replay it (``yield env.timeout(call.end - env.now)`` per call, releasing ``call.rows`` rows per
page) without knowing any of the rules. The API object keeps its state between runs: the access
token, the rate limiter, the day's request count.

Rules (every number is a parameter; defaults from domain.md "Numbers, Source systems"):

* **Pages**: ``max(1, ceil(N / page_size))`` page calls (an empty read still asks once); the page
  size cannot exceed the API's maximum (HubSpot 100 records per list/batch call, Marketing Cloud
  2,500 rows per data-extension retrieve).
* **Access token** (OAuth client credentials; no refresh token, the client asks again): the
  token is valid on ``[issued, issued + lifetime)`` where ``issued`` is the end of the token call;
  a call that *starts* at or after expiry is answered **401**, then the client requests a token
  and retries the call (``refresh="on_401"``, the default, each 401 and token request counted).
  ``refresh="proactive"`` asks for a new token before a call that would start within
  ``proactive_margin_s`` of expiry (no 401). Marketing Cloud: ``expires_in`` 1,080 s (the
  documented lifetime is 20 minutes; the client trusts ``expires_in``). HubSpot OAuth: 30 min.
  Token calls do not count against the API's rate limits (assumed).
* **Burst limit**: :class:`~sim.core.token_bucket.TokenBucket` with ``burst`` requests refilled
  at ``burst / window`` per second (HubSpot 100 per 10 s, 190 for Professional/Enterprise). A
  refused call gets **429** with ``Retry-After`` = the wait until a token is free, rounded up to a
  whole second (HTTP gives integer seconds); the client waits it and retries. (A GCRA bucket and
  HubSpot's window differ in shape, not in rate.)
* **Daily quota** (HubSpot 250,000 / 650,000 / 1,000,000 requests per day by tier, shared by all
  apps of a portal: :meth:`SourceApi.consume_quota`): every call admitted by the burst limiter
  counts, 401s included; days are UTC (``t`` is epoch seconds). Once exhausted the call gets 429
  with ``Retry-After`` until midnight and the read **fails** (:attr:`ReadPlan.failed`): the
  dataflow run fails, keeps its high-water mark, and the next scheduled run tries again.
* The original Marketing Cloud source (V1) was retired in January 2026: :func:`source_api_for`
  refuses its connection spec with that message (no silent fallback to V2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.core.token_bucket import TokenBucket
from sim.domain.aep.connections import HUBSPOT_SPEC, SFMC_V2_SPEC, spec_problems
from sim.domain.aep.problems import AepError, Problem

DAY_S = 86400.0
REFRESH_POLICIES = ("on_401", "proactive")
Latency = float | Callable[[str], float]  # seconds, or a function of the call kind: token, page, rejected


@dataclass(frozen=True)
class SourceApiLimits:
    """The published limits of one source API (see the module docstring)."""

    name: str
    page_size: int
    max_page_size: int
    token_lifetime_s: float | None = None
    burst_requests: int | None = None
    burst_window_s: float = 10.0
    daily_requests: int | None = None
    refresh: str = "on_401"
    proactive_margin_s: float = 60.0

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.page_size <= self.max_page_size:
            problems.append(Problem("page_size", f"{self.page_size} rows per call; {self.name} returns 1 to "
                                                 f"{self.max_page_size}"))
        if self.token_lifetime_s is not None and self.token_lifetime_s <= 0:
            problems.append(Problem("token_lifetime_s", "must be > 0"))
        if self.burst_requests is not None and (self.burst_requests < 1 or self.burst_window_s <= 0):
            problems.append(Problem("burst_requests", "needs >= 1 request per window > 0 s"))
        if self.daily_requests is not None and self.daily_requests < 1:
            problems.append(Problem("daily_requests", "must be >= 1"))
        if self.refresh not in REFRESH_POLICIES:
            problems.append(Problem("refresh", f"{self.refresh!r}; allowed: {', '.join(REFRESH_POLICIES)}"))
        if problems:
            raise AepError(problems)


HUBSPOT_TIERS = {"starter": (100, 250_000), "professional": (190, 650_000), "enterprise": (190, 1_000_000)}


def hubspot_limits(tier: str = "starter", page_size: int = 100, **overrides) -> SourceApiLimits:
    """HubSpot contacts API: 100 records per call, burst and daily quota by tier, 30-min tokens."""
    if tier not in HUBSPOT_TIERS:
        raise AepError([Problem("tier", f"{tier!r}; allowed: {', '.join(HUBSPOT_TIERS)}")])
    burst, daily = HUBSPOT_TIERS[tier]
    params = {"name": "HubSpot", "page_size": page_size, "max_page_size": 100, "token_lifetime_s": 1800.0,
              "burst_requests": burst, "burst_window_s": 10.0, "daily_requests": daily}
    return SourceApiLimits(**{**params, **overrides})


def sfmc_v2_limits(page_size: int = 2500, **overrides) -> SourceApiLimits:
    """Salesforce Marketing Cloud (V2) data-extension rows: 2,500 per call, tokens of 1,080 s."""
    params = {"name": "Salesforce Marketing Cloud (V2)", "page_size": page_size, "max_page_size": 2500,
              "token_lifetime_s": 1080.0}
    return SourceApiLimits(**{**params, **overrides})


@dataclass(frozen=True)
class Call:
    """One HTTP call: ``kind`` token or page, on ``[start, end)``, its status, and for a 200 page
    the rows it returned (``offset`` = index of its first row in the read)."""

    kind: str
    start: float
    end: float
    status: int
    rows: int = 0
    offset: int = 0
    retry_after_s: float = 0.0


@dataclass
class ReadPlan:
    start: float
    end: float = 0.0
    calls: list[Call] = field(default_factory=list)
    rows: int = 0
    pages: int = 0
    token_requests: int = 0
    unauthorized: int = 0
    throttled: int = 0
    wait_s: float = 0.0
    failed: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class SourceApi:
    """A source API with its state (token, limiter, daily count); :meth:`read` plans a read."""

    def __init__(self, limits: SourceApiLimits, latency_s: Latency = 0.2) -> None:
        self.limits = limits
        self.latency = latency_s if callable(latency_s) else (lambda kind, _v=float(latency_s): _v)
        self.bucket = (TokenBucket(limits.burst_requests / limits.burst_window_s, limits.burst_requests)
                       if limits.burst_requests is not None else None)
        self.token_issued_at: float | None = None
        self._day = -1
        self.used_today = 0
        self.token_requests = 0
        self.unauthorized = 0
        self.throttled = 0

    # -- state --------------------------------------------------------------------------------
    def token_valid(self, t: float) -> bool:
        life = self.limits.token_lifetime_s
        issued = self.token_issued_at
        return life is None or (issued is not None and issued <= t < issued + life)

    def consume_quota(self, n: int, t: float) -> None:
        """Requests of other apps of the same portal, counted against the shared daily quota."""
        self._roll_day(t)
        self.used_today += n

    def _roll_day(self, t: float) -> None:
        day = math.floor(t / DAY_S)
        if day != self._day:
            self._day, self.used_today = day, 0

    def _lat(self, kind: str) -> float:
        d = float(self.latency(kind))
        if not d >= 0:
            raise ValueError(f"latency for {kind!r} must be >= 0 s, got {d!r}")
        return d

    def _token(self, now: float, plan: ReadPlan) -> float:
        d = self._lat("token")
        plan.calls.append(Call("token", now, now + d, 200))
        plan.token_requests += 1
        self.token_requests += 1
        self.token_issued_at = now + d
        return now + d

    # -- planning -----------------------------------------------------------------------------
    def read(self, n_rows: int, t: float) -> ReadPlan:
        """The calls that read ``n_rows`` rows starting at ``t`` (epoch s); see the module docstring."""
        if n_rows < 0:
            raise ValueError("n_rows must be >= 0")
        lim = self.limits
        plan = ReadPlan(start=t)
        pages_needed = max(1, math.ceil(n_rows / lim.page_size))
        now, offset, done = float(t), 0, 0
        while done < pages_needed:
            if lim.token_lifetime_s is not None:
                if self.token_issued_at is None:
                    now = self._token(now, plan)
                elif lim.refresh == "proactive":
                    if now >= self.token_issued_at + lim.token_lifetime_s - lim.proactive_margin_s:
                        now = self._token(now, plan)
            if self.bucket is not None:
                wait = self.bucket.admit(now)
                if wait > 0:
                    d, retry = self._lat("rejected"), float(math.ceil(wait - 1e-9))
                    plan.calls.append(Call("page", now, now + d, 429, retry_after_s=retry))
                    plan.throttled += 1
                    self.throttled += 1
                    plan.wait_s += retry
                    now += d + retry
                    continue
            if lim.daily_requests is not None:
                self._roll_day(now)
                if self.used_today >= lim.daily_requests:
                    d = self._lat("rejected")
                    retry = (self._day + 1) * DAY_S - (now + d)
                    plan.calls.append(Call("page", now, now + d, 429, retry_after_s=retry))
                    plan.throttled += 1
                    self.throttled += 1
                    plan.failed = f"daily request quota of {lim.daily_requests} exhausted"
                    now += d
                    break
                self.used_today += 1
            if not self.token_valid(now):
                d = self._lat("rejected")
                plan.calls.append(Call("page", now, now + d, 401))
                plan.unauthorized += 1
                self.unauthorized += 1
                now = self._token(now + d, plan)
                continue
            d = self._lat("page")
            rows = min(lim.page_size, n_rows - offset)
            plan.calls.append(Call("page", now, now + d, 200, rows, offset))
            offset += rows
            done += 1
            now += d
        plan.end, plan.rows, plan.pages = now, offset, done
        return plan


def source_api_for(connection_spec_id: str, latency_s: Latency = 0.2, **limit_overrides) -> SourceApi:
    """The API model behind a source connection spec; a retired source (Marketing Cloud V1) or an
    unknown one raises :class:`AepError` with the reason."""
    problems = spec_problems(connection_spec_id)
    if problems:
        raise AepError(problems)
    if connection_spec_id == HUBSPOT_SPEC:
        return SourceApi(hubspot_limits(**limit_overrides), latency_s)
    if connection_spec_id == SFMC_V2_SPEC:
        return SourceApi(sfmc_v2_limits(**limit_overrides), latency_s)
    raise AepError([Problem("connectionSpec.id", f"{connection_spec_id!r} is not a source connector")])
