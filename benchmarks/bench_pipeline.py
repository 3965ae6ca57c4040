"""Speed of the whole B2B twin at growing volume: simulated clicks per wall-clock second, peak memory.

Run by hand:  python benchmarks/bench_pipeline.py [--clicks 10000 100000 1000000]

Each volume runs in a fresh process (so peak RSS is that run's own); the horizon is scaled so that
the default traffic (rate_per_s sessions/s, ~5 clicks a session) makes about the asked clicks.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "b2b_pricing_alert.yaml"


def one(clicks: int, rate: float) -> dict:
    import sim

    horizon = clicks / (rate * 5.0)
    t0 = time.perf_counter()
    r = sim.run(SCENARIO, seed=1, overrides={"horizon": horizon, "visitors.rate_per_s": rate}, progress=False)
    wall = time.perf_counter() - t0
    made = r.conservation.by_kind["click"]["created"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"clicks": made, "horizon_s": horizon, "wall_s": round(wall, 3), "clicks_per_s": round(made / wall),
            "peak_rss_mb": round(peak_mb), "firings": r.counts["insights"]["firings"],
            "platform_events": r.conservation.by_kind["platform_event"]["created"],
            "p99_click_to_notification_s": r.to_dict()["latency_s"]["click->notification"]["p99"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--rate", type=float, default=20.0, help="sessions/s (default 20: ~100 clicks/s)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.rate)))
        return
    print(f"{'clicks':>10} {'wall s':>8} {'clicks/s':>10} {'peak MB':>8} {'firings':>8} {'p99 e2e s':>10}")
    for n in args.clicks:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--rate", str(args.rate)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['clicks']:>10,} {row['wall_s']:>8.2f} {row['clicks_per_s']:>10,} {row['peak_rss_mb']:>8,} "
              f"{row['firings']:>8,} {row['p99_click_to_notification_s'] or float('nan'):>10.1f}")


if __name__ == "__main__":
    main()
