"""The event bus, its subscribers and webhooks under faults: every rule on a small timeline."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT

H = 3600.0
BASE = {"visitors.prospects": 20, "visitors.anonymous": 5, "visitors.mean_devices": 1.0,
        "data_actions.targets": ["platform_event"]}


def alert_rows(starts):
    """Prospect i logs in and views Pricing three times from ``starts[i]``: one alert each."""
    rows = []
    for i, t0 in enumerate(starts):
        cookie = 5000 + i
        rows.append({"t": t0, "cookie": cookie, "page": "login", "email": i})
        rows += [{"t": t0 + 10 + 30 * k, "cookie": cookie, "page": "pricing"} for k in range(3)]
    return sorted(rows, key=lambda r: r["t"])


def twin(starts, horizon, check=True, **over):
    return sim.run(DEFAULT, seed=1, overrides={**BASE, "horizon": horizon, **over},
                   visitors=ScriptedClicks(alert_rows(starts)), check=check)


def published_at(r):
    return r.ledger.stage_times("platform_event", "publish", r.horizon_s)


def test_an_outage_of_73_hours_loses_exactly_the_events_older_than_72_hours():
    r = twin([10, 1800, 2 * H, 3 * H], "80h", check=False, faults=[{"target": "crm", "kind": "outage", "start": 0,
                                                          "duration": "73h"}])
    pub = published_at(r)
    flow = r.ledger.table("flow")
    states = r.ledger.states_at("flow", r.horizon_s)
    reasons = r.ledger.dropped_by_reason("flow", r.horizon_s)
    lost = {int(flow.parent[i]) for i in range(flow.n) if states[i] == 2}
    expected = {i for i, t in enumerate(pub) if 73 * H - t > 72 * H}
    assert lost == expected and reasons == {"retention": len(expected)} and 0 < len(expected) < len(pub)
    notified = r.ledger.stage_times("flow", "notification", r.horizon_s)
    assert np.nanmin(notified) >= 73 * H  # the rest were delayed to the end of the outage, not lost
    assert r.conservation.ok


def test_a_two_hour_flow_error_loses_its_batches_and_a_pause_only_delays():
    starts = [600 * k for k in range(12)]
    errors = twin(starts, "5h", check=False,
                  faults=[{"target": "crm", "kind": "error_rate", "rate": 1.0, "start": "40m", "duration": "30m"}])
    dropped = errors.conservation.by_kind["flow"]["dropped"]
    assert dropped.get("flow_error", 0) == errors.counts["crm"]["failed_batches"] > 0 and errors.conservation.ok
    pause = twin(starts, "5h", faults=[{"target": "crm", "kind": "outage", "start": "40m", "duration": "30m"}])
    assert pause.conservation.by_kind["flow"]["dropped"] == {}
    assert pause.latency("click->notification").max() > 25 * 60


APEX = {"name": "audit", "retryable_rate": 1.0, "retry_delay": "1s", "retry_delay_max": "4s"}


def test_the_tenth_failed_run_puts_the_trigger_in_error_state():
    r = twin([10, 3 * H], "6h", **{"subscribers.apex": [APEX]})
    c = r.counts["apex:audit"]
    assert c["runs"] == 10 and c["retries"] == 9 and c["error_states"] == 1 and c["in_error_state"]
    kind = r.conservation.by_kind["apex:audit"]
    assert kind["dropped"] == {"trigger_error_state": 2}  # the failed batch, then the one published later
    assert r.conservation.by_kind["flow"]["delivered"] == 2  # the other subscriber is not affected
    runs = r.ledger.table("apex:audit")
    assert runs.n == 2


def test_a_resumed_trigger_with_a_checkpoint_delivers_the_failed_batch_again():
    spec = {**APEX, "retryable_rate": 0.0, "resume_after": "1h", "resume_checkpoint": True}
    fault = [{"target": "apex:audit", "kind": "error_rate", "rate": 1.0, "start": 0, "duration": "30m"}]
    r = twin([10, 2 * H, 3 * H], "6h", faults=fault, **{"subscribers.apex": [spec]})
    c = r.counts["apex:audit"]
    assert c["error_states"] == 1 and not c["in_error_state"]
    kind = r.conservation.by_kind["apex:audit"]
    assert kind["delivered"] == 3 and kind["dropped"] == {}
    processed = r.ledger.stage_times("apex:audit", "processed", r.horizon_s)
    assert processed[0] > 3600  # after the resume


def test_pubsub_client_respects_the_delivery_allocation_and_resumes_after_a_disconnect():
    r = twin([10, 1800, 3600, 5400], "30h", **{"subscribers.pubsub": [{"name": "erp"}],
                                              "event_bus.delivery_allocation_per_day": 2})
    processed = r.ledger.stage_times("pubsub:erp", "processed", r.horizon_s)
    assert np.sum(processed < 24 * H) == 2 and np.sum(np.isfinite(processed)) == 4
    assert r.counts["pubsub:erp"]["allocation_waits"] >= 1
    fault = [{"target": "pubsub:erp", "kind": "outage", "start": "20m", "duration": "2h"}]
    r = twin([10, 1800, 3600, 5400], "5h", faults=fault, **{"subscribers.pubsub": [{"name": "erp"}]})
    assert r.conservation.by_kind["pubsub:erp"]["delivered"] == 4 and r.counts["pubsub:erp"]["reconnects"] >= 1
    assert r.counts["pubsub:erp"]["stored_replay_id"] == r.counts["event_bus"]["last_replay_id"]


def test_publish_after_commit_and_publish_immediately_on_a_failed_transaction():
    after = twin([10, 900], "2h", **{"event_bus.publish_behavior": "after_commit",
                                     "event_bus.transaction_failure_rate": 1.0})
    assert after.conservation.by_kind["platform_event"]["dropped"] == {"rolled_back": 2}
    assert after.conservation.by_kind["flow"]["created"] == 0
    now = twin([10, 900], "2h", **{"event_bus.transaction_failure_rate": 1.0})
    assert now.counts["event_bus"]["published_after_rollback"] == 2 and now.counts["event_bus"]["published"] == 2


def test_allocation_retry_waits_for_the_rolling_hour_and_a_cut_drops_only_during_it():
    r = twin([10, 300, 600], "3h", **{"event_bus.publish_allocation_per_hour": 1,
                                      "event_bus.on_limit_exceeded": "retry"})
    pub = np.sort(published_at(r))
    assert r.conservation.by_kind["platform_event"]["dropped"] == {}
    assert pub[1] - pub[0] >= H - 1 and pub[2] - pub[1] >= H - 1
    cut = twin([10, 2 * H], "4h", faults=[{"target": "event_bus", "kind": "allocation_cut", "allocation": 0,
                                            "start": 0, "duration": "1h"}])
    assert cut.conservation.by_kind["platform_event"]["dropped"] == {"allocation": 1}
    assert cut.conservation.by_kind["platform_event"]["delivered"] == 1


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), partitions=st.integers(1, 4))
def test_without_faults_every_subscriber_gets_every_event_once_in_order(seed, partitions):
    over = {"horizon": "2h", "visitors.rate_per_s": 1.0, "visitors.hot_share": 0.5,
            "subscribers.apex": [{"name": "audit", "partitions": partitions, "batch_size": 7}],
            "subscribers.pubsub": [{"name": "erp", "fetch_size": 5}]}
    r = sim.run(DEFAULT, seed=seed, overrides=over, check=False)
    published = np.flatnonzero(np.isfinite(published_at(r)))
    assert len(published) > 0 and r.conservation.ok
    for kind in ("flow", "apex:audit", "pubsub:erp"):
        table = r.ledger.table(kind)
        parents = table.parent[: table.n]
        assert sorted(parents.tolist()) == published.tolist()  # exactly once each
        states = r.ledger.states_at(kind, r.horizon_s)
        assert set(np.unique(states)) <= {0, 1}  # delivered or in flight, nothing dropped
    assert r.counts["apex:audit"]["order_violations"] == 0
    pub_t = published_at(r)
    flow = r.ledger.table("flow")
    start = r.ledger.stage_times("flow", "flow_start", r.horizon_s)
    done = np.isfinite(start)
    order = np.argsort(pub_t[flow.parent[: flow.n]][done], kind="stable")
    assert (np.diff(start[done][order]) >= 0).all()  # the Flow takes events in replay order


def test_fault_errors_name_the_field():
    message = "faults.0.target 'crmm' is not an actor of this scenario; allowed: crm"
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load(DEFAULT, {"faults": [{"target": "crmm", "kind": "outage", "start": 0, "duration": "1h"}]})
    with pytest.raises(ScenarioError, match="a slowdown fault takes factor"):
        load(DEFAULT, {"faults": [{"target": "crm", "kind": "slowdown", "start": 0, "duration": "1h", "rate": 0.5}]})
    message = "faults.0.kind: 'crash' is not allowed; allowed: outage, error_rate"
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load(DEFAULT, {"faults": [{"target": "crm", "kind": "crash", "start": 0, "duration": "1h"}]})


WEBHOOK = {"data_actions.targets": ["webhook"]}


def test_webhook_outage_is_retried_and_a_long_failure_disables_the_endpoint():
    starts = [10, 2 * H, 4 * H]
    r = twin(starts, "8h", **WEBHOOK, faults=[{"target": "webhooks", "kind": "outage", "start": 0, "duration": "1h"}],
             **{"webhooks.retry_schedule": [0, 60, 600, 3600]})
    c = r.counts["webhooks"]
    assert c["connection_refused"] >= 3 and c["acknowledged"] == 3
    assert r.conservation.by_kind["webhook"]["dropped"] == {}
    dead = twin(starts, "8h", check=False, **WEBHOOK,
                faults=[{"target": "webhooks", "kind": "outage", "start": 0, "duration": "8h"}],
                **{"webhooks.retry_schedule": [0, 600, 600, 600, 600], "webhooks.disable_after": "30m"})
    d = dead.counts["webhooks"]
    assert d["disabled_at_s"] is not None and d["disabled_at_s"] - 10 >= 1800
    dropped = dead.conservation.by_kind["webhook"]["dropped"]
    assert dropped.get("endpoint_disabled", 0) >= 2 and dead.conservation.ok  # later alerts never sent


def test_exponential_retry_with_jitter_stays_within_its_bounds():
    over = {**WEBHOOK, "webhooks.retry_policy": "exponential", "webhooks.endpoint.error_rate": 1.0,
            "webhooks.exponential": {"attempts": 5, "base": "10s", "factor": 3, "max_delay": "2m", "jitter": 0.5}}
    r = twin([10], "2h", **over)
    sender = r.pipeline.webhooks
    for _ in range(50):
        delays = sender.delays()
        assert delays[0] == 0 and len(delays) == 5
        for k, d in enumerate(delays[1:]):
            cap = min(10 * 3 ** k, 120)
            assert 0.5 * cap <= d <= cap
    assert r.counts["webhooks"]["attempts"] == 5 and r.conservation.by_kind["webhook"]["dropped"] == {"dead_letter": 1}


SCEN = DEFAULT.parent


def test_crm_outage_scenario_separates_lost_from_delayed():
    from sim.results.variants import compare

    table, results = compare(SCEN / "crm_outage.yaml")
    assert table.loc["no_fault", "lost"] == 0 and table.loc["flow_paused", "lost"] == 0
    errors = results["flow_errors"].lost_detail().set_index("reason")
    assert errors.loc["flow_error", "count"] == table.loc["flow_errors", "lost"] > 0
    assert 3 * H <= errors.loc["flow_error", "first_s"] and errors.loc["flow_error", "last_s"] < 5 * H + 600
    assert table.loc["flow_paused", "notify_p99_s"] > 3600 > table.loc["no_fault", "notify_p99_s"]


def test_fraud_sms_webhook_scenario_is_rate_limited_and_fails_some_calls():
    r = sim.run(SCEN / "fraud_sms_webhook.yaml", overrides={"horizon": "3h"}, check=False)
    c = r.counts["webhooks"]
    assert c["acknowledged"] > 0 and c["http_429"] > 0
    assert 0.01 < c["errors_5xx"] / c["attempts"] < 0.12
    assert r.conservation.ok and r.counts["data_actions"]["filtered_no_contact"] == 0
