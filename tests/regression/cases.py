"""The runs whose ledger digests are pinned: every bundled scenario and variant at its own
horizon, plus cases that exercise paths the bundled ones do not (overload of the Ingestion API,
every kind of subscriber with faults). A pinned digest changes only when the model's behaviour
changes on purpose; then re-pin with ``python -m tests.regression.pin`` and say why in the commit.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRA = {
    "overload": ("b2b_pricing_alert.yaml", {"visitors.rate_per_s": 100, "horizon": "10m"}),
    "subscribers": ("b2b_pricing_alert.yaml", {
        "subscribers.apex": [{"name": "Sync", "batch_size": 50, "retryable_rate": 0.2, "partitions": 3},
                             {"name": "Err", "max_runs": 3, "resume_after": "20m", "resume_checkpoint": True}],
        "subscribers.pubsub": [{"name": "Ext", "fetch_size": 10}],
        "event_bus.delivery_allocation_per_day": 300, "horizon": "6h", "visitors.rate_per_s": 4,
        "faults": [{"target": "apex:Err", "kind": "error_rate", "rate": 1.0, "start": "1h", "duration": "1h"},
                   {"target": "pubsub:Ext", "kind": "outage", "start": "2h", "duration": "1h"},
                   {"target": "crm", "kind": "slowdown", "factor": 5, "start": "3h", "duration": "1h"},
                   {"target": "webhooks", "kind": "outage", "start": "4h", "duration": "30m"}]}),
}


def groups() -> dict[str, list[str]]:
    """Case names by scenario file stem (the extra cases each alone)."""
    out: dict[str, list[str]] = {}
    for name in cases():
        out.setdefault(name.split("/")[0], []).append(name)
    return out


def cases() -> dict[str, tuple[object, dict]]:
    """name -> (scenario, overrides): each bundled scenario's variants, then the extra cases."""
    from sim.scenario.load import load, variants

    out: dict[str, tuple[object, dict]] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        base = load(path)
        for name, sc in (variants(base) or {"base": base}).items():
            out[f"{path.stem}/{name}"] = (sc, {})
    for name, (file, overrides) in EXTRA.items():
        out[name] = (ROOT / "scenarios" / file, overrides)
    return out


def digest(scenario, overrides) -> tuple[str, object]:
    import sim

    r = sim.run(scenario, overrides=overrides, progress=False, check=False)
    return r.ledger.digest(r.horizon_s), r
