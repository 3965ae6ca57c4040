from pathlib import Path

import pytest

from sim.domain.aep.api import Sandbox, validate_bodies

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "aep"
SEED_FLOW = "8256cfb4-17e6-432c-a469-6aedafb16cd5"
INCR_FLOW = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"
SFMC_FLOW = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"


@pytest.fixture
def sandbox() -> Sandbox:
    """The example sandbox with the three valid example chains created."""
    sb = Sandbox.example()
    result = validate_bodies([EXAMPLES / n for n in ("marketing_automation.json", "hubspot_incremental.json",
                                                     "sfmc_v2.json")], sandbox=sb)
    assert result.ok, result.problems
    return sb
