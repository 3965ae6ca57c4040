"""Property: whatever scenario document or ``sim run`` flags a user writes (fields from the
schema with valid and hostile values, unknown keys, damaged YAML), ``sim run`` exits 0, or exits 2
with ``error:`` lines and no traceback, within a bounded time. Runs are kept small by
``--max-memory``: anything larger is refused by the size estimate, which is part of the promise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.test_property_inputs import JUNK, SETTINGS, check, mostly, yaml_text

SMALL = ["--max-memory", "250MB", "--no-plots", "-q"]
DURATION = mostly(st.sampled_from(["1m", "10m", "30m", 600, "0s", "2h", "1d", "500ms"]))
NUMBER = mostly(st.sampled_from([0, 1, 2, 3.5, 0.5, 100, 2000, 1e6, -1, 1e300]))
SHARE = mostly(st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, -0.1]))
PATHS = {  # dotted path -> values: a slice of every section of the data_cloud model
    "horizon": mostly(st.sampled_from(["10m", "20m", 300, "1h"])),
    "start": mostly(st.sampled_from(["2026-11-27T00:00:00Z", "2026-11-27", "1969-12-31T00:00:00Z", "9999-01-01"])),
    "seed": mostly(st.sampled_from([0, 1, 2**62, -1, 2**64])),
    "catch_within": DURATION,
    "visitors.rate_per_s": NUMBER,
    "visitors.prospects": NUMBER,
    "visitors.anonymous": NUMBER,
    "visitors.hot_share": SHARE,
    "visitors.pages_per_session": NUMBER,
    "visitors.think_time": DURATION,
    "visitors.lifecycle_shares": mostly(st.sampled_from([{"new": 1.0}, {"a": 0.2, "b": 0.8}, {}, {"new": 0}])),
    "visitors.daily_profile": mostly(st.sampled_from([[1.0] * 24, [0.0] * 24, [1.0] * 23, [2.0] * 24])),
    "ingestion.rate_limit_per_s": NUMBER,
    "ingestion.flush_interval": DURATION,
    "ingestion.on_429": mostly(st.sampled_from(["retry", "drop", "queue"])),
    "ingestion.retry.max_attempts": NUMBER,
    "lakehouse.processors": NUMBER,
    "identity.max_identities": mostly(st.sampled_from([2, 50, 1, None])),
    "identity.link_namespaces": mostly(st.sampled_from([["email"], ["contact_id", "email"], ["cookie"], []])),
    "insights.threshold": NUMBER,
    "insights.window": DURATION,
    "insights.window_type": mostly(st.sampled_from(["sliding", "tumbling", "hopping"])),
    "insights.filter": mostly(st.sampled_from(["", "page == 'pricing'", "page in ('pricing', 'docs')",
                                               "not " * 2000 + "page", "country == 'FR'", "page =="])),
    "insights.measure": mostly(st.sampled_from(["count", "distinct:page", "sum:page"])),
    "data_actions.targets": mostly(st.sampled_from([["platform_event"], ["webhook"], [], ["email"]])),
    "data_actions.triggers": mostly(st.sampled_from([["insight"], ["segment"], ["insight", "segment"]])),
    "event_bus.publish_allocation_per_hour": NUMBER,
    "event_bus.on_limit_exceeded": mostly(st.sampled_from(["drop", "retry", "queue"])),
    "event_bus.retention": DURATION,
    "crm.flow.batch_size": NUMBER,
    "crm.flow.concurrency": NUMBER,
    "webhooks.signing_key": mostly(st.sampled_from(["k", None, 12345, ""])),
    "webhooks.retry_schedule": mostly(st.sampled_from([[0, 5], [], [0] * 200, ["1m", "-1s"]])),
    "segmentation.segments": mostly(st.sampled_from([[], [{"name": "s", "refresh": "1h"}], [{"refresh": "2h"}]])),
    "subscribers.apex": mostly(st.sampled_from([[], [{"name": "A"}], [{"name": "A"}, {"name": "A"}], [{}]])),
    "faults": mostly(st.sampled_from([[], [{"target": "crm", "kind": "outage", "start": 0, "duration": "5m"}],
                                      [{"target": "moon", "kind": "outage", "start": 0, "duration": "5m"}],
                                      [{"target": "crm", "kind": "slowdown", "start": 0, "duration": "5m"}]])),
    "variants": mostly(st.sampled_from([{}, {"v": {"crm.flow.batch_size": 10}}, {"v": {"nope": 1}}, {"v": 3}])),
}


def nest(flat: dict) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else node
        node[last] = value
    return out


@st.composite
def scenario_docs(draw):
    keys = draw(st.lists(st.sampled_from(sorted(PATHS)), max_size=6, unique=True))
    flat = {"name": "prop", "horizon": "10m", **{k: draw(PATHS[k]) for k in keys}}
    if draw(st.integers(0, 6)) == 0:
        flat[draw(st.sampled_from(["visitors.rate_per_sec", "nope", "crm.flows"]))] = draw(JUNK)
    return nest(flat)


SCENARIO_FILES = scenario_docs().flatmap(yaml_text)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@SETTINGS
@given(text=SCENARIO_FILES)
def test_any_scenario_file_runs_or_is_refused_cleanly(workdir, text):
    path = workdir / "scenario.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if isinstance(text, str) else path.write_bytes(text)
    check(["run", str(path), *SMALL, "--out", str(workdir / "out")])


FLAGS = st.lists(st.one_of(
    st.tuples(st.just("--seed"), st.sampled_from(["1", "-3", str(2**64), "x", "1e3"])),
    st.tuples(st.just("--set"), st.sampled_from(["horizon=5m", "horizon=", "=3", "horizon", "a.b.c=1",
                                                 "visitors.rate_per_s=.inf", "visitors=[1]", "seed=" + "9" * 5000,
                                                 "variants={a: {b: [[[[[1]]]]]}}"])),
    st.tuples(st.just("--warmup"), st.sampled_from(["1m", "-1m", "ten", "1e400"])),
    st.tuples(st.just("--replications"), st.sampled_from(["2", "1", "0", "x"])),
    st.tuples(st.just("--until-precision"), st.sampled_from(["0.5", "nan", "-1", "inf"])),
    st.tuples(st.just("--workers"), st.sampled_from(["1", "0", "99999"])),
    st.tuples(st.just("--max-memory"), st.sampled_from(["1MB", "lots", "-5GB", "0"])),
), max_size=4)


@SETTINGS
@given(flags=FLAGS)
def test_any_run_flags_run_or_are_refused_cleanly(workdir, flags):
    from tests.conftest import DEFAULT

    args = ["run", str(DEFAULT), "--set", "horizon=5m", *SMALL, "--out", str(workdir / "out"), "--workers", "1",
            "--max-replications", "4"]
    for flag, value in flags:
        args += [flag, value]
    check(args)
