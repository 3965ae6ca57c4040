"""The results store: a DuckDB file with one row per run, its metrics, and latency histograms.

Tables:

* ``runs``: ``run_id``, ``scenario``, ``scenario_hash``, ``overrides`` (JSON), ``seed``,
  ``replication``, ``warmup_s``, ``status`` (ok | failed), ``error``, ``traceback``, ``wall_s``,
  ``version``, ``finished_at``;
* ``metrics``: ``run_id``, ``name``, ``value`` (names as in :mod:`sim.experiments.metrics`);
* ``histograms``: ``run_id``, ``name`` (latency key), ``bin_lo_s``, ``bin_hi_s``, ``count``.

Each run is written in one transaction, so a sweep killed at any moment leaves whole runs only. A
run that is stored with status ok is not run again (resume); a failed one is replaced when it is
run again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, scenario VARCHAR, scenario_hash VARCHAR, overrides VARCHAR, seed UBIGINT,
    replication INTEGER, warmup_s DOUBLE, status VARCHAR, error VARCHAR, traceback VARCHAR, wall_s DOUBLE,
    version VARCHAR, finished_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, name VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS histograms (run_id VARCHAR, name VARCHAR, bin_lo_s DOUBLE, bin_hi_s DOUBLE,
    count BIGINT);
"""


class StoreBusyError(RuntimeError):
    """The store file is locked by another process (a sweep writing to it)."""


class Store:
    """A DuckDB results store (see the module docstring); one writer at a time."""

    def __init__(self, path: str | Path) -> None:
        import duckdb

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path))
        self.con.execute(SCHEMA)

    def done_ids(self) -> set[str]:
        """Run ids stored with status ok."""
        return {r[0] for r in self.con.execute("SELECT run_id FROM runs WHERE status = 'ok'").fetchall()}

    def metrics_of(self, run_ids: list[str]) -> dict[str, dict[str, float]]:
        """The metrics of those of ``run_ids`` stored with status ok."""
        if not run_ids:
            return {}
        self.con.register("wanted_ids", pd.DataFrame({"run_id": run_ids}))
        try:
            rows = self.con.execute("SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r USING (run_id) "
                                    "JOIN wanted_ids USING (run_id) WHERE r.status = 'ok'").fetchall()
            ok = {r[0] for r in self.con.execute("SELECT run_id FROM runs JOIN wanted_ids USING (run_id) "
                                                 "WHERE status = 'ok'").fetchall()}
        finally:
            self.con.unregister("wanted_ids")
        out: dict[str, dict[str, float]] = {rid: {} for rid in ok}
        for rid, name, value in rows:
            out[rid][name] = value
        return out

    def write(self, run: dict) -> None:
        """Store one task result in a single transaction (replacing a failed attempt)."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            rid = run["run_id"]
            for table in ("metrics", "histograms", "runs"):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [rid])
            con.execute("INSERT INTO runs (run_id, scenario, scenario_hash, overrides, seed, replication, warmup_s,"
                        " status, error, traceback, wall_s, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [rid, run["scenario_name"], run["scenario_hash"], json.dumps(run["overrides"], sort_keys=True),
                         run["seed"], run["replication"], run["warmup_s"], run["status"], run["error"],
                         run["traceback"], run["wall_s"], run["version"]])
            if run["metrics"]:
                self._insert("metrics", pd.DataFrame({"run_id": rid, "name": list(run["metrics"]),
                                                      "value": list(run["metrics"].values())}))
            if run["histograms"]:
                frame = pd.DataFrame(run["histograms"], columns=["name", "bin_lo_s", "bin_hi_s", "count"])
                frame.insert(0, "run_id", rid)
                self._insert("histograms", frame)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("incoming", frame)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
        finally:
            self.con.unregister("incoming")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load(path: str | Path) -> dict[str, pd.DataFrame]:
    """The store's tables as DataFrames: ``runs``, ``metrics`` (long), ``histograms``, and ``wide``
    (one row per ok run: run columns, the overrides expanded, one column per metric)."""
    import duckdb

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such results store")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise StoreBusyError(f"{path}: cannot be read now; a running sweep holds it (DuckDB allows one writer "
                             f"and no readers beside it). Try again when the sweep ends. ({exc})") from None
    try:
        runs = con.execute("SELECT * FROM runs ORDER BY scenario, overrides, replication").df()
        metrics = con.execute("SELECT * FROM metrics").df()
        histograms = con.execute("SELECT * FROM histograms").df()
    finally:
        con.close()
    wide = metrics.pivot_table(index="run_id", columns="name", values="value", aggfunc="first")
    ok = runs[runs["status"] == "ok"].set_index("run_id")
    params = pd.DataFrame([json.loads(o) for o in ok["overrides"]], index=ok.index)
    wide = ok[["scenario", "seed", "replication"]].join(params).join(wide)
    return {"runs": runs, "metrics": metrics, "histograms": histograms, "wide": wide.reset_index()}
