"""Wall-clock time of the whole process, for "wrote ... (N s wall)" lines."""

from __future__ import annotations

import os
import time

_IMPORTED = time.perf_counter()


def process_wall_s() -> float:
    """Seconds since this process started (interpreter start-up and imports included). Read from
    ``/proc`` on Linux; elsewhere, since this module was first imported."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - int(fields[19]) / ticks, 0.0)
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED
