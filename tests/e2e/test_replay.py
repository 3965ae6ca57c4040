"""``sim insights replay``: firings equal the engine oracle, bad rows with line numbers, identity rules."""

import subprocess

import numpy as np
import pandas as pd

from sim.domain.insight_spec import parse_insight
from tests.domain.test_insights import oracle_measure

HOT = "name: pricing_hot\nfilter: \"page == 'pricing' and country in ('FR', 'DE')\"\nmeasure: count\nthreshold: 3\n" \
      "window: 10m\nwindow_type: sliding\ncooldown: 10m\nallowed_lateness: 1m\n"
BASKET = "name: big_basket\nfilter: \"page == 'checkout'\"\nmeasure: sum:amount\nthreshold: 100\nwindow: 1h\n"


def run(sim_cmd, cwd, *args):
    return subprocess.run([*sim_cmd, "insights", "replay", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def test_replay_equals_the_oracle_on_a_random_log(sim_cmd, tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    t = np.round(np.cumsum(rng.exponential(3.0, n)) - rng.exponential(20.0, n) * (rng.random(n) < 0.1), 3)
    t = np.maximum(t, 0) + 1_767_225_600
    df = pd.DataFrame({"event_time": t, "profile_id": rng.integers(0, 15, n),
                       "page": rng.choice(["pricing", "docs", "checkout"], n),
                       "country": rng.choice(["FR", "DE", "US"], n),
                       "amount": rng.integers(1, 60, n)})
    df.to_csv(tmp_path / "events.csv", index=False)
    (tmp_path / "hot.yaml").write_text(HOT)
    (tmp_path / "basket.yaml").write_text(BASKET)
    r = run(sim_cmd, tmp_path, "--insight", "hot.yaml", "--insight", "basket.yaml", "events.csv", "--out", "f.csv")
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    assert list(got.columns) == ["insight", "group", "fired_at", "window_start", "measure"]
    expected = []
    for text in (HOT, BASKET):
        import yaml
        spec = parse_insight(yaml.safe_load(text))
        d = spec.engine_definition()
        match = spec.compiled_filter.mask({c: df[c].astype(str).to_numpy(dtype=object) for c in df}, n)
        events = list(zip(df.event_time.tolist(), df.profile_id.tolist(), match.tolist(),
                          df.amount.astype(float).tolist()))
        _, fired = oracle_measure(events, d)
        expected += [(i, spec.name, g, ft, ws, m) for i, g, ft, ws, m in fired]
    expected.sort(key=lambda e: (e[0], e[1] != "pricing_hot"))
    assert len(expected) > 10
    assert list(zip(got.insight, got.group, got.fired_at, got.window_start, got.measure)) == \
        [(name, g, ft, ws, m) for _, name, g, ft, ws, m in expected]
    assert "pricing_hot: events read 3,000" in r.stdout and "rejected rows 0" in r.stdout


def test_bad_rows_iso_times_and_a_clear_error(sim_cmd, tmp_path):
    (tmp_path / "hot.yaml").write_text(HOT.replace("window_type: sliding\ncooldown: 10m\n", ""))
    (tmp_path / "ev.csv").write_text(
        "event_time,profile_id,page,country\n"
        "2026-01-01T10:00:00,p1,pricing,FR\n"
        "2026-01-01T11:00:00+01:00,p1,pricing,FR\n"       # = 10:00 UTC
        "soon,p1,pricing,FR\n"                             # line 4
        "2026-01-01T10:01:00Z,,pricing,FR\n"               # line 5: blank group
        "2026-01-01T10:02:00Z,p1,pricing\n"                # line 6: too few fields
        "1767261780,p1,pricing,DE\n")                      # 10:03 UTC, epoch seconds
    r = run(sim_cmd, tmp_path, "--insight", "hot.yaml", "ev.csv", "--out", "f.csv")
    assert r.returncode == 0, r.stderr
    assert "ev.csv:4: event time 'soon' is neither epoch seconds nor ISO 8601" in r.stdout
    assert "ev.csv:5: blank group" in r.stdout
    assert "ev.csv:6: wrong number of fields (got 3, header has 4)" in r.stdout
    got = pd.read_csv(tmp_path / "f.csv")
    assert got.to_dict("records") == [{"insight": "pricing_hot", "group": "p1", "fired_at": 1767261780,
                                       "window_start": 1767261600, "measure": 3}]
    bad = run(sim_cmd, tmp_path, "--insight", "hot.yaml", "ev.csv", "--out", "f.csv", "--time-column", "ts")
    assert bad.returncode == 2 and "no time column 'ts'" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "bad.yaml").write_text("name: x\nthreshold: 3\nwindow: 10m\nfilter: \"page === 'x'\"\n")
    bad = run(sim_cmd, tmp_path, "--insight", "bad.yaml", "ev.csv", "--out", "f.csv")
    assert bad.returncode == 2 and "filter: not a valid expression" in bad.stderr and "^" in bad.stderr


def test_rules_group_events_by_the_resolved_profile(sim_cmd, tmp_path):
    """Two devices of one person count together once an event links a cookie to the e-mail."""
    (tmp_path / "hot.yaml").write_text("name: hot\nfilter: \"page == 'pricing'\"\nthreshold: 3\nwindow: 10m\n"
                                       "window_type: sliding\n")
    (tmp_path / "rules.yaml").write_text("namespaces: {cookie: exact, email: email}\n")
    (tmp_path / "ev.csv").write_text(
        "event_time,cookie,email,page\n"
        "10,c1,,pricing\n"
        "20,c2,,pricing\n"
        "30,c1,Ann@X.io,login\n"
        "40,c2, ann@x.io ,login\n"   # c2's profile merges into c1's (the older)
        "50,c2,,pricing\n"
        "60,,,pricing\n")            # no identifier: rejected
    r = run(sim_cmd, tmp_path, "--insight", "hot.yaml", "ev.csv", "--out", "f.csv", "--rules", "rules.yaml")
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(tmp_path / "f.csv")
    assert got[["fired_at", "measure"]].values.tolist() == [[50, 3]]
    assert "1 unified profiles, 1 merges" in r.stdout
    assert "ev.csv:7: no identifier in the rules' namespace columns" in r.stdout
    by_cookie = run(sim_cmd, tmp_path, "--insight", "hot.yaml", "ev.csv", "--out", "g.csv", "--group-column", "cookie")
    assert by_cookie.returncode == 0
    assert pd.read_csv(tmp_path / "g.csv").empty


def test_fast_and_row_by_row_readers_give_identical_results(tmp_path, monkeypatch):
    import sim.runs.replay as rp
    from sim.domain.insight_spec import parse_insight as parse

    rng = np.random.default_rng(2)
    lines = ["event_time,profile_id,page"]
    for k in range(4000):
        if k % 997 == 0:
            lines.append("")                                       # blank lines are skipped
        t = "later" if k % 613 == 0 else ("" if k % 701 == 0 else f"{1000 + k * 2 + rng.integers(-30, 5)}")
        group = "" if k % 809 == 0 else f"p{rng.integers(0, 12)}"
        lines.append(f"{t},{group},{rng.choice(['pricing', 'docs'])}")
    path = tmp_path / "ev.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    assert rp.regular_structure(path, 3) == [i + 1 for i, text in enumerate(lines) if text == ""]
    spec = [parse({"name": "hot", "filter": "page == 'pricing'", "threshold": 3, "window": "1m",
                   "window_type": "sliding", "allowed_lateness": "10s"})]
    fast = rp.replay(spec, path, tmp_path / "fast.csv", group_column="profile_id", chunk=700)
    monkeypatch.setattr(rp, "regular_structure", lambda *a, **k: None)
    slow = rp.replay(spec, path, tmp_path / "slow.csv", group_column="profile_id", chunk=700)
    assert (tmp_path / "fast.csv").read_text() == (tmp_path / "slow.csv").read_text()
    assert fast.summary().equals(slow.summary()) and fast.insights[0].firings > 20
    assert [str(b) for b in fast.rejected] == [str(b) for b in slow.rejected] and len(fast.rejected) > 10


def test_regular_structure_detects_what_only_the_row_reader_can_report(tmp_path):
    from sim.runs.replay import regular_structure

    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n\n3,4")
    assert regular_structure(p, 2) == [3]
    p.write_text('a,b\n1,"2"\n')
    assert regular_structure(p, 2) is None
    p.write_text("a,b\n1,2\n3\n")
    assert regular_structure(p, 2) is None
    p.write_text("a,b\n1,2\n \n")
    assert regular_structure(p, 2) is None
