"""Whole runs: contracts of summary.json, conservation, determinism, and the insight through the twin."""

import json
import subprocess
import sys

import pytest

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from sim.core.ledger import ConservationError
from sim.runs.runner import execute
from sim.scenario.load import load
from sim.systems.data_cloud import build
from tests.conftest import DEFAULT

SMALL = {"horizon": "30m", "visitors.rate_per_s": 1.0, "visitors.anonymous": 5000, "visitors.hot_share": 0.3}


@pytest.fixture(scope="module")
def small_run():
    return sim.run(DEFAULT, seed=7, overrides=SMALL)


def test_summary_json_has_the_contract_keys(small_run):
    s = json.loads(small_run.to_json())
    for key in ("scenario", "seed", "horizon_s", "conservation", "latency_s", "throughput_per_s", "counts", "by_kind"):
        assert key in s
    c = s["conservation"]
    assert c["ok"] is True and c["created"] == c["delivered"] + sum(c["dropped"].values()) + c["in_flight"]
    for key in ("click->notification", "click->ingest", "ingest->lakehouse", "lakehouse->identity",
                "identity->insight", "action->publish", "publish->flow_start", "flow_start->notification"):
        assert set(s["latency_s"][key]) >= {"count", "p50", "p95", "p99", "max", "mean"}
    assert s["latency_s"]["click->notification"]["count"] > 0
    assert set(s["by_kind"]) == {"click", "firing", "platform_event", "flow", "webhook"}
    assert set(s["intents"]) >= {"intents", "caught", "late", "missed", "pending", "acted", "missed_by_reason",
                                 "pending_by_cause", "time_to_action_s", "time_to_data_action_s"}
    assert s["warnings"] == []
    assert s["by_kind"]["click"]["conservation"]["created"] == s["counts"]["visitors"]["clicks_sent"]
    assert s["throughput_per_s"]["ingestion"] > 100 * s["throughput_per_s"]["crm"] > 0  # decoupling


def test_latencies_are_consistent_with_the_stages(small_run):
    r = small_run
    e2e = r.latency("click->notification")
    assert (e2e > 0).all()
    # a click waits for its micro-batch: never more than the flush interval plus processing
    assert r.latency("ingest->lakehouse").max() < 180 + 60
    assert r.summary().loc["click->notification", "count"] == len(e2e)
    tasks = r.pipeline.population.org.tasks
    assert len(tasks) == r.counts["crm"]["tasks_created"] and all(t.priority == "High" for t in tasks)


def test_same_seed_same_summary_in_another_process_and_other_seed_differs(small_run, tmp_path):
    mine = small_run.to_dict()
    again = sim.run(DEFAULT, seed=7, overrides=SMALL).to_dict()
    for d in (mine, again):
        d.pop("wall_s")
    assert mine == again
    code = (f"import json, sim; r = sim.run({str(DEFAULT)!r}, seed=7, overrides={SMALL!r}).to_dict(); r.pop('wall_s');"
            "print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert json.loads(out.stdout) == json.loads(json.dumps(mine))
    other = sim.run(DEFAULT, seed=8, overrides=SMALL).to_dict()
    assert other["ledger_digest"] != mine["ledger_digest"]
    assert other["conservation"]["created"] != mine["conservation"]["created"]


def test_a_stage_that_loses_messages_breaks_conservation():
    """Break the lakehouse on purpose: it forgets one event of every micro-batch."""
    pipe = build(load(DEFAULT, SMALL), seed=7)
    honest = pipe.lakehouse.forward
    pipe.lakehouse.forward = lambda batch: honest(batch.take(slice(1, None)))
    with pytest.raises(ConservationError) as info:
        execute(pipe)
    assert "not held by any actor" in str(info.value) and "@lakehouse" in str(info.value)
    assert info.value.report.lost["click"]


def test_publish_allocation_drops_over_the_limit():
    r = sim.run(DEFAULT, seed=7, overrides={**SMALL, "event_bus.publish_allocation_per_hour": 2})
    pe = r.conservation.by_kind["platform_event"]
    assert r.counts["event_bus"]["published"] == 2
    assert pe["dropped"]["allocation"] == r.counts["event_bus"]["limit_exceeded"] > 0


def test_no_signing_key_sends_nothing():
    r = sim.run(DEFAULT, seed=7, overrides={**SMALL, "webhooks.signing_key": None})
    w = r.conservation.by_kind["webhook"]
    assert w["created"] > 0 and w["dropped"] == {"no_signing_key": w["created"]}
    assert r.counts["webhooks"]["attempts"] == 0


def test_rate_limit_429s_are_retried_with_backoff_or_dropped():
    tight = {**SMALL, "visitors.rate_per_s": 3.0, "ingestion.rate_limit_per_s": 8, "ingestion.burst": 2}
    retry = sim.run(DEFAULT, seed=7, overrides=tight)
    drop = sim.run(DEFAULT, seed=7, overrides={**tight, "ingestion.on_429": "drop"})
    assert retry.counts["ingestion"]["http_429"] > 0
    assert drop.conservation.by_kind["click"]["dropped"]["rate_limited"] == drop.counts["ingestion"]["http_429"]
    kept = retry.conservation.by_kind["click"]["dropped"].get("rate_limited", 0)
    assert kept < drop.conservation.by_kind["click"]["dropped"]["rate_limited"]
    assert retry.latency("click->ingest").max() > 0  # retried clicks were accepted later


# -- the insight through the whole twin, on hand-made clicks ---------------------------------
TINY = {"horizon": "30m", "visitors.prospects": 3, "visitors.anonymous": 3, "visitors.mean_devices": 1.0,
        "data_actions.targets": ["platform_event"]}
A, B = 1000, 2000  # two devices of prospect 0


def twin(rows):
    return sim.run(DEFAULT, seed=1, overrides=TINY, visitors=ScriptedClicks(rows))


def test_three_pricing_views_fire_once_and_ring_the_owners_bell():
    r = twin([{"t": 10, "cookie": A, "page": "login", "email": 0}] +
             [{"t": 20 + 100 * k, "cookie": A, "page": "pricing"} for k in range(4)])
    assert r.counts["insights"]["firings"] == 1
    tasks = r.pipeline.population.org.tasks
    assert [t.who_id for t in tasks] == [r.pipeline.population.contact_ids[0]]
    pe = r.ledger.table("platform_event")
    origin = r.ledger.table("click").stamp["click"][pe.parent[0]]
    assert origin == 220.0  # the third view completed the insight
    assert r.latency("click->notification")[0] > 0


def test_two_devices_count_together_only_after_the_login_merge():
    visits_a = [{"t": 10, "cookie": A, "page": "login", "email": 0},
                {"t": 20, "cookie": A, "page": "pricing"}, {"t": 40, "cookie": A, "page": "pricing"}]
    b_anonymous = [{"t": 60, "cookie": B, "page": "pricing"}, {"t": 100, "cookie": B, "page": "pricing"}]
    without_login = twin(visits_a + b_anonymous)
    assert without_login.counts["insights"]["firings"] == 0  # 2 views on A's profile, 2 on B's cookie
    login = {"t": 80, "cookie": B, "page": "login", "contact": 0}
    with_login = twin([*visits_a, b_anonymous[0], login, b_anonymous[1]])
    assert with_login.counts["insights"]["firings"] == 1
    # A's cookie was first seen in its login and simply joined; B's anonymous profile was merged
    assert with_login.counts["identity"]["merges"] == 1
    fired_click = with_login.ledger.table("platform_event").parent[0]
    assert with_login.ledger.table("click").stamp["click"][fired_click] == 100.0


def test_anonymous_history_counts_once_the_cookie_is_linked():
    rows = [{"t": 30, "cookie": B, "page": "pricing"}, {"t": 50, "cookie": B, "page": "pricing"},
            {"t": 70, "cookie": B, "page": "login", "email": 0}, {"t": 90, "cookie": A, "page": "login", "email": 0},
            {"t": 110, "cookie": A, "page": "pricing"}]
    r = twin(rows)
    assert r.counts["insights"]["firings"] == 1
    assert r.ledger.table("click").stamp["click"][r.ledger.table("platform_event").parent[0]] == 110.0


def test_cli_run_writes_summary_and_plots(sim_cmd, tmp_path):
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--seed", "7", "--set", "visitors.rate_per_s=1",
                           "--set", "horizon=20m", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "click->notification" in proc.stdout and "conservation ok" in proc.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["horizon_s"] == 1200
    for name in ("latency_cdf.png", "e2e_histogram.png", "queues.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_the_scenario_chooses_the_identity_rules_and_limits():
    visits = [{"t": 10, "cookie": A, "page": "login", "email": 0},
              {"t": 20, "cookie": A, "page": "pricing"}, {"t": 40, "cookie": A, "page": "pricing"},
              {"t": 60, "cookie": B, "page": "pricing"}, {"t": 80, "cookie": B, "page": "login", "email": 0},
              {"t": 100, "cookie": B, "page": "pricing"}]

    def run(**identity):
        over = {**TINY, **{f"identity.{k}": v for k, v in identity.items()}}
        return sim.run(DEFAULT, seed=1, overrides=over, visitors=ScriptedClicks(visits))

    linked = run()
    assert linked.counts["insights"]["firings"] == 1
    assert linked.counts["identity"]["links_by_rule"]["login"] == 2
    no_email_rule = run(link_namespaces=["contact_id"])  # logins carrying an e-mail link nothing
    assert no_email_rule.counts["insights"]["firings"] == 0
    assert "login" not in no_email_rule.counts["identity"]["links_by_rule"]
    # a person may have at most 2 identities: the second device pushes out the oldest identity
    capped = run(max_identities=2)
    assert capped.counts["identity"]["identities_deleted"] >= 1
    refused = run(max_identities=2, on_exceed="refuse")
    assert refused.counts["identity"]["refused_links"] >= 1 and refused.counts["identity"]["identities_deleted"] == 0
    assert refused.counts["insights"]["firings"] == 0  # the devices never join: 2 + 2 views apart


def test_the_twin_insight_takes_a_filter_and_a_distinct_measure():
    rows = [{"t": 10, "cookie": A, "page": "login", "email": 0}] + \
           [{"t": 20 + 30 * k, "cookie": A, "page": p} for k, p in enumerate(["pricing", "product", "docs", "pricing"])]
    page_only = twin(rows)
    assert page_only.counts["insights"]["firings"] == 0  # 2 Pricing views
    broad = sim.run(DEFAULT, seed=1, overrides={**TINY, "insights.filter": "page in ('pricing', 'product', 'docs')"},
                    visitors=ScriptedClicks(rows))
    assert broad.counts["insights"]["firings"] == 1 and broad.counts["insights"]["matching"] == 4
    distinct = sim.run(DEFAULT, seed=1, overrides={**TINY, "insights.filter": "event == 'page_view'",
                                                   "insights.measure": "distinct:page"},
                       visitors=ScriptedClicks(rows))
    assert distinct.counts["insights"]["firings"] == 1  # pricing, product, docs: 3 distinct pages
    with pytest.raises(sim.ScenarioError, match=r"insights: .*filter uses country; click fields: page, event"):
        sim.load(DEFAULT, {"insights.filter": "country == 'FR'"})
