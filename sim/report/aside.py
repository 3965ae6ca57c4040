"""Figures drawn aside: a forked process renders a run's PNGs while the caller writes the rest.

``sim run`` spends seconds on its figures (queue lengths from the ledger's columns, matplotlib's
layout and PNG encoding) and seconds on ``summary.json`` (percentiles, digest), one after the other
on one core. A forked child shares the finished run's memory copy-on-write, so it needs nothing
sent to it; it draws the figures on the second core and sends back only the PNG bytes (a few
hundred kB). The bytes are the ones the caller would have drawn itself (the same code on the same
data). Where there is no ``fork`` (Windows, macOS's default), or when the child fails or dies, the
caller draws the figures itself, so the result never depends on the shortcut.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable


def _child(render: Callable[[], dict[str, bytes]], conn) -> None:
    try:
        conn.send(render())
    except BaseException:  # the parent draws them itself, and sees the error there
        conn.send(None)
    finally:
        conn.close()


def render_aside(render: Callable[[], dict[str, bytes]]) -> Callable[[], dict[str, bytes]]:
    """Start ``render()`` in a forked process; return a function that waits for its PNGs (by
    file name) and returns them, or calls ``render()`` here if the child could not deliver."""
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin":
        pngs = render()
        return lambda: pngs
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(render, send), name="sim-figures", daemon=True)
    try:
        child.start()
    except OSError:  # no process to spare (memory, process limits): draw here
        receive.close()
        send.close()
        pngs = render()
        return lambda: pngs
    send.close()

    def collect() -> dict[str, bytes]:
        try:
            pngs = receive.recv()
        except (EOFError, OSError):  # the child died (killed, out of memory)
            pngs = None
        finally:
            receive.close()
            child.join()
        return pngs if isinstance(pngs, dict) else render()

    return collect
