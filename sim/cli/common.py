"""What the command groups share: ``--set`` parsing, running a simulation with the project's
exit codes, and checking an output directory before any work is done.

Exit codes: 0 done; 1 a check failed or an internal error; 2 bad input (one line per problem,
naming the file or flag, the field, the value and what is allowed); 3 conservation violated;
130 interrupted.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from sim.scenario.errors import Overrides, ScenarioError


class FiniteFloat(click.ParamType):
    """A finite number in ``(low, high]`` (``nan`` and ``inf`` are refused, unlike click.FloatRange)."""

    name = "number"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or not self.low < number <= self.high:
            self.fail(f"{value!r} is not a finite number in ({self.low:g}, {self.high:g}]", param, ctx)
        return number


SEED = click.IntRange(min=0, max=2**63 - 1)
COUNT = click.IntRange(min=1, max=100_000)
WORKERS = click.IntRange(min=1, max=256)


def parse_sets(pairs: tuple[str, ...]) -> Overrides:
    """``--set key=value`` pairs as dotted overrides (values read as YAML scalars)."""
    from sim.scenario.load import parse_override_value

    overrides = Overrides(source="--set")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--set {pair!r}: expected key=value, e.g. visitors.rate_per_s=40")
        overrides[key.strip()] = parse_override_value(value)
    return overrides


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit (2: the user's input)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def simulate(fn, *args, **kwargs):
    """Call a simulation; a bad scenario exits with code 2, a conservation failure with code 3."""
    from sim.core.ledger import ConservationError
    from sim.io.csvrows import BadInputError

    try:
        return fn(*args, **kwargs)
    except (ScenarioError, BadInputError) as exc:
        fail(str(exc))
    except ConservationError as exc:
        fail(str(exc), 3)


def writable_dir(path: Path, flag: str) -> None:
    """Create ``path`` if needed and check it is a writable directory, before any work is done;
    exit 2 with one line naming ``flag`` otherwise."""
    problem = None
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            problem = "is not writable"
    except FileExistsError:
        problem = "exists and is not a directory"
    except NotADirectoryError:
        problem = "lies under a file, not a directory"
    except OSError as exc:
        problem = f"cannot be created ({exc.strerror or exc})"
    if problem:
        fail(f"{flag} {path}: {problem}; give a directory that can be written")


def check_size(scenario, overrides, max_memory, figures: bool = False, copies: int = 1, **options) -> None:
    """Refuse (exit 2, with the estimate and the flag that raises the limit) a run that would not
    fit the machine, before anything is simulated."""
    from sim.runs import budget
    from sim.scenario.load import load
    from sim.systems import get

    sc = load(scenario, overrides)
    system = get(sc.system)
    lighter = system.estimate(sc, **{**options, "ledger": "aggregate"}) \
        if system.aggregate_kinds and options.get("ledger", "full") == "full" and copies == 1 else None
    budget.check(system.estimate(sc, **options), str(scenario), max_memory, figures=figures, copies=copies,
                 aggregate=lighter)
