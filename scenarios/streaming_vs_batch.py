"""Streaming insight vs batch segments on the same traffic, with replications.

    python scenarios/streaming_vs_batch.py [--tiny] [--plot tta.png]

Runs the variants of scenarios/streaming_vs_batch.yaml for a few seeds (each seed: every variant
sees identical clicks), prints intents caught and missed and time to action per variant with 95 %
confidence intervals, and plots the notification-latency CDFs of one seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sim.experiments.stats import summarize
from sim.report.experiment_plots import cdfs
from sim.results.variants import compare

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--plot", type=Path, default=Path("streaming_vs_batch.png"))
    args = ap.parse_args()
    over = {"horizon": "12h", "catch_within": "6h"} if args.tiny else {}
    seeds = [1, 2] if args.tiny else [1, 2, 3, 4, 5]
    tables, last = [], None
    for seed in seeds:
        table, last = compare(HERE / "streaming_vs_batch.yaml", seed=seed, overrides=over)
        tables.append(table.assign(seed=seed))
    rows = []
    for variant, group in pd.concat(tables).groupby(level=0, sort=False):
        s = summarize(group.to_dict("records"), ["caught", "missed", "tta_p50_s", "tta_p95_s"])
        rows.append({"variant": variant, **{f"{m} mean": s.loc[m, "mean"] for m in s.index},
                     **{f"{m} ±": s.loc[m, "half_width"] for m in s.index}})
    means = pd.DataFrame(rows).set_index("variant")
    print(means.round(1).to_string())
    # what the README concludes, checked on these runs: streaming catches more intents than either batch
    # publish and acts within minutes where batch takes hours; tumbling buckets miss boundary bursts
    streaming, batch = ["streaming_sliding", "streaming_tumbling"], ["batch_12h", "batch_24h"]
    assert means.loc[streaming, "caught mean"].min() > means.loc[batch, "caught mean"].max()
    assert means.loc[streaming, "tta_p50_s mean"].max() < 600 and means.loc[batch, "tta_p50_s mean"].min() > 3600
    assert means.loc["streaming_tumbling", "caught mean"] < means.loc["streaming_sliding", "caught mean"]
    cdfs(last, "click->notification").savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
