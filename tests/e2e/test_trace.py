"""Trace-driven runs: a real event log (CSV, JSON Lines, Parquet) drives the twin."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import sim
from sim.actors.data_cloud.trace import TraceLog
from tests.conftest import DEFAULT

T0 = 1_795_500_000


def log_frame() -> pd.DataFrame:
    rows = [(T0 + 7 * k, f"u{k % 17}", ["home", "docs", "pricing", "blog"][k % 4], "") for k in range(200)]
    rows += [(T0 + 2000, "alice", "login", "alice@x.org"), (T0 + 2010, "alice", "pricing", ""),
             (T0 + 2050, "alice", "pricing", ""), (T0 + 2100, "alice", "Pricing", "")]
    return pd.DataFrame(rows, columns=["ts", "uid", "url", "mail"])


MAP = {"time": "ts", "user": "uid", "page": "url", "email": "mail"}


def run(path, **kw):
    trace = TraceLog(path, MAP, **kw)
    return sim.run(DEFAULT, overrides={"horizon": trace.horizon_s()}, visitors=trace, progress=False)


@pytest.fixture
def logs(tmp_path):
    frame = log_frame()
    csv = tmp_path / "log.csv"
    frame.to_csv(csv, index=False)
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text("".join(json.dumps({k: (None if v == "" else v) for k, v in r.items()}) + "\n"
                             for r in frame.to_dict("records")))
    parquet = tmp_path / "log.parquet"
    frame.to_parquet(parquet, index=False)
    return csv, jsonl, parquet


def test_the_three_formats_drive_the_same_run(logs):
    digests = []
    for path in logs:
        r = run(path)
        v = r.counts["visitors"]
        assert v["rows_read"] == 204 and v["rows_rejected"] == 0 and v["clicks_sent"] == 204
        assert r.ledger.table("click").n == 204
        digests.append(r.ledger.digest(r.horizon_s))
    assert len(set(digests)) == 1


def test_the_log_becomes_clicks_logins_and_an_intent(logs):
    r = run(logs[0])
    assert r.horizon_s == pytest.approx(2100.0 + 3600)  # the log's span, + 1 h for the last events
    clicks = r.ledger.stage_times("click", "click", r.horizon_s)
    assert clicks.min() == 0 and clicks.max() == 2100  # the first row is t = 0
    assert r.counts["identity"]["logins"] == 1
    s = r.intent_summary()  # alice (the log's first e-mail: a CRM contact) read Pricing 3 times
    assert s["intents"] == 1 and s["caught"] == 1


def test_speedup_and_copies_scale_the_traffic(logs):
    fast = run(logs[0], speedup=2.0)
    assert fast.horizon_s == pytest.approx(1050.0 + 3600)
    assert fast.ledger.stage_times("click", "click", fast.horizon_s).max() == 1050
    double = run(logs[0], copies=2, shift=600.0)
    v = double.counts["visitors"]
    assert v["rows_read"] == 408 and v["clicks_sent"] == 408 and v["users"] == 36 and v["emails"] == 2
    assert double.horizon_s == pytest.approx(2700.0 + 3600)
    assert double.intent_summary()["intents"] == 2  # each copy's alice is a person of her own


def test_bad_rows_are_reported_with_line_numbers_and_counted(tmp_path, sim_cmd):
    frame = log_frame()
    text = frame.to_csv(index=False).splitlines()
    text += ["notatime,bob,home,", f"{T0 + 2200},,home,", f"{T0 + 100},late,home,"]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n")
    r = run(path, max_disorder=60.0)
    v = r.counts["visitors"]
    assert v["rows_read"] == 207 and v["rows_rejected"] == 3 and v["clicks_sent"] + v["rows_rejected"] == 207
    assert v["rejected_rows"] == [
        f"{path}:206: time 'notatime' is not epoch seconds or ISO 8601 in the years 1970-2200",
        f"{path}:207: no uid (the user)",
        f"{path}:208: out of time order by more than 60 s (see --max-disorder)"]
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--events", str(path), "--map", "time=ts", "--map",
                           "user=uid", "--map", "page=url", "--map", "email=mail", "--max-disorder", "1m",
                           "--out", str(tmp_path / "o"), "--no-plots"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "rejected 3" in proc.stdout and f"rejected {path}:206: time 'notatime'" in proc.stdout
    failing = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--events", str(path), "--map", "time=ts", "--map",
                              "user=uid", "--map", "page=url", "--on-bad-row", "fail", "--out", str(tmp_path / "o")],
                             capture_output=True, text=True)
    assert failing.returncode == 2 and f"{path}:206: time 'notatime'" in failing.stderr


@pytest.mark.parametrize("args, says", [
    (["--map", "time=nope"], "no column for time=nope"),
    (["--map", "colour=url"], "colour is not a mapped name"),
    (["--map", "time"], "expected NAME=COLUMN"),
    (["--speedup", "0"], "not a finite number"),
])
def test_bad_event_options_exit_2(tmp_path, sim_cmd, logs, args, says):
    proc = subprocess.run([*sim_cmd, "run", str(DEFAULT), "--events", str(logs[0]), "--map", "user=uid",
                           "--map", "page=url", *args, "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


def test_an_unknown_format_is_refused(tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_text("x")
    with pytest.raises(Exception, match=r"unknown event log format '\.xlsx'"):
        TraceLog(path, MAP)


def test_a_large_log_is_read_in_chunks(tmp_path):
    n = 30_000
    frame = pd.DataFrame({"ts": T0 + np.arange(n) * 0.5, "uid": [f"u{i % 999}" for i in range(n)],
                          "url": np.where(np.arange(n) % 9 == 0, "pricing", "home"), "mail": ""})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    r = run(path, chunk=1000)
    assert r.counts["visitors"]["clicks_sent"] == n and r.conservation.ok
