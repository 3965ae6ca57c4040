"""Ctrl-C while the store writes a run: the run is committed whole, then KeyboardInterrupt (DuckDB
alone turns a SIGINT during a query into a 'Query interrupted' error, or loses it)."""

import os
import signal
import sys
import threading

import pytest

from sim.experiments.store import Store, load


def run(i: int) -> dict:
    return {"run_id": f"r{i}", "scenario_name": "s", "scenario_hash": "h", "overrides": {}, "seed": 1,
            "replication": i, "warmup_s": 0.0, "status": "ok", "error": None, "traceback": None, "wall_s": 0.1,
            "version": "t", "metrics": {f"m{k}": float(k) for k in range(50)},
            "histograms": [("x", float(k), float(k + 1), k) for k in range(50)]}


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill SIGINT")
@pytest.mark.parametrize("delay_ms", [1, 2, 3, 5, 8])
def test_a_sigint_during_writes_is_a_keyboard_interrupt_after_a_whole_run(tmp_path, delay_ms):
    path = tmp_path / "s.duckdb"
    written = 0
    with Store(path) as db:
        timer = threading.Timer(delay_ms / 1000, os.kill, (os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            timer.start()  # inside: on a loaded machine the signal may come before the first write
            for i in range(100_000):
                db.write(run(i))
                written += 1
        timer.join()
    tables = load(path)
    assert len(tables["runs"]) in (written, written + 1)  # the run being written when it came is whole
    assert len(tables["metrics"]) == 50 * len(tables["runs"]) and len(tables["histograms"]) == 50 * len(tables["runs"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
