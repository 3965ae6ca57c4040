"""Results stores: a file that is not DuckDB, a DuckDB file without the store's tables, and a store
another process holds are three different one-line errors; a sweep refuses a bad store before it
runs anything."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

import sim
from sim.experiments.store import NotAStoreError, Store, StoreBusyError, StoreError, load
from tests.conftest import DEFAULT
from tests.hostile.conftest import assert_refused, invoke


@pytest.fixture
def files(tmp_path):
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"hello, this is not a database\n" * 100)
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
    con.close()
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    return {"garbage": garbage, "empty": empty, "other": other, "folder": folder}


EXPECTED = {"garbage": "not a DuckDB file", "empty": "is an empty file, not a DuckDB file",
            "other": "a DuckDB file but not a sim results store", "folder": "is a directory"}


@pytest.mark.parametrize("kind", list(EXPECTED))
@pytest.mark.parametrize("opener", [Store, load], ids=["write", "read"])
def test_each_case_is_one_line(files, kind, opener):
    before = files[kind].read_bytes() if files[kind].is_file() else None
    with pytest.raises(NotAStoreError) as info:
        opener(files[kind])
    message = str(info.value)
    assert message.startswith(str(files[kind])) and EXPECTED[kind] in message and "\n" not in message
    assert "running sweep" not in message
    if before is not None:
        assert files[kind].read_bytes() == before  # nothing written into someone else's file
    assert isinstance(info.value, StoreError) and isinstance(info.value, ValueError)


def test_other_tables_are_named(files):
    with pytest.raises(NotAStoreError, match=r"its tables: customers"):
        load(files["other"])


def test_a_new_store_and_an_existing_store_still_open(tmp_path):
    path = tmp_path / "sub" / "new.duckdb"
    Store(path).close()
    Store(path).close()
    assert set(load(path)) == {"runs", "metrics", "histograms", "warnings", "wide"}


def test_a_store_held_by_another_process_is_busy(tmp_path):
    path = tmp_path / "busy.duckdb"
    Store(path).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError, match="a running sweep holds it"):
            load(path)
        with pytest.raises(StoreBusyError, match="another process holds this store"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("kind", ["garbage", "empty", "other"])
def test_cli_results_says_what_the_file_is(files, kind):
    line = assert_refused(invoke("results", files[kind]), str(files[kind]), EXPECTED[kind])
    assert "running sweep" not in line


def test_sweep_refuses_a_bad_store_before_loading_or_running(files, tmp_path):
    with pytest.raises(NotAStoreError, match="not a DuckDB file"):
        sim.sweep(tmp_path / "no-such-scenario.yaml", grid={"visitors.rate_per_s": [1]}, store=files["garbage"])
    with pytest.raises(NotAStoreError, match="not a sim results store"):
        sim.sweep(DEFAULT, grid={"visitors.rate_per_s": [1]}, replications=1, executor="serial",
                  overrides={"horizon": "1m"}, store=files["other"])
    con = duckdb.connect(str(files["other"]), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()] == ["customers"]
    con.close()


@pytest.mark.parametrize("kind", ["garbage", "other"])
def test_cli_sweep_refuses_a_bad_store(files, kind):
    r = invoke("sweep", DEFAULT, "--grid", "visitors.rate_per_s=1", "--replications", "1", "--set", "horizon=1m",
               "--executor", "serial", "--store", files[kind], "-q")
    assert_refused(r, str(files[kind]), EXPECTED[kind])
    assert "variants x" not in r.output


def test_a_store_with_a_foreign_warnings_table_is_refused_in_one_line(tmp_path):
    import duckdb

    path = tmp_path / "s.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE warnings")
    con.execute("CREATE TABLE warnings (code INTEGER)")
    con.close()
    for open_it in (load, Store):
        with pytest.raises(NotAStoreError, match=r"lacks the tables or columns of warnings;"):
            open_it(path)
