"""Where experiment tasks run: in this process, in local worker processes, or on Dask.

Every executor yields results as tasks finish (``run``) and can be stopped early (``close``), so a
sweep writes each run as it arrives and Ctrl-C keeps what finished. The task function is the same
everywhere and runs are seeded by their task, so results do not depend on the executor.

Local worker processes end with the process that started them, however it ends (Ctrl-C, SIGTERM,
SIGKILL, a crash): each worker runs :func:`die_with_parent` first, which on Linux asks the kernel
for SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``) and everywhere starts a daemon
thread that ends the worker when its parent process changes (checked every
:data:`sim.core.processes.PARENT_POLL_S` seconds). Without this a killed sweep leaves its workers (hundreds of MB
each) running for minutes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed

from sim.core.processes import die_with_parent


def worker_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A local process pool whose workers end with this process (see the module docstring)."""
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, initializer=die_with_parent,
                               initargs=(os.getpid(),))


class SerialExecutor:
    """Tasks one after another in this process (debugging, tiny experiments)."""

    name = "serial"

    def run(self, fn: Callable, tasks: Iterable) -> Iterator:
        for task in tasks:
            yield fn(task)

    def close(self, cancel: bool = False) -> None:
        pass


class FuturesExecutor:
    """A :mod:`concurrent.futures` executor: local processes by default, or one you pass."""

    name = "local"

    def __init__(self, workers: int | None = None, executor: Executor | None = None) -> None:
        self.pool = executor or worker_pool(workers)
        self._futures: list = []

    def run(self, fn: Callable, tasks: Iterable) -> Iterator:
        self._futures = [self.pool.submit(fn, t) for t in tasks]
        for future in as_completed(self._futures):
            yield future.result()

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for f in self._futures:
                f.cancel()
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskExecutor:
    """Dask distributed: an existing scheduler (``tcp://host:8786``) or a LocalCluster."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        self._futures: list = []

    def run(self, fn: Callable, tasks: Iterable) -> Iterator:
        from dask.distributed import as_completed as dask_completed

        self._futures = [self.client.submit(fn, t, pure=False) for t in tasks]
        for future in dask_completed(self._futures):
            yield future.result()

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self.client.cancel(self._futures)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(executor: str | Executor | None = "local", workers: int | None = None,
                  scheduler: str | None = None):
    """``"serial"``, ``"local"`` (processes), ``"dask"`` (``scheduler`` or a LocalCluster), or a
    ``concurrent.futures.Executor`` instance."""
    if isinstance(executor, Executor):
        return FuturesExecutor(executor=executor)
    if executor in (None, "local"):
        return SerialExecutor() if workers == 1 else FuturesExecutor(workers)
    if executor == "serial":
        return SerialExecutor()
    if executor == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"unknown executor {executor!r}; allowed: local, dask, serial, or a concurrent.futures.Executor")
