"""``sim run`` as a whole process (import, simulation, summary, tables, plots, report.html): simulated
clicks per wall second and peak memory, at growing volume, with and without plots, in overload,
and a hand-written SimPy model of the same pipeline (one process per click) as the reference.

Run by hand:  python benchmarks/bench_sim_run.py [--clicks 1000000 10000000] [--overload] [--reference]

Each case is a fresh process measured by ``/usr/bin/time -v`` (wall seconds, maximum resident set
size). The default scenario's horizon is set so that its traffic (``rate_per_s`` sessions/s of about
5 clicks) makes about the asked clicks. Results go to stdout as a table (paste into README.md).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "b2b_pricing_alert.yaml"


def _pss_bytes(pid: int) -> int:
    """Proportional set size of one process (shared pages split among their sharers)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def _tree_pss_peak(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Sample the summed PSS of ``pid`` and its descendants every 0.25 s (``sim run`` draws its
    figures in a forked child: the machine holds both)."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not done.wait(0.25):
        try:
            pids = [root.pid] + [c.pid for c in root.children(recursive=True)]
        except psutil.Error:
            return
        peak[0] = max(peak[0], sum(_pss_bytes(p) for p in pids))


def timed(cmd: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS of the largest process (MB), stdout, and the peak summed PSS of the
    process tree (MB; 0 where /proc has no smaps_rollup) of a whole process."""
    proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    done, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_tree_pss_peak, args=(proc.pid, done, peak), daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", stderr)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) / 1024
    return h * 3600 + m * 60 + s, rss, stdout, peak[0] / 2**20


def sim_run(clicks: int, rate: float, plots: bool) -> dict:
    horizon = clicks / (rate * 5.0)
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "sim", "run", str(SCENARIO), "--set", f"horizon={horizon:.0f}s",
               "--set", f"visitors.rate_per_s={rate}", "--set", f"catch_within={horizon:.0f}s", "-q",
               "--out", out, "--max-memory", "22GB"] + ([] if plots else ["--no-plots"])
        wall, rss, _, tree = timed(cmd)
        made = json.loads((Path(out) / "summary.json").read_text())["by_kind"]["click"]["conservation"]["created"]
    return {"case": f"sim run{'' if plots else ' --no-plots'}", "clicks": made, "wall_s": wall,
            "clicks_per_s": made / wall, "peak_mb": rss, "tree_mb": tree}


REFERENCE = r'''
import sys, time, simpy, numpy as np
clicks, rate = int(sys.argv[1]), float(sys.argv[2])
rng = np.random.default_rng(1)
env = simpy.Environment()
lakehouse, identity, flow = simpy.Resource(env, 1), simpy.Resource(env, 1), simpy.Resource(env, 1)
profiles, done = {}, [0]
def click(t, person, page):
    yield env.timeout(t - env.now)
    flush = (int(env.now // 180) + 1) * 180.0              # the Ingestion API's 3-minute micro-batch
    yield env.timeout(flush - env.now)
    with lakehouse.request() as r:                         # lakehouse processing
        yield r; yield env.timeout(0.0001)
    with identity.request() as r:                          # identity resolution
        yield r; yield env.timeout(0.0005)
    views = profiles.setdefault(person, [])                # the streaming insight: 3 in 10 minutes
    if page == 2:
        views.append(env.now); views[:] = [v for v in views if v > env.now - 600]
        if len(views) >= 3:
            yield env.timeout(1.0)                         # Data Action -> platform event
            with flow.request() as r:                      # the Flow's Task and bell
                yield r; yield env.timeout(0.1)
    done[0] += 1
times = np.cumsum(rng.exponential(1 / (rate * 5), clicks))
people, pages = rng.integers(0, 52000, clicks), rng.integers(0, 8, clicks)
started = time.perf_counter()
for t, p, g in zip(times.tolist(), people.tolist(), pages.tolist()):
    env.process(click(t, p, g))
env.run()
print(done[0], time.perf_counter() - started)
'''


def reference(clicks: int, rate: float) -> dict:
    wall, rss, out, tree = timed([sys.executable, "-c", REFERENCE, str(clicks), str(rate)])
    made = int(out.split()[0])
    return {"case": "hand-written SimPy (1 process per click)", "clicks": made, "wall_s": wall,
            "clicks_per_s": made / wall, "peak_mb": rss, "tree_mb": tree}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--rate", type=float, default=23.0, help="sessions/s (23: a 10M-click day)")
    ap.add_argument("--overload", action="store_true", help="also offered load twice the ingestion limit")
    ap.add_argument("--reference", type=int, default=200_000, help="clicks for the SimPy reference (0: skip)")
    args = ap.parse_args()
    rows = []
    for n in args.clicks:
        rows.append(sim_run(n, args.rate, plots=True))
        rows.append(sim_run(n, args.rate, plots=False))
    if args.overload:  # 250 requests/s allowed; 100 sessions/s x 5 pages = 500 offered
        for n in args.clicks:  # the target is for the 10M-click day; the smaller runs show the fixed costs
            rows.append({**sim_run(n, 100.0, plots=False), "case": "sim run --no-plots, overload 2x"})
    if args.reference:
        rows.append(reference(args.reference, args.rate))
    print("| case | clicks | wall s | clicks/s | peak MB (largest process) | peak MB (process tree, PSS) |\n"
          "|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['clicks']:,} | {r['wall_s']:.1f} | {r['clicks_per_s']:,.0f} | {r['peak_mb']:,.0f} "
              f"| {r['tree_mb']:,.0f} |")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)")
