import re
import subprocess

import pytest

from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT


def test_default_scenario_loads_with_overrides():
    sc = load(DEFAULT, {"visitors.rate_per_s": 40, "crm.flow.batch_size": 200, "horizon": "10m"})
    assert sc.visitors.rate_per_s == 40 and sc.crm.flow.batch_size == 200 and sc.horizon == 600.0
    assert sc.event_bus.retention == 72 * 3600  # a default from domain.md


@pytest.mark.parametrize("overrides,expected", [
    ({"visitors.rate_per_sec": 4}, ["visitors.rate_per_sec", "unknown field", "rate_per_s"]),
    ({"visitors.rate_per_s": -1}, ["visitors.rate_per_s", "greater than 0", "-1"]),
    ({"insights.window": "10 mins"}, ["insights.window", "'10 mins' is not a duration", "'10m'"]),
    ({"ingestion.on_429": "queue"}, ["ingestion.on_429", "'queue' is not allowed", "retry, drop"]),
    ({"insights.window": "30s"}, ["insights.window", "greater than or equal to 60"]),
    ({"insights.page": "pricingg"}, ["insights", "pricingg", "pricing"]),
    ({"crm.flow.batch_size": 5000}, ["crm.flow.batch_size", "less than or equal to 2000"]),
])
def test_bad_values_name_the_field_and_what_is_allowed(overrides, expected):
    with pytest.raises(ScenarioError) as info:
        load(DEFAULT, overrides)
    for text in expected:
        assert text in str(info.value)


def test_unknown_keys_in_the_file_are_named_with_the_allowed_ones(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nhorizon: 1h\ncrm:\n  flow:\n    batchsize: 10\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    msg = str(info.value)
    assert "crm.flow.batchsize: unknown field" in msg and "batch_size" in msg and str(path) in msg


def test_missing_horizon_and_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\n")
    with pytest.raises(ScenarioError, match="horizon: required"):
        load(path)
    path.write_text("name: x\nhorizon: [1h\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load(path)


def test_unknown_override_path_lists_the_section_fields():
    with pytest.raises(ScenarioError, match=re.escape("allowed in crm.flow: batch_size")):
        load(DEFAULT, {"crm.flow.size": 3})


def test_cli_exits_2_with_a_message_and_no_traceback(sim_cmd, tmp_path):
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--set", "visitors.rate_per_s=-3", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "visitors.rate_per_s" in proc.stderr and "Traceback" not in proc.stderr
