"""A run's size, known before it starts: refuse what the machine cannot hold.

Each system estimates its runs from the scenario (the model knows its rates): the messages it
will create and the memory they need, for the simulation and for the figures drawn from it
(:class:`~sim.systems.base.Estimate`). The limit is the memory this machine has available
(``MemAvailable``) times :data:`USABLE`, or what ``--max-memory`` / ``max_memory=`` gives
(``"16GB"``, ``"512MB"``, or bytes). A run above it is refused with its estimate and the flag that
raises the limit, before anything is simulated.
"""

from __future__ import annotations

import os
import re

from sim.scenario.errors import ScenarioError

USABLE = 0.8  # share of the available memory a run may plan to use
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class RunTooLarge(ScenarioError):
    """A run whose estimated size exceeds the memory limit (exit code 2 on the command line)."""


def parse_size(value: str | int | float, flag: str = "--max-memory") -> float:
    """Bytes from ``16GB``, ``512MB``, ``2GiB`` or a number of bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e18:
        return float(value)
    match = _SIZE.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ScenarioError(f"{flag}: {value!r} is not a size; expected e.g. 16GB, 512MB, 2GiB or bytes")
    return float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()]


def available_bytes() -> float:
    """Memory available to a new run on this machine (Linux ``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def limit_bytes(max_memory: str | int | float | None) -> float:
    return parse_size(max_memory) if max_memory is not None else available_bytes() * USABLE


def human(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def check(estimate, source: str, max_memory: str | int | float | None = None, figures: bool = False,
          copies: int = 1, aggregate=None) -> None:
    """Raise :class:`RunTooLarge` when ``copies`` runs of this size (with their figures, if drawn)
    would not fit the limit. ``aggregate``: the same run's estimate with an aggregate ledger,
    offered as a way out when it fits."""
    need = (estimate.memory_bytes + (estimate.figures_bytes if figures else 0.0)) * copies
    limit = limit_bytes(max_memory)
    if need <= limit:
        return
    what = f"{copies} runs at once, each of {estimate.describe()}, need" if copies > 1 else \
        f"a run of {estimate.describe()} needs"
    allowed = "--max-memory" if max_memory is not None else f"{USABLE:.0%} of the available memory"
    ways = ["shorten the horizon or lower the traffic"]
    if figures and estimate.memory_bytes * copies <= limit:
        ways.append(f"run with --no-plots ({human(estimate.memory_bytes * copies)})")
    lighter = None if aggregate is None else (aggregate.memory_bytes + (aggregate.figures_bytes if figures else 0.0))
    if lighter is not None and lighter * copies <= limit:
        ways.append(f"keep the clicks as aggregates with --ledger aggregate ({human(lighter * copies)})")
    if copies > 1:
        ways.append("use fewer --workers")
    ways.append(f"raise the limit with --max-memory {human(need * 1.1).replace(' ', '').replace(',', '')}")
    raise RunTooLarge(f"{source}: {what} about {human(need)}, and this machine allows {human(limit)} ({allowed}); "
                      f"{', '.join(ways[:-1])}, or {ways[-1]}")


def copies_at_once(executor, workers: int | None) -> int:
    """How many runs an experiment executes at once on this machine (a remote Dask cluster: 1,
    since its workers have memory of their own)."""
    if executor == "serial":
        return 1
    if executor == "local" or executor is None:
        return workers or os.cpu_count() or 1
    if executor == "dask":
        return workers or 1
    return 1
