"""Progress bars for long jobs (rich), as callables.

``with progress_counter("resolving", total=n, enabled=True) as advance: advance(5000)`` counts
rows; ``with ProgressBar(enabled, "sweep") as bar: bar(done, failed, total)`` follows experiment
runs. On a terminal they draw a bar; otherwise (a log, a CI job, a pipe) :class:`ProgressLines`
prints one plain line every few seconds (``SIM_PROGRESS_INTERVAL``, default 5 s) to stderr. When
``enabled`` is false (``--quiet``) they do nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def _interval() -> float:
    try:
        return max(float(os.environ.get("SIM_PROGRESS_INTERVAL", "5")), 0.0)
    except ValueError:
        return 5.0


class ProgressLines:
    """Plain progress lines on stderr, at most one every few seconds: what was done, the total,
    the elapsed time and an estimate of the time left."""

    def __init__(self, label: str, total: float | None = None, unit: str = "", stream=None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.every = _interval()
        self.started = self.last = time.perf_counter()

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, done: float, detail: str = "", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        parts = [f"{self.label}:"]
        if self.total:
            share = min(max(done / self.total, 0.0), 1.0)
            parts.append(f"{share:6.1%}")
            if share > 0:
                parts.append(f"ETA {elapsed * (1 - share) / share:,.0f} s")
        if detail:
            parts.append(detail)
        parts.append(f"elapsed {elapsed:,.0f} s")
        print(" ".join(parts), file=self.stream, flush=True)


@contextmanager
def progress_counter(description: str, total: int | None = None, enabled: bool = True,
                     unit: str = "rows") -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    if not sys.stderr.isatty():
        lines = ProgressLines(description, total=total, unit=unit)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            lines.update(done[0], f"{done[0]:,} {unit}")
        yield advance
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.update(task, advance=n)


class ProgressBar:
    """A rich progress bar for experiments: runs done, failed, and the time left."""

    def __init__(self, enabled: bool, description: str = "runs") -> None:
        self.enabled = enabled
        self.description = description
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._lines: ProgressLines | None = None

    def __enter__(self) -> ProgressBar:
        if self.enabled and not sys.stderr.isatty():
            self._lines = ProgressLines(self.description)
        elif self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("failed {task.fields[failed]}"), TimeRemainingColumn(), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=None, failed=0)
        return self

    def __call__(self, done: int, failed: int, total: int) -> None:
        if self._lines is not None:
            self._lines.total = total
            self._lines.update(done + failed, f"runs {done + failed}/{total}, failed {failed}",
                               force=done + failed == total)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done + failed, total=total, failed=failed)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
