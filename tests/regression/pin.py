"""Re-pin the ledger digests of tests/regression/cases.py: ``python -m tests.regression.pin``."""

import json
from pathlib import Path

from tests.regression.cases import cases, digest

PINNED = Path(__file__).with_name("digests.json")

if __name__ == "__main__":
    out = {}
    for name, (scenario, overrides) in cases().items():
        out[name], _ = digest(scenario, overrides)
        print(name, out[name][:16], flush=True)
    PINNED.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINNED}")
