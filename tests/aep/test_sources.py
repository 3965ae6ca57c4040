"""Source API call plans: pages, token expiry and refresh, burst limit, daily quota, V1 retirement."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.domain.aep.connections import HUBSPOT_SPEC, SFMC_V1_SPEC, SFMC_V2_SPEC
from sim.domain.aep.problems import AepError
from sim.domain.aep.sources import SourceApi, hubspot_limits, sfmc_v2_limits, source_api_for

NO_LIMITS = {"burst_requests": None, "daily_requests": None}


@pytest.mark.parametrize("n,pages", [(0, 1), (1, 1), (100, 1), (101, 2), (200, 2), (201, 3)])
def test_hubspot_pages_hold_at_most_100_records(n, pages):
    plan = SourceApi(hubspot_limits(**NO_LIMITS), 0.1).read(n, 0)
    assert (plan.pages, plan.rows) == (pages, n)
    assert [c.rows for c in plan.calls if c.kind == "page"][-1] == (n - 100 * (pages - 1))


@pytest.mark.parametrize("n,pages", [(2500, 1), (2501, 2), (5000, 2), (5001, 3)])
def test_marketing_cloud_retrieves_at_most_2500_rows_per_call(n, pages):
    assert SourceApi(sfmc_v2_limits(), 0.1).read(n, 0).pages == pages


def test_page_sizes_above_the_api_maximum_are_refused():
    assert hubspot_limits(page_size=100).page_size == 100
    with pytest.raises(AepError, match="page_size: 101 rows per call; HubSpot returns 1 to 100"):
        hubspot_limits(page_size=101)
    with pytest.raises(AepError, match="2501 rows per call"):
        sfmc_v2_limits(page_size=2501)


def test_the_marketing_cloud_token_expires_exactly_at_1080_s():
    """Latency 1 s per call: token on [0, 1), issued at 1, valid on [1, 1081). Pages start at
    1, 2, ...: the 1080th page starts at 1080 (valid), the 1081st at 1081 = expiry (401)."""
    full = SourceApi(sfmc_v2_limits(), 1.0).read(1080 * 2500, 0)
    assert (full.pages, full.token_requests, full.unauthorized, full.end) == (1080, 1, 0, 1081.0)
    over = SourceApi(sfmc_v2_limits(), 1.0).read(1080 * 2500 + 1, 0)
    assert (over.pages, over.token_requests, over.unauthorized) == (1081, 2, 1)
    assert [(c.kind, c.start, c.status) for c in over.calls[-3:]] == \
        [("page", 1081.0, 401), ("token", 1082.0, 200), ("page", 1083.0, 200)]
    assert over.calls[-1].rows == 1 and over.calls[-1].offset == 1080 * 2500


def test_the_token_is_kept_between_runs_and_refreshed_on_401_after_expiry():
    api = SourceApi(sfmc_v2_limits(), 0.5)
    first = api.read(10, 0)  # token issued at 0.5, valid until 1080.5
    assert (first.token_requests, first.unauthorized) == (1, 0)
    again = api.read(10, 1080.0)  # still valid
    assert (again.token_requests, again.unauthorized) == (0, 0)
    late = api.read(10, 1080.5)  # exactly at expiry
    assert (late.token_requests, late.unauthorized) == (1, 1)
    assert (api.token_requests, api.unauthorized) == (2, 1)


def test_proactive_refresh_avoids_the_401():
    api = SourceApi(sfmc_v2_limits(refresh="proactive", proactive_margin_s=60), 1.0)
    plan = api.read(1100 * 2500, 0)
    assert plan.unauthorized == 0 and plan.token_requests == 2
    assert [c.start for c in plan.calls if c.kind == "token"] == [0.0, 1021.0]  # 1021 >= 1 + 1080 - 60
    with pytest.raises(AepError, match="refresh: 'sometimes'"):
        sfmc_v2_limits(refresh="sometimes")


def test_hubspot_burst_limit_100_requests_per_10_s_answers_429_with_retry_after():
    exact = SourceApi(hubspot_limits(daily_requests=None), 0.0).read(100 * 100, 0)  # 100 calls at t=0
    assert (exact.pages, exact.throttled, exact.end) == (100, 0, 0.0)
    over = SourceApi(hubspot_limits(daily_requests=None), 0.0).read(101 * 100, 0)
    assert (over.pages, over.throttled, over.wait_s) == (101, 1, 1.0)
    refused = [c for c in over.calls if c.status == 429]
    assert refused[0].start == 0.0 and refused[0].retry_after_s == 1.0  # a token is free at 0.1 s: HTTP says 1
    assert over.calls[-1].start == 1.0 and over.calls[-1].status == 200
    pro = SourceApi(hubspot_limits("professional", daily_requests=None), 0.0).read(190 * 100, 0)
    assert pro.throttled == 0


def test_the_daily_quota_fails_the_read_until_midnight_and_is_shared_by_the_portal():
    api = SourceApi(hubspot_limits(daily_requests=3, burst_requests=None), 1.0)
    ok = api.read(300, 0)
    assert ok.failed is None and ok.pages == 3
    api2 = SourceApi(hubspot_limits(daily_requests=3, burst_requests=None), 1.0)
    short = api2.read(301, 0)
    assert short.failed == "daily request quota of 3 exhausted" and short.rows == 300
    last = short.calls[-1]
    assert last.status == 429 and last.start + 1.0 + last.retry_after_s == 86400.0
    assert api2.read(100, 86400.0).failed is None  # a new UTC day
    shared = SourceApi(hubspot_limits(daily_requests=3, burst_requests=None), 1.0)
    shared.consume_quota(3, 10.0)  # other apps of the portal used it up
    assert shared.read(1, 20.0).failed is not None


def test_401s_count_against_the_daily_quota():
    api = SourceApi(hubspot_limits(daily_requests=3, burst_requests=None, token_lifetime_s=1.5), 1.0)
    plan = api.read(300, 0)  # token 0-1; pages at 1 and 2; page at 3 gets 401 (3 >= 1 + 1.5)
    assert plan.unauthorized == 1 and plan.failed and plan.rows == 200


def test_latency_may_depend_on_the_call_kind():
    api = SourceApi(sfmc_v2_limits(), lambda kind: {"token": 0.3, "page": 2.0, "rejected": 0.1}[kind])
    plan = api.read(5000, 10.0)
    assert [(c.kind, c.start, c.end) for c in plan.calls] == [("token", 10.0, 10.3), ("page", 10.3, 12.3),
                                                              ("page", 12.3, 14.3)]
    assert plan.duration_s == pytest.approx(4.3)


def test_the_retired_marketing_cloud_v1_source_is_refused_not_replaced():
    with pytest.raises(AepError) as exc:
        source_api_for(SFMC_V1_SPEC)
    assert "retired in January 2026" in str(exc.value) and SFMC_V2_SPEC in str(exc.value)
    assert source_api_for(SFMC_V2_SPEC).limits.max_page_size == 2500
    assert source_api_for(HUBSPOT_SPEC, tier="enterprise").limits.daily_requests == 1_000_000
    with pytest.raises(AepError, match="unknown connection spec"):
        source_api_for("nope")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 30_000), st.floats(0.0, 2.0), st.sampled_from(["starter", "professional"]),
       st.floats(0, 5000))
def test_plans_are_sequential_and_deliver_every_row_once(n, latency, tier, t0):
    plan = SourceApi(hubspot_limits(tier, daily_requests=None, token_lifetime_s=600), latency).read(n, t0)
    assert plan.rows == n and plan.failed is None
    pages = [c for c in plan.calls if c.kind == "page" and c.status == 200]
    assert [c.offset for c in pages] == [100 * i for i in range(len(pages))] and sum(c.rows for c in pages) == n
    for a, b in zip(plan.calls, plan.calls[1:]):  # one call at a time; waits only after a 429
        assert b.start == pytest.approx(a.end + a.retry_after_s)
    assert plan.calls[0].start == t0 and plan.end == pytest.approx(plan.calls[-1].end)
