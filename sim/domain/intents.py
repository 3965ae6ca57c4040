"""Ground truth for comparing activation designs: when did a person show intent, and when was it
acted on?

An **intent** is the business event the insight is meant to catch, computed from the true person
behind each click (not from resolved profiles): ``threshold`` matching views by one person within
``window`` (sliding, event time); the intent time is the view that completes it, and a person's
next intent needs ``window`` to pass after the previous one (cooldown = window).

An intent is **caught** by the first action for the same person taken at or after the intent time
and at most ``catch_within`` seconds later; its *time to action* is the difference. An intent with
no such action is **missed**. One action may catch several intents of a person (a daily segment
publish covers all of the day's intents: one call from the sales rep).
"""

from __future__ import annotations

import bisect

import numpy as np
import pandas as pd


def find_intents(person: np.ndarray, t: np.ndarray, threshold: int, window_s: float) -> pd.DataFrame:
    """Intents (``person``, ``t``) from matching views, in time order."""
    order = np.lexsort((t, person))
    person, t = np.asarray(person)[order], np.asarray(t, dtype=float)[order]
    out_p, out_t = [], []
    bounds = np.flatnonzero(np.diff(person)) + 1
    for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [len(person)]))):
        times = t[lo:hi].tolist()
        last = -np.inf
        for j, tj in enumerate(times):
            count = j + 1 - bisect.bisect_right(times, tj - window_s, 0, j + 1)
            if count >= threshold and tj - last >= window_s:
                out_p.append(int(person[lo]))
                out_t.append(tj)
                last = tj
    frame = pd.DataFrame({"person": np.array(out_p, dtype=np.int64), "t": np.array(out_t, dtype=float)})
    return frame.sort_values(["t", "person"], kind="stable").reset_index(drop=True)


def match_actions(intents: pd.DataFrame, action_person: np.ndarray, action_t: np.ndarray,
                  catch_within_s: float) -> pd.DataFrame:
    """``intents`` with ``action_t`` (NaN when missed) and ``time_to_action`` in seconds."""
    actions: dict[int, list[float]] = {}
    for p, a in sorted(zip(np.asarray(action_person).tolist(), np.asarray(action_t, dtype=float).tolist())):
        actions.setdefault(p, []).append(a)
    caught = []
    for p, ti in zip(intents["person"].tolist(), intents["t"].tolist()):
        times = actions.get(p, [])
        k = bisect.bisect_left(times, ti)
        caught.append(times[k] if k < len(times) and times[k] - ti <= catch_within_s else np.nan)
    out = intents.copy()
    out["action_t"] = np.array(caught, dtype=float)
    out["time_to_action"] = out["action_t"] - out["t"]
    return out
