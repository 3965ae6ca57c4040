import os
import sys
from pathlib import Path

import pytest

if "MUTANT_UNDER_TEST" in os.environ:  # under mutmut (tests/MUTATION.md): no timing, same examples
    from hypothesis import HealthCheck, settings

    settings.register_profile("mutation", deadline=None, derandomize=True, database=None,
                              suppress_health_check=list(HealthCheck))
    settings.load_profile("mutation")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DEFAULT = SCENARIOS / "b2b_pricing_alert.yaml"


@pytest.fixture
def default_scenario() -> Path:
    return DEFAULT


@pytest.fixture
def sim_cmd() -> list[str]:
    return [sys.executable, "-m", "sim"]
