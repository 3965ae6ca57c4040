"""Helpers for the hostile-input tests: run a CLI command in-process and check the promise
(exit code 0, or 2 with one line naming the problem, never a traceback)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sim.cli import main


def invoke(*args: str):
    """Run ``sim ARGS`` in-process; returns the click Result (exceptions are caught, not raised)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def assert_refused(result, *needles: str) -> str:
    """Exit code 2, no traceback, the error on one line that contains each of ``needles``."""
    text = result.output
    assert result.exit_code == 2, (result.exit_code, text, result.exception)
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert errors, text
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def events_csv(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_time,profile_id,page\n1767225600,p1,pricing\n1767225660,p1,pricing\n"
                    "1767225720,p1,pricing\n")
    return path
