"""Sweeps check their LHS ranges up front (every value a sample can take must be valid for the field:
integer ranges reach their ends, float samples stay strictly inside) and pass the runs' warnings on,
each distinct one once."""

import pytest

import sim
from sim.experiments.sweep import SweepResult, check_lhs, lhs_samples
from sim.experiments.tasks import make_task, run_task
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT


@pytest.mark.parametrize("key, lo, hi", [("identity.batch.runs_per_day", 0, 4),
                                         ("visitors.other_email_share", 0.0, 1.0), ("visitors.rate_per_s", 0.5, 3.0)])
def test_an_lhs_range_within_the_bounds_is_accepted(key, lo, hi):
    check_lhs(load(DEFAULT), {key: (lo, hi)})


@pytest.mark.parametrize("key, lo, hi, says", [
    ("identity.batch.runs_per_day", 0, 5, "less than or equal to 4 (got 5)"),
    ("identity.batch.runs_per_day", -1, 4, "greater than or equal to 0 (got -1)"),
    ("visitors.other_email_share", 0.0, 1.0000001, "less than or equal to 1 (got 1.0000001)"),
])
def test_an_lhs_range_past_a_bound_is_refused_naming_it(key, lo, hi, says):
    with pytest.raises(ScenarioError) as info:
        check_lhs(load(DEFAULT), {key: (lo, hi)})
    message = str(info.value)
    assert message.startswith(f"--lhs {key}={lo}:{hi}: {key}: ") and message.endswith(says), message
    assert "\n" not in message


@pytest.mark.parametrize("lo, hi", [(0.0, 5.0), (0, 5.0), (0, 0.5)])
def test_a_float_range_may_end_on_an_exclusive_bound_its_samples_never_reach(lo, hi):
    """rate_per_s must be > 0: a float sample is never exactly 0, so 0:5 is a range a user can ask."""
    check_lhs(load(DEFAULT), {"visitors.rate_per_s": (lo, hi)})
    samples = lhs_samples({"visitors.rate_per_s": (lo, hi)}, 400, seed=3)
    values = [s["visitors.rate_per_s"] for s in samples]
    assert all(isinstance(v, float) and lo < v < hi for v in values)


@pytest.mark.parametrize("key, lo, hi, says", [
    ("visitors.rate_per_s", -1.0, 5.0, "greater than 0 (got -1.0)"),  # the closest float inside is < 0 too
    ("ingestion.max_payload_bytes", 0, 1000, "greater than 0 (got 0)"),  # an integer sample can be 0
])
def test_an_end_past_an_exclusive_bound_is_refused_naming_the_end_written(key, lo, hi, says):
    with pytest.raises(ScenarioError) as info:
        check_lhs(load(DEFAULT), {key: (lo, hi)})
    message = str(info.value)
    assert message.startswith(f"--lhs {key}={lo}:{hi}: {key}: ") and message.endswith(says), message


def test_an_integer_range_on_an_exclusive_bound_is_refused_with_the_way_to_real_numbers():
    """0:5 draws integers, which reach 0; 0.0:5 draws reals, which never do."""
    with pytest.raises(ScenarioError) as info:
        check_lhs(load(DEFAULT), {"visitors.rate_per_s": (0, 5)})
    message = str(info.value)
    assert "greater than 0 (got 0)" in message and message.endswith("for real numbers write 0.0:5.0)"), message
    with pytest.raises(ScenarioError) as info:  # an integer field: no such hint
        check_lhs(load(DEFAULT), {"ingestion.max_payload_bytes": (0, 1000)})
    assert "real numbers" not in str(info.value)


def test_the_command_line_reads_lhs_bounds_as_numbers_not_yaml():
    from sim.cli.experiments import _parse_lhs

    assert _parse_lhs(("visitors.rate_per_s=1e3:2e3",)) == {"visitors.rate_per_s": (1000.0, 2000.0)}
    assert _parse_lhs((" k = 1:20",)) == {"k": (1, 20)} and isinstance(_parse_lhs(("k=1:20",))["k"][0], int)
    assert _parse_lhs(("k=0.0:5",)) == {"k": (0.0, 5)}
    for bad in ("k=1:2:3", "k=2:3:4", "k=nan:5", "k=1:inf", "k=5:1", "k=1", "=1:2", "k=a:b", "k=1:1"):
        with pytest.raises(SystemExit) as info:
            _parse_lhs((bad,))
        assert info.value.code == 2, bad


def test_float_samples_stay_strictly_inside_even_where_scaling_would_round_to_an_end():
    tiny = 5e-324  # no float lies strictly between 0 and the smallest one: the ends are kept
    assert {s["x"] for s in lhs_samples({"x": (0.0, tiny)}, 50, seed=1)} <= {0.0, tiny}
    lo, hi = 1.0, 1.0 + 4 * 2.0**-52  # three floats inside: every sample is one of them
    inside = {1.0 + k * 2.0**-52 for k in (1, 2, 3)}
    assert {s["x"] for s in lhs_samples({"x": (lo, hi)}, 200, seed=2)} <= inside
    ints = [s["n"] for s in lhs_samples({"n": (0, 3)}, 200, seed=2)]
    assert set(ints) == {0, 1, 2, 3} and all(isinstance(v, int) for v in ints)


def test_a_sweep_refuses_the_range_before_running(tmp_path):
    with pytest.raises(ScenarioError, match=r"^--lhs identity\.batch\.runs_per_day=0:5: "):
        sim.sweep(DEFAULT, lhs={"identity.batch.runs_per_day": (0, 5)}, samples=1, replications=1,
                  executor="serial", store=str(tmp_path / "s.duckdb"))
    assert not (tmp_path / "s.duckdb").exists() or (tmp_path / "s.duckdb").stat().st_size < 1_000_000


def test_a_run_task_carries_its_warnings_and_the_sweep_gives_each_once():
    raw = load(DEFAULT).model_dump(mode="json")
    task = make_task(raw, "x", "h", {"horizon": "1m", "ingestion.request_linger": "1s"}, 1, 0, 0.0)
    run = run_task(task)
    assert run["status"] == "ok"
    assert "ingestion.request_linger has no effect with records_per_request 1 (each click is sent at once)" in \
        run["warnings"]
    failed = run_task({**task, "overrides": {"horizon": -1}})
    assert failed["status"] == "failed" and failed["warnings"] == []
    result = SweepResult(runs=[{"warnings": ["b", "a"]}, {"warnings": ["a", "c"]}, {"status": "failed"}])
    assert result.warnings() == ["b", "a", "c"]


def test_a_resumed_sweep_still_gives_the_warnings_of_the_runs_it_reads_back(tmp_path):
    """The store keeps each run's warnings: a second call that runs nothing (every run is in the
    store) gives the same warnings, and sim.results.load shows them per run."""
    store = tmp_path / "s.duckdb"
    kwargs = {"grid": {"ingestion.request_linger": ["1s", "2s"]}, "replications": 1, "executor": "serial",
              "store": str(store), "overrides": {"horizon": "1m", "catch_within": "30s"}}
    first = sim.sweep(DEFAULT, **kwargs)
    again = sim.sweep(DEFAULT, **kwargs)
    assert len(first.runs) == 2 and (again.runs, again.skipped) == ([], 2)
    said = [w for w in first.warnings() if "request_linger has no effect" in w]
    assert len(said) == 1 and again.warnings() == first.warnings()
    tables = sim.results.load(store)
    kept = tables["warnings"]
    for r in first.runs:  # each run's own warnings, in its order
        assert kept.loc[kept["run_id"] == r["run_id"], "text"].tolist() == r["warnings"]
    quiet = sim.sweep(DEFAULT, **{**kwargs, "grid": {"crm.flow.batch_size": [100]}})
    assert quiet.warnings() == []  # a run without warnings stores none, and reads none back


def test_a_store_written_before_warnings_were_kept_still_loads_and_resumes(tmp_path):
    import duckdb

    store = tmp_path / "old.duckdb"
    kwargs = {"grid": {"ingestion.request_linger": ["1s"]}, "replications": 1, "executor": "serial",
              "store": str(store), "overrides": {"horizon": "1m", "catch_within": "30s"}}
    sim.sweep(DEFAULT, **kwargs)
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE warnings")
    con.close()
    assert sim.results.load(store)["warnings"].empty
    again = sim.sweep(DEFAULT, **kwargs)
    assert (again.skipped, again.warnings()) == (1, [])
