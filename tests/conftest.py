import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DEFAULT = SCENARIOS / "b2b_pricing_alert.yaml"


@pytest.fixture
def default_scenario() -> Path:
    return DEFAULT


@pytest.fixture
def sim_cmd() -> list[str]:
    return [sys.executable, "-m", "sim"]
