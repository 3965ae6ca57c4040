"""Dataflow runs through the twin: delta loads (no row read twice, none missed), the API quota,
token refreshes at the lifetime boundary, and the overlap rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.actors.aep.dataflow import DROPPED, PENDING, READ
from sim.core.ledger import IN_FLIGHT
from sim.runs.runner import run
from tests.aep_system.conftest import SEED_CHAIN, SEED_FLOW, const, hubspot, sfmc

ALLOWED_DROPS = {"superseded", "mapping_failed", "identity_refused"}


def _delta_books(res):
    """Check that every change version is read at most once and none is missed, from the actor's
    own counts and the ledger (``res`` from a run with ``check=False``); return the flow actor."""
    flow = res.pipeline.flows[0]
    led, h = res.ledger, res.horizon_s
    c = res.counts[flow.name]
    tb = flow.table
    ids = np.arange(led.table("change").n)
    read_t = led.stage_times("change", "read", None)
    created = led.stage_times("change", "change", h)
    states = led.states_at("change", h)
    assert res.conservation.ok
    assert set(res.conservation.by_kind["change"]["dropped"]) <= ALLOWED_DROPS
    # the actor's row count equals the versions stamped read (each stamped once) + history rows:
    # a version read twice would count twice here but hold one stamp
    stamped = np.isfinite(read_t).sum()
    assert c["rows_read"] == stamped + c["history_rows_read"]
    # no version both read and superseded; the actor's states agree with the ledger
    v = ids - flow.first_id + tb.rows
    sup = led.table("change").reason[ids] == led.reason_code("superseded")
    assert not (sup & np.isfinite(read_t)).any()
    assert (flow.state[v][np.isfinite(read_t)] == READ).all()
    assert (flow.state[v][sup] == DROPPED).all()
    # none missed: every version written before the last finished run's window was read or
    # superseded (or failed mapping), and every unread one is in flight
    finished = [r for r in flow.runlog if r["outcome"] == "finished"]
    last_cut = math.floor(res.pipeline.ctx.start_epoch_s + finished[-1]["started"]) - res.pipeline.ctx.start_epoch_s
    before = created < last_cut - 1
    assert (np.isfinite(read_t) | sup)[before].all()
    unread = ~np.isfinite(read_t) & ~sup
    assert (states[unread] == IN_FLIGHT).all()
    # and each unread one is its row's latest version at the horizon (older ones were superseded)
    assert (tb.next_t[v[unread]] >= h).all()
    # every row's latest version written before the last cut arrived in the profile or failed
    return flow


@pytest.mark.parametrize("on_overlap", ["wait", "skip"])
def test_delta_loads_read_every_version_once_with_updates_during_runs(on_overlap):
    # many updates of few rows, pages of 5 rows at 20 s each: rows are updated while runs page
    sc = hubspot(horizon="8h", rows=150, per_hour=900, update_share=0.9)
    sc["api"].update(page_size=5, latency=const(20.0))
    sc["sources"][0]["changes"].update(bad_value_share=0.02, missing_identity_share=0.02)
    sc["scheduler"]["on_overlap"] = on_overlap
    res = run(sc, seed=7, progress=False, check=False)
    flow = _delta_books(res)
    dropped = res.conservation.by_kind["change"]["dropped"]
    assert dropped["superseded"] > 0 and dropped["mapping_failed"] > 0 and dropped["identity_refused"] > 0
    # some rows were updated during a run's read and left to the next run
    assert flow.c["superseded"] == dropped["superseded"]
    # the profile holds each row's latest landed version
    prof = res.pipeline.profile.profile
    tb = flow.table
    landed = res.ledger.stage_times("change", "profile", res.horizon_s)
    ok_v = np.flatnonzero(np.isfinite(landed)) - flow.first_id + tb.rows
    latest = {}
    for v in ok_v:
        latest[int(tb.row[v])] = max(latest.get(int(tb.row[v]), -1), int(v))
    for row, v in list(latest.items())[:50]:
        attrs = prof.attributes("HubSpotId", str(row))
        want = tb.value("Properties_Firstname_Value", v)
        newer = [w for w in ok_v if tb.row[w] == row and w > v]
        assert not newer and attrs.get("person.name.firstName") == want


def test_backfill_reads_the_history_once_then_only_changes():
    sc = hubspot(horizon="2h", rows=700, per_hour=300, update_share=0.5, history="backfill")
    res = run(sc, seed=2, progress=False, check=False)
    flow = _delta_books(res)
    c = res.counts[flow.name]
    # the first run copied the whole history (backfill: true), except rows updated again before their
    # page was read: their newer version went to a later run
    first = flow.runlog[0]
    unread = np.flatnonzero(flow.state[:700] == PENDING)
    assert c["history_rows_read"] == 700 - len(unread) and len(unread) < 10
    assert (flow.table.next_t[unread] < first["finished"]).all()
    assert first["rows_read"] == c["history_rows_read"] and first["api_calls"] >= 7
    assert all(r["rows_read"] < 200 for r in flow.runlog[1:])


def test_a_flow_without_copy_reloads_every_row_each_run():
    """The seed's own flow (Mapping only, interval "30" read as 30 minutes): a full reload."""
    sc = hubspot(horizon="3h", rows=400, per_hour=120, update_share=0.5)
    sc["bodies"] = [SEED_CHAIN]
    sc["sources"][0]["flow"] = SEED_FLOW
    sc["sources"][0]["columns"] = {"Portal_Id": "row_id", "Properties_Firstname_Value": "name"}
    res = run(sc, seed=4, progress=False)
    flow = res.pipeline.flows[0]
    assert flow.flow.load_mode == "full" and flow.period_s == 1800
    rows = [r["rows_read"] for r in flow.runlog if r["outcome"] == "finished"]
    assert rows[0] == 400 and rows == sorted(rows) and rows[-1] > 400  # every row, every run
    assert any("full reload" in n for n in res.warnings())
    assert any("'30' was read as the integer 30" in n for n in res.warnings())
    # the seed's mapping marks no identity: nothing reaches the profile
    assert set(res.conservation.by_kind["change"]["dropped"]) <= {"identity_refused", "superseded"}
    assert res.conservation.by_kind["change"]["delivered"] == 0


def test_a_tighter_quota_fails_runs_and_slows_them():
    base = hubspot(horizon="6h", rows=300, per_hour=1200)
    base["api"].update(page_size=20, static_token=True)
    ample = run(base, seed=1, progress=False)
    tight = dict(base, api=dict(base["api"], daily_requests=300, burst_requests=5))
    res = run(tight, seed=1, progress=False, check=False)
    a, t = ample.extras()["dataflow_totals"], res.extras()["dataflow_totals"]
    assert a["runs_failed"] == 0 and t["runs_failed"] > 0
    assert res.conservation.by_kind["run"]["dropped"] == {"quota_exhausted": t["runs_failed"]}
    assert any(row.kind == "run" and row.reason == "quota_exhausted" for row in res.lost().itertuples())
    assert t["rate_limit_waits"] > 0 and a["rate_limit_waits"] == 0
    fa = ample.extras()["dataflows"]["contacts"]["run_duration_s"]["mean"]
    ft = res.extras()["dataflows"]["contacts"]["run_duration_s"]["mean"]
    assert ft > fa  # 5 requests per 10 s: pages wait for Retry-After
    # changes the failed runs could not read wait in the source: fewer reach the profile
    assert res.conservation.by_kind["change"]["in_flight"] > ample.conservation.by_kind["change"]["in_flight"]
    assert res.conservation.ok


def token_oracle(runs: int, lifetime: float, period=1200.0, startup=30.0, call=0.25) -> int:
    """Refreshes by the rule: a token is valid on [issued, issued + lifetime); a call starting at or
    after expiry gets 401 (one call), then a token request (one call) issues a new one."""
    issued, refreshes = None, 0
    for k in range(runs):
        t = k * period + startup
        if issued is None:
            issued = t + call
        elif t >= issued + lifetime:
            refreshes += 1
            issued = t + 2 * call
    return refreshes


@pytest.mark.parametrize("lifetime, expected", [(1200.0, 5), (1199.75, 6), (1080.0, 11)])
def test_token_refreshes_at_the_lifetime_boundary(lifetime, expected):
    """Runs every 20 minutes; the first token is issued 30.25 s into the first run (startup 30 s,
    token call 0.25 s), so the next run's first call (1,230 s) is inside a 20-minute token's life
    (expiry 1,230.25 s) and exactly at expiry for 1,199.75 s: 401, a new token, which then covers
    the run after. Marketing Cloud's expires_in (1,080 s) refreshes on every run."""
    assert token_oracle(12, lifetime) == expected
    sc = sfmc(horizon="4h", token_lifetime=lifetime)
    sc["schedule"] = {"frequency": "minute", "interval": 20}
    res = run(sc, seed=1, progress=False)
    f = res.extras()["dataflows"]["contacts_de"]
    assert f["runs_finished"] == 12
    assert f["token_refreshes"] == expected
    assert f["token_requests"] == expected + 1
    assert f["api_calls"] == f["page_calls"] + f["token_requests"]  # pages (401s included) + tokens
    assert res.counts["dataflow:contacts_de"]["unauthorized"] == expected


def test_sfmc_default_token_of_1080_s_is_refreshed_on_every_hourly_run():
    res = run(sfmc(horizon="5h"), seed=1, progress=False)
    f = res.extras()["dataflows"]["contacts_de"]
    assert f["runs_finished"] == 5 and f["token_refreshes"] == 4


def test_on_overlap_wait_queues_runs_and_skip_drops_them():
    """Runs that take 20 minutes (startup) every 15 minutes: with wait every run happens, later and
    later; with skip every other one is dropped skipped_overlap."""
    sc = hubspot(horizon="6h", rows=100, per_hour=200)
    sc["scheduler"]["startup"] = const(1140.0)
    wait = run(sc, seed=1, progress=False, check=False)
    skip = run(dict(sc, scheduler=dict(sc["scheduler"], on_overlap="skip")), seed=1, progress=False, check=False)
    w, s = wait.extras()["dataflows"]["contacts"], skip.extras()["dataflows"]["contacts"]
    assert w["skipped_runs"] == 0 and s["skipped_runs"] > 0
    assert skip.conservation.by_kind["run"]["dropped"] == {"skipped_overlap": s["skipped_runs"]}
    delays = wait.latency("scheduled->started")
    assert delays[0] == 0 and np.all(np.diff(delays) > 0)  # a growing backlog
    assert np.all(skip.latency("scheduled->started") == 0)  # a run starts on time or not at all
    assert s["runs"] == w["runs"] == 24
    assert s["runs_finished"] <= 12 < w["runs_finished"] + w["runs"]
    for res in (wait, skip):
        assert res.conservation.ok


@pytest.mark.parametrize("policy", ["dataset_precedence", "timestamp_ordered"])
def test_two_sources_one_profile_and_the_merge_policy(policy):
    """HubSpot contacts and a Marketing Cloud data extension both write the first name of the same
    people (joined by e-mail): dataset precedence keeps Marketing Cloud's, timestamp order the
    latest of either."""
    from tests.aep_system.conftest import HUBSPOT_JSON, SFMC_FLOW, SFMC_JSON

    sc = hubspot(horizon="3h", rows=50, per_hour=100, update_share=1.0)
    sc["bodies"] = [HUBSPOT_JSON, SFMC_JSON]
    sc["sources"].append({"name": "de", "flow": SFMC_FLOW, "rows": 50,
                          "changes": {"per_hour": 100, "update_share": 1.0},
                          "columns": {"SubscriberKey": {"key": "SK"}, "EmailAddress": "email",
                                      "FirstName": {"choice": {"Zoe": 1, "Yann": 1}}}})
    sc["profile"] = {"merge_policy": policy, "latency": const(60),
                     **({"dataset_order": ["Marketing Cloud contacts"]} if policy == "dataset_precedence" else {})}
    res = run(sc, seed=8, progress=False, check=False)
    assert res.conservation.ok
    prof = res.pipeline.profile.profile
    names = [prof.attributes("Email", f"c{row}@example.com").get("person.name.firstName") for row in range(50)]
    sfmc_names = {"Zoe", "Yann"}
    if policy == "dataset_precedence":
        assert all(n in sfmc_names for n in names)
    else:
        assert any(n in sfmc_names for n in names) and any(n not in sfmc_names for n in names)
    # one profile per person: HubSpotId, Email and SFMCSubscriberKey linked
    assert len(prof.identities("Email", "c7@example.com")) == 3
