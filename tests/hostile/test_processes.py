"""A sweep's worker processes end with it, however it ends (SIGKILL, SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
import sim, sys
sim.sweep(sys.argv[1], grid={"visitors.rate_per_s": [1, 2, 3, 4]}, replications=50, executor="local", workers=2,
          overrides={"horizon": "12h"}, store=sys.argv[2])
"""


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0]


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] == pid:
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[1] not in ("Z", "X")  # a zombie has ended


def start_sweep(tmp_path):
    from tests.conftest import DEFAULT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SWEEP, str(DEFAULT), str(tmp_path / "s.duckdb")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = children(proc.pid)
        assert proc.poll() is None, "the sweep ended before its workers started"
    assert len(workers) >= 2, workers
    return proc, workers


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_end_with_a_killed_sweep(tmp_path, sig):
    proc, workers = start_sweep(tmp_path)
    time.sleep(1.0)  # workers busy with a run
    proc.send_signal(sig)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    survivors = [w for w in workers if alive(w)]
    for w in survivors:  # do not leave them behind even when the test fails
        os.kill(w, signal.SIGKILL)
    assert not survivors, f"workers still running after the sweep was killed: {survivors}"


def test_the_watcher_ends_a_process_whose_parent_changed():
    """The portable fallback alone (no kernel signal): a grandchild whose parent exits ends."""
    code = ("import os, sys, time\n"
            "from sim.core import processes\n"
            "processes.sys.platform = 'other'  # the portable path only\n"
            "parent = os.getpid()  # before the fork: the parent may be gone when the child asks\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    processes.die_with_parent(parent, interval=0.05)\n"
            "    time.sleep(30)\n"
            "    os._exit(0)\n"
            "print(pid, flush=True)\n"
            "os._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=30)
    grandchild = int(out.stdout.strip())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and alive(grandchild):
        time.sleep(0.05)
    still = alive(grandchild)
    if still:
        os.kill(grandchild, signal.SIGKILL)
    assert not still

