"""Every bundled scenario runs (shortened); the README's blocks are run by test_readme.py."""

import os

import pytest

import sim
from tests.conftest import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_runs_short(path):
    result = sim.run(path, overrides={"horizon": "20m"}, check=False)
    assert result.conservation.ok, result.conservation.to_dict()
    assert result.conservation.created > 0
    assert os.path.basename(str(path)).startswith(result.scenario_name)
