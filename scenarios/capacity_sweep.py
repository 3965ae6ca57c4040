"""Capacity planning: at what offered load does p99 click -> notification break the SLO, and does
the Flow's batch size change that?

    python scenarios/capacity_sweep.py [--tiny] [--store runs.duckdb] [--slo 300] [--workers 2]

Loads the bundled B2B scenario, sweeps the visitor rate and the Flow batch size with replications
on common random numbers into a DuckDB store (re-running skips what is stored), prints the
comparison and the highest load meeting the SLO, and saves a plot of the percentiles with CI bands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim
from sim.report.experiment_plots import percentiles_vs

HERE = Path(__file__).resolve().parent
KEY = "latency_s.click->notification"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="seconds instead of minutes (used by the tests)")
    ap.add_argument("--store", type=Path, default=Path("capacity.duckdb"))
    ap.add_argument("--slo", type=float, default=300.0, help="p99 click->notification target (s)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--plot", type=Path, default=Path("capacity.png"))
    args = ap.parse_args()

    rates = [1, 4] if args.tiny else [1, 2, 5, 10, 20]
    grid = {"visitors.rate_per_s": rates, "crm.flow.batch_size": [200, 2000]}
    result = sim.sweep(HERE / "b2b_pricing_alert.yaml", grid=grid, replications=2 if args.tiny else 5,
                       overrides={"horizon": "30m" if args.tiny else "4h"}, warmup="5m" if args.tiny else "30m",
                       store=args.store, workers=args.workers, seed=1)
    print(f"{len(result.runs)} runs now, {result.skipped} already stored, {len(result.failed)} failed")
    table = sim.results.compare(args.store, "b2b_pricing_alert")
    print(table[["visitors.rate_per_s", "crm.flow.batch_size", "runs", f"{KEY}.p99", f"{KEY}.p99±"]].to_string())
    ok = table[table[f"{KEY}.p99"] + table[f"{KEY}.p99±"].fillna(0) <= args.slo]
    best = ok["visitors.rate_per_s"].max() if len(ok) else None
    print(f"highest rate with p99 (upper CI) <= {args.slo:g} s: {best} sessions/s")
    # what notebook 02 concludes, checked on this sweep: p99 is the Ingestion API's 3-minute
    # micro-batch plus seconds at every load swept, and the Flow's batch size changes nothing
    swept = table[table["visitors.rate_per_s"].isin(rates)]
    assert (swept[f"{KEY}.p99"] < 180 + 30).all()
    if args.slo >= 180 + 30:
        assert best == max(rates)  # every load swept meets such an SLO: the limit lies beyond the sweep
    by_size = {size: t.drop(columns="crm.flow.batch_size").set_index("visitors.rate_per_s")
               for size, t in swept.groupby("crm.flow.batch_size")}
    assert by_size[200].equals(by_size[2000])
    percentiles_vs(table, "visitors.rate_per_s", KEY, slo_s=args.slo).savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
