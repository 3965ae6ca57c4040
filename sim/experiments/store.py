"""The results store: a DuckDB file with one row per run, its metrics, and latency histograms.

Tables:

* ``runs``: ``run_id``, ``scenario``, ``scenario_hash``, ``overrides`` (JSON), ``seed``,
  ``replication``, ``warmup_s``, ``status`` (ok | failed), ``error``, ``traceback``, ``wall_s``,
  ``version``, ``finished_at``;
* ``metrics``: ``run_id``, ``name``, ``value`` (names as in :mod:`sim.experiments.metrics`);
* ``histograms``: ``run_id``, ``name`` (latency key), ``bin_lo_s``, ``bin_hi_s``, ``count``;
* ``warnings``: ``run_id``, ``text``: what ``sim run`` would have warned about the run's set-up
  (settings without effect), so that a sweep resumed from the store still says it (a store written
  before this table existed gets it, empty, when it is next opened for writing).

Each run is written in one transaction, so a sweep killed at any moment leaves whole runs only. A
run that is stored with status ok is not run again (resume); a failed one is replaced when it is
run again. A Ctrl-C during a write waits for its commit (DuckDB would otherwise turn the signal into
a "Query interrupted" error, or lose it) and is raised as ``KeyboardInterrupt`` right after.

Opening a file that cannot be a store raises a :class:`StoreError` with one line saying which case
it is: :class:`NotAStoreError` for a file that is not DuckDB at all (or empty, or a directory) and
for a DuckDB file without the store's tables (never written to: another application's data), and
:class:`StoreBusyError` for a store another process holds.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
CREATE TABLE IF NOT EXISTS warnings (run_id VARCHAR, text VARCHAR);
"""


TABLES = {
    "runs": {"run_id", "scenario", "scenario_hash", "overrides", "seed", "replication", "warmup_s", "status", "error",
             "traceback", "wall_s", "version", "finished_at"},
    "metrics": {"run_id", "name", "value"},
    "histograms": {"run_id", "name", "bin_lo_s", "bin_hi_s", "count"},
}
OPTIONAL = {"warnings": {"run_id", "text"}}  # kept since 2026-11-26: checked when present
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


class StoreError(ValueError):
    """A results store that cannot be opened; the message is one line naming the file."""


class StoreBusyError(StoreError, RuntimeError):
    """The store file is locked by another process (a sweep writing to it)."""


class NotAStoreError(StoreError, FileNotFoundError):
    """The file is not a results store: not a DuckDB file, or a DuckDB file without the store's
    tables. (Also a FileNotFoundError: there is no results store at that path.)"""


def check_file(path: str | Path) -> None:
    """Refuse, with one line, a path that exists and cannot hold a DuckDB database (a directory,
    an empty file, a file without DuckDB's header). A missing path is fine (a new store)."""
    path = Path(path)
    if path.is_dir():
        raise NotAStoreError(f"{path}: is a directory, not a results store (a DuckDB file)")
    if not path.exists():
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise NotAStoreError(f"{path}: is an empty file, not a DuckDB file, so not a results store; remove it or "
                             "give another file name")
    if head[8:12] != DUCKDB_MAGIC:
        raise NotAStoreError(f"{path}: not a DuckDB file, so not a results store (give a new file name for a new "
                             "store, or a .duckdb file a sweep wrote)")


def _connect(path: Path, read_only: bool):
    """A DuckDB connection, with errors as one-line StoreErrors."""
    import duckdb

    check_file(path)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        text = " ".join(str(exc).split())
        if "lock" in text.lower():
            holder = ""
            if "PID" in text:
                holder = " (PID " + text.split("PID", 1)[1].strip().split(")")[0].strip() + ")"
            if read_only:
                raise StoreBusyError(f"{path}: cannot be read now; a running sweep holds it{holder} (DuckDB allows "
                                     "one writer and no readers beside it). Try again when the sweep ends.") from None
            raise StoreBusyError(f"{path}: another process holds this store{holder} (a sweep writing to it, or "
                                 "a reader); DuckDB allows one writer at a time. Try again when it ends.") from None
        if "not a valid DuckDB database" in text:
            raise NotAStoreError(f"{path}: not a DuckDB file, so not a results store") from None
        raise StoreError(f"{path}: cannot be opened as a results store ({text})") from None


def _check_tables(con, path: Path, new_ok: bool) -> dict[str, set[str]]:
    """Refuse a DuckDB file whose tables are not the store's (``new_ok``: no table at all is a new
    store); return its tables' columns."""
    rows = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                       "WHERE table_schema = 'main'").fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    if not columns and new_ok:
        return columns
    wrong = [t for t, cols in TABLES.items() if not cols <= columns.get(t, set())]
    wrong += [t for t, cols in OPTIONAL.items() if t in columns and not cols <= columns[t]]
    if wrong:
        found = ", ".join(sorted(columns)) or "none"
        con.close()
        raise NotAStoreError(f"{path}: a DuckDB file but not a sim results store (it lacks the tables or columns "
                             f"of {', '.join(wrong)}; its tables: {found})")
    return columns


class Store:
    """A DuckDB results store (see the module docstring); one writer at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot be created ({exc.strerror or exc})") from None
        self.con = _connect(self.path, read_only=False)
        _check_tables(self.con, self.path, new_ok=True)
        self.con.execute(SCHEMA)

    def done_ids(self) -> set[str]:
        """Run ids stored with status ok."""
        return {r[0] for r in self.con.execute("SELECT run_id FROM runs WHERE status = 'ok'").fetchall()}

    def metrics_of(self, run_ids: list[str]) -> dict[str, dict[str, float]]:
        """The metrics of those of ``run_ids`` stored with status ok."""
        rows, ok_rows = self._for_ids(run_ids, "SELECT m.run_id, m.name, m.value FROM metrics m JOIN runs r "
                                      "USING (run_id) JOIN wanted_ids USING (run_id) WHERE r.status = 'ok'",
                                      "SELECT run_id FROM runs JOIN wanted_ids USING (run_id) WHERE status = 'ok'")
        out: dict[str, dict[str, float]] = {r[0]: {} for r in ok_rows}
        for rid, name, value in rows:
            out[rid][name] = value
        return out

    def warnings_of(self, run_ids: list[str]) -> dict[str, list[str]]:
        """The stored warnings of those of ``run_ids`` that have any, each run's in the order it gave them."""
        (rows,) = self._for_ids(run_ids, "SELECT w.run_id, w.text FROM warnings w JOIN wanted_ids USING (run_id) "
                                         "ORDER BY w.rowid")
        out: dict[str, list[str]] = {}
        for rid, text in rows:
            out.setdefault(rid, []).append(text)
        return out

    def _for_ids(self, run_ids: list[str], *queries: str) -> list[list[tuple]]:
        """The rows of each query, run with ``run_ids`` as the table ``wanted_ids`` (none: no rows)."""
        if not run_ids:
            return [[] for _ in queries]
        self.con.register("wanted_ids", pd.DataFrame({"run_id": run_ids}))
        try:
            return [self.con.execute(q).fetchall() for q in queries]
        finally:
            self.con.unregister("wanted_ids")

    def write(self, run: dict) -> None:
        """Store one task result in a single transaction (replacing a failed attempt); a Ctrl-C
        meanwhile is raised after the commit."""
        with _ctrl_c_after():
            self._write(run)

    def _write(self, run: dict) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            rid = run["run_id"]
            for table in ("metrics", "histograms", "warnings", "runs"):
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
            if run.get("warnings"):
                self._insert("warnings", pd.DataFrame({"run_id": rid, "text": list(run["warnings"])}))
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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def _ctrl_c_after() -> Iterator[None]:
    """Hold SIGINT for the duration of the block, then raise ``KeyboardInterrupt`` if one came."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield  # only the main thread sets handlers; a custom handler is the caller's choice
        return
    came: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if came:
        raise KeyboardInterrupt


def load(path: str | Path) -> dict[str, pd.DataFrame]:
    """The store's tables as DataFrames: ``runs``, ``metrics`` (long), ``histograms``, ``warnings``
    (empty for a store written before it was kept), and ``wide`` (one row per ok run: run columns,
    the overrides expanded, one column per metric)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such results store")
    con = _connect(path, read_only=True)
    kept = "warnings" in _check_tables(con, path, new_ok=False)
    try:
        runs = con.execute("SELECT * FROM runs ORDER BY scenario, overrides, replication").df()
        metrics = con.execute("SELECT * FROM metrics").df()
        histograms = con.execute("SELECT * FROM histograms").df()
        warnings = con.execute("SELECT * FROM warnings ORDER BY rowid").df() if kept else \
            pd.DataFrame({"run_id": pd.Series(dtype=str), "text": pd.Series(dtype=str)})
    finally:
        con.close()
    wide = metrics.pivot_table(index="run_id", columns="name", values="value", aggfunc="first")
    ok = runs[runs["status"] == "ok"].set_index("run_id")
    params = pd.DataFrame([json.loads(o) for o in ok["overrides"]], index=ok.index)
    wide = ok[["scenario", "seed", "replication"]].join(params).join(wide)
    return {"runs": runs, "metrics": metrics, "histograms": histograms, "warnings": warnings,
            "wide": wide.reset_index()}
