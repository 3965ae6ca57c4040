"""Helper processes that end with the process that started them, and whether one may be forked.

:func:`die_with_parent` (run first in a child) asks the kernel on Linux for SIGKILL when the parent
dies (``prctl(PR_SET_PDEATHSIG)``) and everywhere starts a daemon thread that ends the child when
its parent process changes (checked every :data:`PARENT_POLL_S` seconds). Used by the sweep's
local workers and the children ``sim run`` forks (its web traffic, its figures).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading

PARENT_POLL_S = 0.5
PR_SET_PDEATHSIG = 1


def _parent_gone(parent_pid: int) -> bool:
    return os.getppid() != parent_pid


def _watch_parent(parent_pid: int, interval: float) -> None:
    while True:
        if _parent_gone(parent_pid):
            os._exit(1)
        threading.Event().wait(interval)


def die_with_parent(parent_pid: int, interval: float = PARENT_POLL_S) -> None:
    """Make this (worker) process end when ``parent_pid`` ends: the kernel's parent-death signal
    on Linux, and a watcher thread everywhere (the portable fallback, and a guard for the kernel
    signal's rule that it follows the parent *thread* that forked)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if _parent_gone(parent_pid):  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, interval), name="die-with-parent",
                     daemon=True).start()


def can_fork() -> bool:
    """Whether this process may fork a helper child (Linux-like, and not a daemon process, which
    multiprocessing forbids children)."""
    return ("fork" in multiprocessing.get_all_start_methods() and sys.platform not in ("win32", "darwin")
            and not multiprocessing.current_process().daemon)


def start_shielded(process) -> None:
    """Start a forked ``process`` with SIGINT blocked in the forking thread, which the child
    inherits: a Ctrl-C while the child is still starting (Python's after-fork hooks, before its own
    code) cannot make it print a traceback; the child's target calls :func:`ignore_interrupts`
    first. This process keeps its own handling (its mask is restored after the start)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # POSIX, as fork is
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_interrupts() -> None:
    """In a helper child: ignore SIGINT (a Ctrl-C is the parent's to handle; the child ends with
    it), then unblock it (see :func:`start_shielded`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
