"""Progress bars for long jobs (rich), as callables.

``with progress_counter("resolving", total=n, enabled=True) as advance: advance(5000)`` counts
rows; ``with ProgressBar(enabled, "sweep") as bar: bar(done, failed, total)`` follows experiment
runs. When ``enabled`` is false (not a terminal, ``--quiet``) both do nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_counter(description: str, total: int | None = None, enabled: bool = True,
                     unit: str = "rows") -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

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
        self._bar = None
        self._task = None

    def __enter__(self) -> "ProgressBar":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("failed {task.fields[failed]}"), TimeRemainingColumn(), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=None, failed=0)
        return self

    def __call__(self, done: int, failed: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done + failed, total=total, failed=failed)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
