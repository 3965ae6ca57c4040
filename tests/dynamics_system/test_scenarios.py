"""The bundled Dynamics scenarios: the published envelope, journey outcomes that add up,
conservation, losses with their reasons, determinism."""

import json
import subprocess
import sys

import numpy as np
import pytest

import sim
from sim.scenario.dynamics import DynamicsScenario
from tests.conftest import ROOT

from .conftest import DYNAMICS, ORDERS, SUPPORT, run_variant, variants_of

CASES = [(stem, v) for stem in DYNAMICS for v in variants_of(stem)]
FIRST_STEP = "latency_s.trigger->first_step"


def test_the_scenarios_are_dynamics_scenarios_and_name_their_files():
    for stem in DYNAMICS:
        sc = sim.load(ROOT / "scenarios" / f"{stem}.yaml")
        assert isinstance(sc, DynamicsScenario) and sc.name == stem and sc.system == "dynamics_journeys"


@pytest.mark.parametrize("stem,variant", CASES, ids=[f"{s}:{v}" for s, v in CASES])
def test_every_variant_conserves_messages_and_journey_outcomes_add_up(stem, variant):
    r = run_variant(stem, variant)
    assert r.conservation.ok, r.conservation.to_dict()
    assert r.conservation.created > 0
    journeys = r.extras()["journeys"]
    assert journeys
    for name, j in journeys.items():
        assert j["entered"] == j["completed"] + j["goal_reached"] + j["exited"] + j["in_progress"], name
        assert j["entered"] > 0
    # the ledger agrees with the engines: one journey message per entry, in flight while in progress
    by_kind = r.conservation.by_kind
    assert by_kind["journey"]["created"] == sum(j["entered"] for j in journeys.values())
    assert by_kind["journey"]["in_flight"] == sum(j["in_progress"] for j in journeys.values())
    # every trigger was acted on, dropped for overload, or is still in processing
    env = r.extras()["trigger_processing"]
    t = by_kind["trigger"]
    assert t["created"] == env["offered"] and t["dropped"].get("trigger_overload", 0) == env["dropped_trigger_overload"]
    assert t["delivered"] == env["processed"]


def test_the_peak_variant_leaves_the_envelope_and_drops_triggers():
    base, peak = run_variant(SUPPORT.stem, "default"), run_variant(SUPPORT.stem, "peak")
    env = peak.extras()["trigger_processing"]
    assert env["peak_triggers_per_min"] > 2500 and not env["inside_envelope"]
    assert env["p90_s"] > 180.0 and env["p95_s"] > 300.0
    assert env["dropped_trigger_overload"] > 1000
    assert peak.conservation.by_kind["trigger"]["dropped"]["trigger_overload"] == env["dropped_trigger_overload"]
    assert any("2,500/min" in w for w in peak.warnings()) and not base.warnings()
    lost = peak.lost()
    assert ((lost["kind"] == "trigger") & (lost["reason"] == "trigger_overload")).any()
    # the bulk job went through Dataverse service protection: 6,000 requests per user per 5 minutes
    bulk = peak.counts["sources"]["backlog_cleanup"]
    assert bulk["sdk_requests"] == 60000 and bulk["http_429_window"] > 0
    # no trigger waited more than 15 minutes for capacity (plus the latency after it)
    wait = peak.latency("trigger->first_step")
    assert wait.max() < 900 + 3 * 3600


def test_a_channel_outage_loses_messages_with_its_reason():
    base, outage = run_variant(ORDERS.stem, "default"), run_variant(ORDERS.stem, "sms_outage")
    inboxed = lambda r: r.conservation.by_kind["message"]["delivered"]  # noqa: E731
    assert inboxed(outage) < inboxed(base)
    lost = outage.lost()
    row = lost[(lost["kind"] == "message") & (lost["reason"] == "channel_outage")]
    assert len(row) == 1 and row["count"].iloc[0] > 50
    assert "channel_outage" not in base.lost()["reason"].tolist()
    detail = outage.lost_detail()
    d = detail[detail["reason"] == "channel_outage"].iloc[0]
    assert 5 * 3600 <= d["first_s"] and d["last_s"] < 6 * 3600  # inside the outage window
    # same traffic: the triggers and journeys are identical, only the sends differ
    assert outage.extras()["journeys"]["order_ready"]["entered"] == base.extras()["journeys"]["order_ready"]["entered"]


def test_missing_attributes_and_contact_points_are_visible_losses():
    r = run_variant(ORDERS.stem, "default")
    dropped = r.conservation.by_kind["message"]["dropped"]
    assert dropped["missing_attribute"] > 0 and dropped["no_contact_point"] > 0
    j = r.extras()["journeys"]["order_ready"]
    assert j["failed"] == dropped["missing_attribute"]


def test_goals_and_exits_are_reached_through_responses():
    support = run_variant(SUPPORT.stem, "default").extras()["journeys"]["case_resolved_survey"]
    assert support["goal_reached"] > 0 and support["by_tile"]["discount_reminder"] > 0
    webinar = run_variant("webinar_signup_on_new_lead", "default").extras()["journeys"]["webinar_invitation"]
    assert webinar["exited"] > 0 and webinar["completed"] > 0 and webinar["filtered_out"] > 0
    tiles = webinar["change_to_inbox_s"]
    assert tiles["invitation"]["p50"] < 600 < 2 * 86400 < tiles["reminder"]["p50"]


def test_summary_json_has_the_journeys_and_the_envelope(tmp_path):
    r = run_variant(SUPPORT.stem, "default")
    d = json.loads(r.to_json())
    assert d["system"] == "dynamics_journeys"
    j = d["journeys"]["case_resolved_survey"]
    assert {"entered", "completed", "goal_reached", "exited", "in_progress", "by_tile", "filtered_out", "refused",
            "sent", "failed", "change_to_inbox_s"} <= set(j)
    assert set(j["change_to_inbox_s"]["survey"]) == {"count", "p50", "p90", "p95"}
    env = d["trigger_processing"]
    assert env["inside_envelope"] is True and env["envelope_p90_s"] == 180.0 and env["envelope_p95_s"] == 300.0
    assert "trigger->first_step" in d["latency_s"] and "change->inbox" in d["latency_s"]
    assert r.primary_e2e() == "change->inbox"
    assert set(d["throughput_per_s"]) == {"dataverse", "trigger_processing", "journeys", "channels"}


def test_same_seed_same_ledger_in_this_process_and_another():
    a = sim.run(ORDERS, overrides={"horizon": "3h"})
    b = sim.run(ORDERS, overrides={"horizon": "3h"})
    c = sim.run(ORDERS, seed=99, overrides={"horizon": "3h"})
    digest = a.ledger.digest(a.horizon_s)
    assert digest == b.ledger.digest(b.horizon_s) != c.ledger.digest(c.horizon_s)
    code = (f"import sim; r = sim.run({str(ORDERS)!r}, overrides={{'horizon': '3h'}}); "
            "print(r.ledger.digest(r.horizon_s))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == digest


def test_variants_share_the_record_traffic():
    base, peak = run_variant(SUPPORT.stem, "default"), run_variant(SUPPORT.stem, "peak")
    assert base.counts["sources"]["cases"] == peak.counts["sources"]["cases"]


def test_tile_series_end_where_the_engines_are():
    r = run_variant(SUPPORT.stem, "default")
    series = r.pipeline.orchestrator.tile_series(np.array([0.0, r.horizon_s]))
    j = r.extras()["journeys"]["case_resolved_survey"]
    assert series["case_resolved_survey: in the journey"][-1] == j["in_progress"]
    assert series["case_resolved_survey: waiting at wait_order"][0] == 0


def test_the_journey_figure_says_so_when_no_customer_ever_waits_and_draws_the_waits_otherwise():
    """order_ready has no wait tile: its customers pass in an instant, and the figure says so
    instead of a flat line on a ±0.05 axis; a journey with waits draws them without that note."""
    from sim.report.dynamics_plots import journey_tiles

    def texts(fig):
        return [t.get_text() for t in fig.axes[0].texts]

    orders = journey_tiles(run_variant("order_ready_notification", "default"))
    assert any("no customer was in a journey" in t for t in texts(orders))
    assert orders.axes[0].get_ylim() == (0, 1)
    support = run_variant("support_survey_on_resolved_case", "default")
    waits = journey_tiles(support)
    assert not texts(waits)
    assert max(line.get_ydata().max() for line in waits.axes[0].lines) > 0
