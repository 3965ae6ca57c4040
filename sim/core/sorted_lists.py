"""Time-sorted lists kept in parallel with their items (window state of insights and segments)."""

from __future__ import annotations

import heapq
from typing import overload


@overload
def merge_by_time(times_a: list[float], items_a: list, times_b: list[float], items_b: list
                  ) -> tuple[list[float], list]: ...
@overload
def merge_by_time(times_a: list[float], items_a: list | None, times_b: list[float], items_b: list | None
                  ) -> tuple[list[float], list | None]: ...
def merge_by_time(times_a: list[float], items_a: list | None, times_b: list[float], items_b: list | None
                  ) -> tuple[list[float], list | None]:
    """Stable merge of two time-sorted lists and their parallel items (``None``: no items);
    among equal times, ``a``'s come first."""
    if items_a is None or items_b is None:
        return list(heapq.merge(times_a, times_b)), None
    merged = list(heapq.merge(zip(times_a, items_a), zip(times_b, items_b), key=lambda p: p[0]))
    return [p[0] for p in merged], [p[1] for p in merged]
