"""Executable documentation: every ```bash and ```python block of README.md runs, in the order
of the README, in one temporary directory holding links to ``scenarios/`` and ``examples/``.

A block that is an illustration, not meant to run, is marked in the README with an HTML comment
``<!-- not run: reason -->`` right before it; any other block is picked up automatically, so a
new command in the README is tested (or this test fails until it knows how to check it).

Shortened, through documented options only: ``--set horizon=...`` on every simulating command,
fewer ``--replications`` / ``--samples`` / ``--max-replications``; in Python the same through
``overrides=`` and ``replications=``. The environment set-up steps of a command chain (creating
and activating a virtual environment, ``pip install``) are skipped: the suite runs inside that
environment.

Each command must exit with 0, write the files it names (``--out``, ``--json``, ``--store``,
``--profiles-out``, ``--csv``), and print what the README says it prints (a key phrase per
command, below).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.main import main
from tests.conftest import ROOT

README = ROOT / "README.md"
BLOCK = re.compile(r"(?:<!--\s*not run:(?P<why>[^>]*?)-->[ \t]*\n[ \t]*)?```(?P<lang>bash|python)\n(?P<body>.*?)```",
                   re.S)
SETUP = (("python3.11", "-m", "venv"), (".",), ("pip",))  # environment set-up steps of a command chain
HORIZON = {  # per scenario: long enough for the command to show what the README says, short enough
    "b2b_pricing_alert": "5m", "streaming_vs_batch": "1h", "support_survey_on_resolved_case": "30m",
    "hubspot_contacts_dataflow": "30m"}
SWEEP_HORIZON = {"b2b_pricing_alert": "1m"}  # a grid up to 100 sessions/s
WITH_WARMUP = "40m"  # the README's --warmup 30m needs a longer horizon


@dataclass
class Block:
    lang: str
    body: str
    line: int
    not_run: str | None


def blocks() -> list[Block]:
    text = README.read_text()
    return [Block(m["lang"], m["body"], text.count("\n", 0, m.start("body")) + 1,
                  m["why"].strip() if m["why"] is not None else None) for m in BLOCK.finditer(text)]


def commands(body: str) -> list[list[str]]:
    """The commands of a bash block: continuations joined, comments dropped, ``&&`` chains split,
    optional ``[...]`` synopsis parts dropped."""
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        chain: list[str] = []
        optional = False
        for token in [*shlex.split(line, comments=True), "&&"]:
            if token.startswith("[") or optional:  # [--flag value]: an optional part of a synopsis
                optional = not token.endswith("]")
            elif token == "&&":
                if chain:
                    out.append(chain)
                chain = []
            else:
                chain.append(token)
    return out


def _flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def shorten(args: list[str]) -> list[str]:
    """A ``sim`` command shortened through its documented options."""
    args = list(args)
    sub = args[0]
    # sim validate: 10 replications of its 200,000 customers
    caps = {"run": 2, "sweep": 1, "validate": 10, "calibrate": 2}
    for flag, cap in (("--replications", caps.get(sub, 1)), ("--samples", 2), ("--max-replications", 3)):
        if flag in args:
            k = args.index(flag) + 1
            args[k] = str(min(int(args[k]), cap))
    if sub in ("run", "compare", "sweep"):
        scenario = Path(args[1]).stem
        horizon = WITH_WARMUP if "--warmup" in args else \
            SWEEP_HORIZON.get(scenario, HORIZON[scenario]) if sub == "sweep" else HORIZON[scenario]
        args += ["--set", f"horizon={horizon}"]
        if sub == "sweep" and "--replications" not in args:
            args += ["--replications", "1"]
        if sub == "run" and "--until-precision" in args and "--max-replications" not in args:
            args += ["--max-replications", "3"]
    if sub == "validate" and "--replications" not in args:
        # half the replications; not --quick, whose runs of 20,000 customers are short enough at
        # rho 0.9 for one of the 16 rows to miss theory (it exits 1 at the default seed)
        args += ["--replications", "10"]
    return args


def expect(args: list[str], output: str, cwd: Path) -> None:
    """What the README says each command does, checked on its output and files."""
    sub = args[0]
    out_dir = cwd / (_flag(args, "--out") or "out")
    for flag in ("--json", "--store", "--profiles-out", "--csv"):
        if _flag(args, flag):
            assert (cwd / _flag(args, flag)).is_file(), f"{flag} {_flag(args, flag)} was not written"
    if sub == "run" and "--replications" not in args and "--until-precision" not in args:
        assert (out_dir / "summary.json").is_file() and (out_dir / "report.html").is_file()
        assert json.loads((out_dir / "summary.json").read_text())["conservation"]["ok"] is True
        assert "conservation ok" in output and "wrote" in output
        if "--events" in args:  # trace-driven: every row of the example log read, none rejected
            visitors = json.loads((out_dir / "summary.json").read_text())["counts"]["visitors"]
            assert visitors["rows_read"] == 271 and visitors["rows_rejected"] == 0, visitors
    elif sub == "run":  # replications: mean and 95 % CI per metric
        data = json.loads((out_dir / "replications.json").read_text())
        assert data["replications"] >= 2 and all("ci_low" in m for m in data["metrics"].values())
    elif sub == "validate":
        rows = json.loads((cwd / _flag(args, "--json")).read_text())
        assert {r["model"] for r in rows} == {"M/M/1", "M/M/c", "M/D/1", "tandem"} and all(r["ok"] for r in rows)
    elif sub == "compare":
        import sim

        variants = sim.load(cwd / args[1]).variants
        assert variants and all(name in output for name in variants), output
        if _flag(args, "--out"):
            assert set(variants) <= set(pd.read_csv(cwd / _flag(args, "--out"), index_col=0).index)
    elif sub == "sweep":
        assert "variants x" in output and " 0 failed" in output, output
    elif sub == "results":
        assert "runs" in output and "±" in output, output
    elif sub == "insights":  # the README: "with examples/pricing_hot.yaml it gives 5 firings"
        firings = pd.read_csv(cwd / _flag(args, "--out"))
        assert len(firings) == 5 and set(firings["insight"]) == {"pricing_hot"}
        events = pd.read_csv(cwd / "examples" / "pricing_events.csv")  # "271 page views of 40 profiles"
        assert len(events) == 271 and events["profile_id"].nunique() == 40
    elif sub == "identity":
        profiles = pd.read_csv(cwd / _flag(args, "--out"))
        assert len(profiles) == 5000 and profiles["profile_id"].nunique() < 5000  # duplicates were linked
        assert "rec-552-org" in output and "rec-552-dup-3" in output
    elif sub == "fit":  # the example's post->ack is log-normal (median 0.35 s): the best fit, written in
        import sim

        assert "post->ack" in output and "lognorm" in output, output
        latency = sim.load(cwd / _flag(args, "--out")).webhooks.endpoint.latency
        assert 0.3 < latency.median < 0.4, latency
        assert (cwd / _flag(args, "--plots") / "qq_post_to_ack.png").is_file()
    elif sub == "calibrate":  # one row per published figure, every default inside its envelope
        from sim.runs.calibrate import FIGURES

        table = pd.read_csv(cwd / _flag(args, "--out"))
        assert list(table.columns[:6]) == ["figure", "published", "twin", "ci_low", "ci_high", "inside"]
        assert len(table) == len(FIGURES) and table["inside"].all(), table[["figure", "twin", "ci_low", "ci_high"]]
    elif sub == "aep":
        assert "POST /flows -> " in output and "problem" not in output, output  # each object and its id
    else:
        raise AssertionError(f"README command 'sim {sub}': say in expect() what its output must show")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in ("scenarios", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def run_bash(block: Block, cwd: Path) -> list[str]:
    ran = []
    for cmd in commands(block.body):
        if any(tuple(cmd[: len(s)]) == s for s in SETUP):
            continue
        where = f"README.md line {block.line}: {shlex.join(cmd)}"
        if cmd[0] == "sim":
            args = shorten(cmd[1:])
            r = CliRunner().invoke(main, args, catch_exceptions=False)
            assert r.exit_code == 0, f"{where}\n{r.output}"
            expect(args, r.output, cwd)
        elif cmd[:2] == ["python", "-c"]:
            proc = subprocess.run([sys.executable, *cmd[1:]], cwd=cwd, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{where}\n{proc.stderr}"
        else:
            raise AssertionError(f"{where}: no way to run this; teach test_readme.py, or mark the block "
                                 "<!-- not run: reason -->")
        ran.append(cmd[1] if cmd[0] == "sim" else cmd[0])
    return ran


def run_python(block: Block, namespace: dict, monkeypatch) -> str:
    import sim

    run, replicate, sweep = sim.run, sim.replicate, sim.sweep

    def short(kwargs, horizon="5m"):
        return {**kwargs, "overrides": {**(kwargs.get("overrides") or {}), "horizon": horizon}}

    stdout = io.StringIO()
    # shortened for this block only (later CLI commands, such as sim calibrate, call sim.run too)
    with monkeypatch.context() as m, contextlib.redirect_stdout(stdout):
        m.setattr(sim, "run", lambda *a, **k: run(*a, **short(k)))
        m.setattr(sim, "replicate", lambda *a, **k: replicate(*a, **short({**k, "replications": 2}, WITH_WARMUP)))
        m.setattr(sim, "sweep", lambda *a, **k: sweep(*a, **short({**k, "replications": 1}, "1m")))
        exec(compile(block.body, f"README.md line {block.line}", "exec"), namespace)  # one namespace: a session
    return stdout.getvalue()


def test_every_block_is_run_or_marked():
    found = blocks()
    assert sum(b.lang == "python" for b in found) >= 2 and sum(b.lang == "bash" for b in found) >= 8
    for b in found:
        assert b.not_run is None or len(b.not_run) > 10, f"README.md line {b.line}: say why it is not run"
    assert commands("a x \\\n  y [--z 1] && b # c\n") == [["a", "x", "y"], ["b"]]


def test_readme_bash_blocks_run(workdir):
    """The shell blocks, in README order (a later command may read what an earlier one wrote)."""
    ran: list[str] = []
    for block in blocks():
        if block.not_run is None and block.lang == "bash":
            ran += run_bash(block, workdir)
    for command in ("run", "compare", "sweep", "results", "validate", "insights", "identity", "aep", "fit",
                    "calibrate"):
        assert command in ran, f"no README block ran 'sim {command}'"


def test_readme_python_blocks_run(workdir, monkeypatch):
    """The Python blocks, in README order, in one namespace (as a reader's session)."""
    namespace: dict = {}
    ran: list[str] = []
    for block in blocks():
        if block.not_run is None and block.lang == "python":
            printed = run_python(block, namespace, monkeypatch)
            ran.append("python")
            if "sim.run(" in block.body:
                assert {"summary.json", "report.html", "queues.png"} <= {p.name for p in (workdir / "out").iterdir()}
                assert "p50" in printed and "'created'" in printed  # the latency row and the conservation dict
                c = namespace["result"].conservation
                assert c.ok and c.created == c.delivered + sum(c.dropped.values()) + c.in_flight
            if "sim.sweep(" in block.body:
                assert set(namespace["tables"]) >= {"runs", "metrics", "histograms", "wide"}
                assert len(namespace["tables"]["runs"].drop_duplicates("overrides")) >= 6  # the grid's 6 variants
    assert ran.count("python") >= 2
