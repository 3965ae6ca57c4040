"""Progress bars for long jobs (rich), as a callable that advances them.

``with progress_counter("resolving", total=n, enabled=True) as advance: advance(5000)``; when
``enabled`` is false (not a terminal, ``--quiet``) the callable does nothing.
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
