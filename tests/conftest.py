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


def assert_intent_statuses(result) -> None:
    """Each intent's status against its definition (README, "Intents"), from the intent's own
    times; the summary's counts add up by construction, so recounting them proves nothing."""
    frame = result.intents()
    cw, h = result.pipeline.scenario.catch_within, result.horizon_s
    tta, status, cause = frame["time_to_action"], frame["status"], frame["cause"]
    reacted = tta.notna()
    assert (tta[reacted] >= 0).all() and (frame.loc[reacted, "reaction_t"] <= h).all()
    assert ((status == "caught") == (reacted & (tta <= cw))).all()  # the boundary counts as caught
    assert ((status == "late") == (reacted & (tta > cw))).all()
    missed, pending = status == "missed", status == "pending"
    assert (cause[missed] != "").all() and set(cause[pending]) <= {"in_flight", "not_acted"}
    assert (frame.loc[pending & (cause == "not_acted"), "t"] + cw > h).all()  # catch_within not elapsed
    assert (frame.loc[missed & (cause == "never_fired"), "t"] + cw <= h).all()  # none can still come
    s = result.intent_summary()
    assert s["intents"] == len(frame) and all(s[k] == int((status == k).sum()) for k in ("caught", "late", "missed"))


# The longest tests first, so that pytest-xdist's workers finish together (a minute-long test picked
# up last would leave the other core idle). Seconds each on the reference machine (2 cores).
LONG_FIRST = ("tests/regression/test_digests.py::test_bundled", "tests/e2e/test_readme.py",
              "tests/e2e/test_notebooks_scripts.py", "tests/dynamics_system", "tests/aep_system",
              "tests/e2e/test_experiments.py", "tests/scenario/test_bad_inputs.py", "tests/regression",
              "tests/e2e/test_exit_codes.py", "tests/e2e/test_outputs.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return next((k for k, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: the order within a rank is kept


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not); Linux's /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def child_dies_with_parent(tmp_path: Path, parent_code: str, timeout: float = 10.0) -> bool:
    """Run ``parent_code`` (Python that prints a child's pid, then is killed outright) and report
    whether that child is gone within ``timeout`` seconds."""
    import subprocess
    import time

    script = tmp_path / "parent.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n" + parent_code
                      + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    child = int(proc.stdout.split()[0])
    deadline = time.monotonic() + timeout
    while process_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(child)

