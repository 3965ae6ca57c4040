"""The Dynamics domain is pure logic: no module of it imports simpy, actors or scenarios."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sim" / "domain" / "dynamics"
FORBIDDEN = ("simpy", "sim.actors", "sim.scenario", "sim.runs.runner", "sim.experiments", "sim.systems")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_timing_or_wiring_imports(path):
    bad = [n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []


def test_the_scan_sees_the_modules():
    assert {p.name for p in PACKAGE.glob("*.py")} >= {"dataverse.py", "triggers.py", "journeys.py", "engine.py"}
    assert "sim.domain.filters" in _imports(PACKAGE / "journeys.py")
