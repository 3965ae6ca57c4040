"""Executable documentation: the README's Python example runs, and every bundled scenario runs."""

import os
import re

import pytest

import sim
from tests.conftest import ROOT, SCENARIOS


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README lost its Python example"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").symlink_to(SCENARIOS)
    (tmp_path / "out").mkdir()
    code = blocks[0].replace('"visitors.rate_per_s": 4', '"visitors.rate_per_s": 1, "horizon": "20m"')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "out" / "summary.json").exists() and (tmp_path / "out" / "queues.png").exists()
    assert namespace["result"].conservation.ok


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_runs_short(path):
    result = sim.run(path, overrides={"horizon": "20m"})
    assert result.conservation.ok
    assert result.conservation.created > 0
    assert os.path.basename(str(path)).startswith(result.scenario_name)
