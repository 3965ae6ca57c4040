"""The notebooks and the scenario scripts run end to end (small parameters)."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FIGURE_CALL = re.compile(r"\.plot_\w+\(|\b(percentiles_vs|knee|cdfs|time_to_action)\(")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCRIPTS = sorted((ROOT / "scenarios").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("SIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), "commit notebooks without outputs"
    assert sum(c.cell_type == "markdown" for c in book.cells) >= 3  # the story between the cells
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    drawing = [c for c in book.cells if c.cell_type == "code" and FIGURE_CALL.search(c.source)]
    assert drawing, "every notebook shows at least one figure"
    for cell in drawing:  # a figure shows as a picture, not as "<Figure size 800x500>"
        kinds = {k for o in cell.outputs for k in o.get("data", {})}
        assert "image/png" in kinds, f"no image output for:\n{cell.source}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_scenario_script_runs_tiny(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(path), "--tiny"], cwd=tmp_path, capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip()
