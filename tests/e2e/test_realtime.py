"""The real-time data graph path (``realtime.enabled``) beside the micro-batch: same traffic, the
click's path through the graph, the published ~500 ms, and what it changes downstream."""

import numpy as np
import pytest

import sim
from sim.actors.data_cloud.realtime import RealtimeGraph
from tests.conftest import ROOT

DEFAULT = ROOT / "scenarios" / "b2b_pricing_alert.yaml"


@pytest.fixture(scope="module")
def pair():
    """The default scenario for 40 minutes, micro-batch and real-time, on the same seed."""
    return {rt: sim.run(DEFAULT, overrides={"horizon": "40m", "realtime.enabled": rt}, progress=False, check=False)
            for rt in (False, True)}


def stage(r, name):
    return r.ledger.stage_times("click", name, r.horizon_s)


def test_the_same_clicks_take_the_graph_instead_of_the_lakehouse(pair):
    batch, rt = pair[False], pair[True]
    for r in (batch, rt):
        assert r.conservation.ok, r.conservation.to_dict()
    assert batch.ledger.table("click").n == rt.ledger.table("click").n  # the traffic is the same
    assert "graph" not in batch.kinds()["click"].stages and "lakehouse" not in rt.kinds()["click"].stages
    assert rt.kinds()["click"].stages == ("click", "ingest", "graph", "identity", "insight")
    assert "lakehouse" not in rt.counts and rt.counts["graph"]["events"] > 0
    assert rt.counts["ingestion"]["micro_batches"] == 0 and batch.counts["ingestion"]["micro_batches"] > 0


def test_ingest_to_graph_is_the_published_half_second_and_quantised_to_the_tick(pair):
    r = pair[True]
    ingest, graph, insight = stage(r, "ingest"), stage(r, "graph"), stage(r, "insight")
    ok = np.isfinite(graph)
    d = graph[ok] - ingest[ok]
    assert (d > 0).all()
    assert 0.15 < np.median(d) < 0.25 and 0.35 < np.percentile(d, 95) < 0.6  # 150 ms / 450 ms + up to one tick
    ticks = graph[ok] / 0.05
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)  # handed on at the end of a 50 ms tick
    assert np.percentile(insight[ok] - ingest[ok], 95) < 0.75
    m = np.isfinite(stage(pair[False], "lakehouse"))
    assert np.median(stage(pair[False], "lakehouse")[m] - stage(pair[False], "ingest")[m]) > 30  # micro-batch


def test_the_data_action_follows_in_seconds_instead_of_minutes(pair):
    """A cross-layer number: the time from the intent to the Data Action moves with the path."""
    batch, rt = (pair[k].intent_summary()["time_to_data_action_s"]["p50"] for k in (False, True))
    assert rt < 5 < 60 < batch


def test_resends_are_deduplicated_on_the_graph_too(pair):
    r = pair[True]
    dup = r.counts["graph"]["duplicates_dropped"]
    assert dup > 0 and r.conservation.dropped.get("duplicate", 0) == dup


def test_events_due_after_the_horizon_are_in_flight():
    r = sim.run(DEFAULT, overrides={"horizon": "10m", "realtime.enabled": True,
                                    "realtime.latency": {"median": "2m", "p95": "4m"}}, progress=False, check=False)
    assert r.conservation.ok and r.conservation.in_flight > 0
    graph = r.pipeline.graph
    assert isinstance(graph, RealtimeGraph)
    assert sum(len(ids) for ids in graph.held(r.horizon_s)["click"]) > 0


@pytest.mark.parametrize("field, value, says", [
    ("realtime.tick", "0s", "realtime.tick"),
    ("realtime.tick", "2m", "realtime.tick"),
    ("realtime.latency", {"median": "1s", "p95": "0.5s"}, "p95"),
])
def test_bad_realtime_settings_are_refused(field, value, says):
    with pytest.raises(sim.ScenarioError, match=says):
        sim.run(DEFAULT, overrides={"horizon": "1m", field: value}, progress=False)
