"""Figures drawn aside: a forked process renders a run's PNGs (and computes its ledger's digest)
while the caller writes the rest.

``sim run`` spends seconds on its figures (queue lengths from the ledger's columns, matplotlib's
layout and PNG encoding) and seconds on ``summary.json`` (percentiles, digest), one after the other
on one core. A forked child shares the finished run's memory copy-on-write, so it needs nothing
sent to it; it draws the figures on the second core and sends back only the PNG bytes (a few
hundred kB) and the digest. Both are what the caller would have made itself (the same code on the
same data). Where there is no ``fork`` (Windows, macOS's default), inside a daemon process (a
pool's worker may not have children), or when the child fails or dies, the caller makes them
itself, so the result never depends on the shortcut. The child dies with its parent, and a caller
that stops waiting (an error, Ctrl-C) ends it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Generic, TypeVar

from sim.core.processes import can_fork, die_with_parent, ignore_interrupts, start_shielded

JOIN_S = 5.0  # how long a child that has sent its figures may take to exit before it is ended
T = TypeVar("T")


def _child(render: Callable[[], object], conn, parent_end, parent_pid: int) -> None:
    ignore_interrupts()  # a Ctrl-C is the parent's to handle: it ends this child
    parent_end.close()  # the parent's end: without this copy, the child sees the parent go
    die_with_parent(parent_pid)
    try:
        conn.send((render(),))  # in a tuple: None means the child failed
    except BaseException:  # the parent draws them itself, and sees the error there
        try:
            conn.send(None)
        except BaseException:
            pass
    finally:
        conn.close()


class Aside(Generic[T]):
    """``render()`` started in a forked process: :meth:`collect` waits for what it returns (its
    PNGs), or calls it here if the child could not deliver; :meth:`cancel` ends the child. Use as a
    context manager: leaving the block without collecting ends the child."""

    def __init__(self, render: Callable[[], T]) -> None:
        self.render = render
        self.child = None
        if not can_fork():
            return
        ctx = multiprocessing.get_context("fork")
        self.receive, send = ctx.Pipe(duplex=False)
        try:
            self.child = ctx.Process(target=_child, args=(render, send, self.receive, os.getpid()),
                                     name="sim-figures", daemon=True)
            start_shielded(self.child)
        except (OSError, AssertionError):  # no process to spare, or not allowed one: draw here
            self.child = None
            self.receive.close()
        finally:
            send.close()

    def collect(self) -> T:
        if self.child is None:
            return self.render()
        try:
            reply = self.receive.recv()
        except (EOFError, OSError):  # the child died (killed, out of memory)
            reply = None
        finally:
            self.cancel()
        return reply[0] if isinstance(reply, tuple) else self.render()

    def cancel(self) -> None:
        """End the child (idempotent)."""
        child, self.child = self.child, None
        if child is None:
            return
        self.receive.close()
        child.join(JOIN_S)
        if child.is_alive():
            child.kill()
            child.join()
        child.close()

    def __enter__(self) -> Aside[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()
