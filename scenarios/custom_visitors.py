"""A scenario built in code, with a visitor model of one's own, run as replications.

    python scenarios/custom_visitors.py [--tiny]

Shows the three ways users extend the twin: a scenario written in Python (a dict validated like a
YAML file), a variant derived from it with dotted overrides, and a custom behaviour plugged in as
a class: here a "flash crowd" that sends a burst of Pricing views from many prospects at once.
"""

from __future__ import annotations

import argparse

import numpy as np

import sim
from sim.domain.events import CLICK_FIELDS, LOGIN, PAGE_CODE, PAGE_VIEW


class FlashCrowd:
    """A visitor model: ``burst`` prospects each log in and read Pricing three times, all within
    ``spread`` seconds starting at ``at``. Any object with ``take_until(t)`` can be a visitor model."""

    def __init__(self, ctx, population, burst: int = 200, at: float = 600.0, spread: float = 120.0) -> None:
        rng = ctx.rng("flash_crowd")  # a named stream of the run: reproducible for the seed
        people = rng.choice(population.n_prospects, size=min(burst, population.n_prospects), replace=False)
        start = at + rng.uniform(0, spread, size=len(people))
        rows = []
        for p, t0 in zip(people.tolist(), start.tolist()):
            cookie = int(population.device_start[p])
            rows.append((t0, p, cookie, PAGE_CODE["login"], LOGIN, p))
            rows += [(t0 + 5 + 20 * k, p, cookie, PAGE_CODE["pricing"], PAGE_VIEW, -1) for k in range(3)]
        rows.sort()
        t, person, cookie, page, event, email = (np.array(c) for c in zip(*rows))
        self.cols = {"t": t.astype(float), "event_time": t.astype(float), "person": person, "cookie": cookie,
                     "page": page, "event": event, "email": email, "contact": np.full(len(t), -1),
                     "size_bytes": np.full(len(t), 600)}
        self.cols = {k: v.astype(CLICK_FIELDS.get(k, np.float64)) for k, v in self.cols.items()}
        self.sent = 0

    def take_until(self, t_end: float) -> dict[str, np.ndarray]:
        k = int(np.searchsorted(self.cols["t"], t_end, side="right"))
        out = {c: v[self.sent:k] for c, v in self.cols.items()}
        self.sent = k
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true")
    args = ap.parse_args()
    scenario = {"name": "flash_crowd", "horizon": "40m", "seed": 3,
                "visitors": {"prospects": 500, "anonymous": 1000},
                "data_actions": {"targets": ["platform_event"]},
                "crm": {"flow": {"batch_size": 50}}}
    base = sim.load(scenario)
    slow_flow = sim.load(base, {"crm.flow.owner_lookup": "200ms"})  # a derived variant
    burst = 50 if args.tiny else 400
    p99s = {}
    for name, sc in (("base", base), ("slow owner lookup", slow_flow)):
        runs = [sim.run(sc, seed=s, visitors=lambda ctx, pop: FlashCrowd(ctx, pop, burst=burst))
                for s in range(2 if args.tiny else 10)]
        p99 = p99s[name] = [float(np.percentile(r.latency("click->notification"), 99)) for r in runs]
        bells = [r.counts["crm"]["notifications_sent"] for r in runs]
        print(f"{name}: {len(runs)} runs, {np.mean(bells):.0f} bells per run, p99 click->notification "
              f"{np.mean(p99):.1f} s (runs: {', '.join(f'{x:.1f}' for x in p99)})")
        assert bells == [burst] * len(runs)  # every prospect of the crowd gets exactly one bell
    # the same crowd in every seed's pair of runs: a slower owner lookup delays the bell in each
    assert all(slow > fast for fast, slow in zip(p99s["base"], p99s["slow owner lookup"]))


if __name__ == "__main__":
    main()
