"""Ground truth for comparing activation designs: when did a person show intent, and did the
business react in time?

An **intent** is the business event the insight is meant to catch, computed from the true person
behind each click (not from resolved profiles): ``threshold`` matching views by one person within
``window`` (sliding, event time); the intent time ``t`` is the view that completes it, and a
person's next intent needs ``window`` to pass after the previous one (cooldown = window).

What counts is the **reaction** the business sees (the owner's bell, a webhook's acknowledgement,
the final stage of any delivery path), not the Data Action that starts it. The actions *of* an
intent are the actions for the same person taken at or after ``t`` and either at most
``catch_within`` later or before the person's next intent (so a slow action still belongs to the
intent it answers, and one action may answer several intents: a daily segment publish covers all
of the day's intents, one call from the sales rep). Each intent ends in exactly one status:

* ``caught``: the first reaction to one of its actions came at most ``catch_within`` after ``t``;
  ``time_to_action`` is measured to that reaction;
* ``late``: that first reaction came, but later than ``catch_within`` (``time_to_action`` set);
* ``pending``: no reaction by the horizon, and the outcome is still open: a message for it is in
  the pipeline at the horizon (cause ``in_flight``), or nothing is in flight but ``catch_within``
  has not yet elapsed (cause ``not_acted``);
* ``missed``: none of the above; the reason is the fate of its first action (the drop reason of the
  message that carried it, such as ``allocation``, ``flow_error``, ``retention``, ``dead_letter``;
  ``no_notification`` when delivered without a reaction), else ``filtered_no_contact`` when the
  insight fired but the Data Action's rule discarded the firing, else the drop reason of the click
  that completed the intent (``late``, ``rate_limited``, ...), else ``never_fired``.

An intent is **acted** when an action for the person fired within ``catch_within`` of ``t``
(``time_to_data_action``: to the first such action). Boundaries are inclusive: a reaction exactly
``catch_within`` after the intent is caught.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

REACTED, IN_FLIGHT = "reacted", "in_flight"
STATUSES = ("caught", "late", "missed", "pending")
PENDING_CAUSES = ("in_flight", "not_acted")


def find_intents(person: np.ndarray, t: np.ndarray, threshold: int, window_s: float,
                 click: np.ndarray | None = None) -> pd.DataFrame:
    """Intents (``person``, ``t``, ``click``: the completing view's id, −1 if not given) from
    matching views, in time order."""
    person = np.asarray(person)
    click = np.full(len(person), -1, dtype=np.int64) if click is None else np.asarray(click, dtype=np.int64)
    order = np.lexsort((t, person))
    person, t, click = person[order], np.asarray(t, dtype=float)[order], click[order]
    out_p, out_t, out_c = [], [], []
    bounds = np.flatnonzero(np.diff(person)) + 1
    for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [len(person)]))):
        times = t[lo:hi].tolist()
        last = -np.inf
        for j, tj in enumerate(times):
            count = j + 1 - bisect.bisect_right(times, tj - window_s, 0, j + 1)
            if count >= threshold and tj - last >= window_s:
                out_p.append(int(person[lo]))
                out_t.append(tj)
                out_c.append(int(click[lo + j]))
                last = tj
    frame = pd.DataFrame({"person": np.array(out_p, dtype=np.int64), "t": np.array(out_t, dtype=float),
                          "click": np.array(out_c, dtype=np.int64)})
    return frame.sort_values(["t", "person"], kind="stable").reset_index(drop=True)


def _by_person(person: np.ndarray, t: np.ndarray, *cols: np.ndarray) -> dict[int, tuple[list, ...]]:
    """person -> (times ascending, and the other columns in the same order)."""
    order = np.lexsort((t, person))
    person, t = np.asarray(person)[order], np.asarray(t, dtype=float)[order]
    cols = tuple(np.asarray(c)[order] for c in cols)
    out: dict[int, tuple[list, ...]] = {}
    bounds = np.flatnonzero(np.diff(person)) + 1
    for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [len(person)]))):
        if hi > lo:
            out[int(person[lo])] = (t[lo:hi].tolist(), *(c[lo:hi].tolist() for c in cols))
    return out


def _window(times: list[float], t: float, until: float, next_t: float) -> tuple[int, int, int]:
    """Index range of the times that belong to an intent at ``t``: ``lo:hi`` at or after ``t`` and
    (at most ``until`` or before ``next_t``); ``lo:in_time`` the ones at most ``until``."""
    lo = bisect.bisect_left(times, t)
    in_time = bisect.bisect_right(times, until)
    hi = max(in_time, bisect.bisect_left(times, next_t))
    return lo, max(in_time, lo), max(hi, lo)


def classify(intents: pd.DataFrame, actions: pd.DataFrame, firings: pd.DataFrame, catch_within_s: float,
             horizon_s: float) -> pd.DataFrame:
    """Each intent's status and cause (see the module docstring).

    ``intents``: ``person``, ``t``, ``click_fate`` (``delivered``, ``in_flight`` or the drop reason of
    the completing click). ``actions``: ``person``, ``t`` (action time), ``reaction_t`` (NaN when
    none by the horizon) and ``fate`` (``reacted``, ``in_flight`` or why no reaction came).
    ``firings``: ``person``, ``t``, ``filtered`` (discarded by the action rule). Returns
    ``intents`` with ``status``, ``cause``, ``acted``, ``action_t``, ``time_to_data_action``,
    ``reaction_t`` and ``time_to_action`` (seconds; NaN where they do not apply).
    """
    cw = float(catch_within_s)
    acts = _by_person(actions["person"].to_numpy(), actions["t"].to_numpy(),
                      actions["reaction_t"].to_numpy(dtype=float), actions["fate"].to_numpy(dtype=object))
    fil = firings[firings["filtered"].to_numpy(dtype=bool)]
    filtered = _by_person(fil["person"].to_numpy(), fil["t"].to_numpy())
    person = intents["person"].to_numpy()
    t = intents["t"].to_numpy(dtype=float)
    fate_of_click = intents["click_fate"].to_numpy(dtype=object) if "click_fate" in intents else \
        np.full(len(intents), "delivered", dtype=object)
    next_t = np.full(len(intents), math.inf)
    order = np.lexsort((t, person))
    same = person[order][1:] == person[order][:-1]
    next_t[order[:-1][same]] = t[order][1:][same]
    n = len(intents)
    status, cause = np.empty(n, dtype=object), np.full(n, "", dtype=object)
    acted = np.zeros(n, dtype=bool)
    action_t, reaction_t = np.full(n, np.nan), np.full(n, np.nan)
    empty: tuple[list, ...] = ([], [], [])
    for i in range(n):
        ti, until = float(t[i]), float(t[i]) + cw
        times, reacts, fates = acts.get(int(person[i]), empty)
        lo, in_time, hi = _window(times, ti, until, float(next_t[i]))
        if in_time > lo:
            acted[i] = True
            action_t[i] = times[lo]
        r = min((x for x in reacts[lo:hi] if x == x), default=math.nan)
        if r == r:
            reaction_t[i] = r
            status[i] = "caught" if r - ti <= cw else "late"
            continue
        flying = IN_FLIGHT in fates[lo:hi] or fate_of_click[i] == IN_FLIGHT
        if flying or until > horizon_s:
            status[i], cause[i] = "pending", ("in_flight" if flying else "not_acted")
            continue
        status[i] = "missed"
        if hi > lo:
            cause[i] = fates[lo]
            continue
        ftimes = filtered.get(int(person[i]), ([],))[0]
        flo, _, fhi = _window(ftimes, ti, until, float(next_t[i]))
        if fhi > flo:
            cause[i] = "filtered_no_contact"
        elif fate_of_click[i] not in ("delivered", IN_FLIGHT):
            cause[i] = fate_of_click[i]
        else:
            cause[i] = "never_fired"
    out = intents.copy()
    out["status"] = status.astype(str) if n else np.empty(0, dtype=str)
    out["cause"] = cause.astype(str) if n else np.empty(0, dtype=str)
    out["acted"] = acted
    out["action_t"] = action_t
    out["time_to_data_action"] = action_t - t
    out["reaction_t"] = reaction_t
    out["time_to_action"] = reaction_t - t
    return out


def summarize(frame: pd.DataFrame) -> dict:
    """Counts per status (they add up to ``intents``), ``acted``, ``missed_by_reason`` and
    ``pending_by_cause``."""
    status = frame["status"].value_counts()
    missed = frame.loc[frame["status"] == "missed", "cause"].value_counts()
    pending = frame.loc[frame["status"] == "pending", "cause"].value_counts()
    return {"intents": len(frame), **{s: int(status.get(s, 0)) for s in STATUSES},
            "acted": int(frame["acted"].sum()),
            "missed_by_reason": {str(k): int(v) for k, v in sorted(missed.items())},
            "pending_by_cause": {c: int(pending.get(c, 0)) for c in PENDING_CAUSES}}
