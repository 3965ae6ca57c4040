"""Property: whatever insight definition, identity rules file or filter a user writes (valid or
not: random keys, wrong types, non-finite and huge numbers, deep nesting, unicode, NULs, repeated
keys, aliases), ``sim insights replay`` and ``sim identity resolve`` exit 0, or exit 2 with one
``error:`` line and no traceback, within a bounded time."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "50"))
SECONDS = 10  # per case, hard limit (SIGALRM)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

EVENTS = ("event_time,profile_id,page,country,n,amount,email\n"
          + "".join(f"{1767225600 + 40 * i},p{i % 3},{['pricing', 'docs'][i % 2]},{['FR', 'DE', 'US'][i % 3]},"
                    f"{i},{i * 1.5},u{i % 4}@x.org\n" for i in range(30)))
RECORDS = ("rec_id,email,phone,name,surname,updated\n"
           "1,ann@x.org,+61 2 9999 0000,Ann,Lee,2026-01-01\n2,ANN@x.org,,Anne,Lee,2026-01-02\n"
           "3,bob@x.org,0299990000,Bob,Ng,1767225600\n4,,+61299990000,Rob,Ng,\n5,eve@x.org,,Eve,Li,1e300\n")


# ---- values: valid ones and hostile ones -------------------------------------------------------

FIELDS = ["page", "country", "n", "amount", "profile_id", "missing_field"]
CONSTANTS = ["'pricing'", "'FR'", "3", "-2.5", "1e15", "True", "None", "'é\\u00e9'", "0x10"]
ATOM = st.one_of(
    st.builds(lambda f, op, c: f"{f} {op} {c}", st.sampled_from(FIELDS),
              st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), st.sampled_from(CONSTANTS)),
    st.builds(lambda f, neg, cs: f"{f} {'not in' if neg else 'in'} ({', '.join(cs)},)", st.sampled_from(FIELDS),
              st.booleans(), st.lists(st.sampled_from(CONSTANTS), min_size=1, max_size=3)),
    st.sampled_from(FIELDS),
)
VALID_FILTER = st.recursive(ATOM, lambda inner: st.one_of(
    st.builds(lambda a, b, op: f"({a}) {op} ({b})", inner, inner, st.sampled_from(["and", "or"])),
    st.builds(lambda a: f"not ({a})", inner)), max_leaves=6)
HOSTILE_FILTER = st.one_of(
    st.integers(0, 3000).map(lambda k: "not " * k + "page"),
    st.integers(0, 3000).map(lambda k: "(" * k + "page == 'pricing'" + ")" * k),
    st.integers(0, 3000).map(lambda k: "n == " + "-" * k + "1"),
    st.integers(1, 400).map(lambda k: "n == 0x" + "f" * k),
    st.integers(1, 6000).map(lambda k: "n < " + "9" * k),
    st.integers(0, 3000).map(lambda k: "page == '" + "x" * k + "'"),
    st.sampled_from(["n > 1e999", "n == -1e400", "page == 'a\x00b'", "page.upper()", "__import__('os')",
                     "lambda: 1", "[x for x in y]", "page == 'pricing' if n else n", "n ** 2 > 1", "f()" * 3,
                     "page ==", "'unterminated", "page == 'ok'\n", "\u202epage", "page == 'pricing' and"]),
    st.text(alphabet=st.sampled_from(list("pagen()'\"=<>!,.0123456789 notandorin\x00é\u2028\\")), max_size=40),
)
FILTER = st.integers(0, 2).flatmap(lambda k: HOSTILE_FILTER if k == 0 else VALID_FILTER)

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 320),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["\x00", "10m\x00", "é", "1e400", "9" * 400 + "s", "-1m", ".inf", "nan", "", " " * 5]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(0, 200).map(lambda k: _nested(k)),  # noqa: PLW0108 - _nested is defined below
)


def mostly(valid, bad=None):
    """``valid`` four times in five, else a hostile value (one_of would flatten JUNK's branches
    and pick a valid value rarely)."""
    return st.integers(0, 4).flatmap(lambda k: (bad or JUNK) if k == 0 else valid)


def _nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


DURATION = mostly(st.sampled_from(["1m", "10m", "1h", "24h", "90s", 600, 60.0, "0s", "25h", "30s"]))
INSIGHT_VALUES = {
    "name": mostly(st.sampled_from(["hot", "basket", "é-ü"])),
    "filter": mostly(FILTER),
    "measure": mostly(st.sampled_from(["count", "sum:amount", "distinct:country", "sum:", "max:n",
                                          "sum:missing_field"])),
    "threshold": mostly(st.sampled_from([1, 2, 3, 2.5, 0, -1, 1e15, 1e16])),
    "window": DURATION,
    "window_type": mostly(st.sampled_from(["tumbling", "sliding", "hopping"])),
    "cooldown": DURATION,
    "allowed_lateness": DURATION,
    "group_by": mostly(st.sampled_from(["profile_id", "country", "nope"])),
}


@st.composite
def mappings(draw, values: dict, required: list[str], baseline: dict):
    """A valid ``baseline``; or it with one key changed, removed or added; or a random mapping
    with most required keys."""
    mode = draw(st.integers(0, 3))
    if mode == 0:
        return dict(baseline)
    if mode in (1, 2):
        out = dict(baseline)
        key = draw(st.sampled_from(sorted(values)))
        change = draw(st.integers(0, 5))
        if change == 0:
            out.pop(key, None)
        elif change == 1:
            out[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
        else:
            out[key] = draw(values[key])
        return out
    out = {}
    for key, strategy in values.items():
        if (key in required and draw(st.integers(0, 9)) > 0) or draw(st.booleans()):
            out[key] = draw(strategy)
    if draw(st.integers(0, 5)) == 0:
        out[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    return out


@st.composite
def yaml_text(draw, doc):
    """The document as YAML, sometimes damaged: a repeated key, an alias bomb, a stray character,
    a top level that is not a mapping."""
    try:
        text = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False)
    except yaml.YAMLError:
        text = "{}\n"
    damage = draw(st.integers(0, 14))
    if damage == 0 and isinstance(doc, dict) and doc:
        text += f"{next(iter(doc))}: again\n"
    elif damage == 1:
        text = "".join(f"{a}: &{a} [{','.join([f'*{p}' if p else 'x'] * 9)}]\n"
                       for a, p in zip("abcdefghi", ["", *"abcdefgh"])) + text
    elif damage == 2:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\x00", "\t", ":", "- ", "'", "&a", "*a", "!!python/name:os.system",
                                                 "\ufeff", "\x85", "{", "]", "%YAML 9.9\n"])) + text[at:]
    elif damage == 3:
        text = draw(st.sampled_from(["", "- a\n- b\n", "just text\n", "42\n", "~\n", "--- a\n--- b\n"]))
    return text


INSIGHT_BASE = {"name": "hot", "filter": "page == 'pricing' and country in ('FR', 'DE')", "measure": "count",
                "threshold": 2, "window": "10m", "window_type": "sliding", "cooldown": "5m", "group_by": "profile_id"}
INSIGHT_FILES = mappings(INSIGHT_VALUES, ["name", "filter", "threshold", "window"], INSIGHT_BASE).flatmap(yaml_text)

CRITERION = st.fixed_dictionaries(
    {"field": mostly(st.sampled_from(["name", "surname", "email", "phone", "nope"])),
     "method": mostly(st.sampled_from(["exact", "normalized", "fuzzy", "soundex"]))},
    optional={"algorithm": mostly(st.sampled_from(["jaro_winkler", "levenshtein", "token_set", "md5"])),
              "threshold": mostly(st.sampled_from([0.85, 1, 0.5, 0, 1.5])),
              "normalizer": mostly(st.sampled_from(["name", "text", "digits", "phone:AU", "phone:XX", "email"])),
              "match_on_blank": mostly(st.booleans())})
RULE_VALUES = {
    "namespaces": mostly(st.dictionaries(st.sampled_from(["email", "phone", "name", "nope"]),
                                         mostly(st.sampled_from(["email", "phone:AU", "text", "phone:ZZ"])),
                                         max_size=3)),
    "match_rules": mostly(st.lists(st.fixed_dictionaries(
        {"name": mostly(st.sampled_from(["r1", "r2"])), "criteria": st.lists(CRITERION, max_size=3)},
        optional={"blocking": mostly(st.lists(st.lists(st.sampled_from(["surname", "name", "nope"]), max_size=2),
                                                 max_size=2))}), max_size=2)),
    "blocking": mostly(st.lists(st.lists(st.sampled_from(["surname", "email"]), max_size=2), max_size=2)),
    "limits": mostly(st.fixed_dictionaries({}, optional={
        "max_identities": mostly(st.sampled_from([1, 50, 0, None])),
        "on_exceed": mostly(st.sampled_from(["delete_oldest", "refuse", "explode"])),
        "max_per_namespace": mostly(st.dictionaries(st.sampled_from(["email", "phone"]),
                                                       mostly(st.integers(-2, 3)), max_size=2)),
        "max_identities_per_record": mostly(st.sampled_from([1, 20])),
        "max_block_size": mostly(st.sampled_from([2, 1000, 1]))})),
    "reconciliation": mostly(st.fixed_dictionaries({}, optional={
        "updated_field": mostly(st.sampled_from(["updated", "nope"])),
        "default": mostly(st.sampled_from(["last_updated", "most_frequent", "source_priority", "newest"]))})),
}
RULE_BASE = {"namespaces": {"email": "email", "phone": "phone:AU"},
             "match_rules": [{"name": "names", "criteria": [
                 {"field": "name", "method": "fuzzy", "threshold": 0.8, "normalizer": "name"},
                 {"field": "surname", "method": "normalized"}]}],
             "limits": {"max_identities": 50, "max_per_namespace": {"email": 2}},
             "reconciliation": {"updated_field": "updated", "default": "most_frequent"}}
RULE_FILES = mappings(RULE_VALUES, ["namespaces"], RULE_BASE).flatmap(yaml_text)


# ---- running the CLI in-process, with a hard time limit -----------------------------------------

@contextmanager
def time_limit(seconds: int):
    def expired(signum, frame):
        raise TimeoutError(f"a case took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def check(args: list[str]) -> None:
    started = time.perf_counter()
    with time_limit(SECONDS):
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    assert time.perf_counter() - started < SECONDS
    text = result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert result.exception is None
        return
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), text[-2000:])
    assert "Traceback" not in text
    assert isinstance(result.exception, SystemExit) and result.exception.code == 2
    errors = [line for line in text.splitlines() if line.startswith(("error:", "Error:"))]
    assert errors, text[-2000:]


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS)
    (tmp_path / "records.csv").write_text(RECORDS)
    (tmp_path / "ok_rules.yaml").write_text("namespaces: {email: email}\n")
    return tmp_path


@SETTINGS
@given(insight=INSIGHT_FILES, with_rules=st.booleans())
def test_replay_any_insight_file(workdir, insight, with_rules):
    (workdir / "i.yaml").write_text(insight, encoding="utf-8")
    args = ["insights", "replay", "--insight", str(workdir / "i.yaml"), str(workdir / "events.csv"),
            "--out", str(workdir / "f.csv"), "-q"]
    check(args + (["--rules", str(workdir / "ok_rules.yaml")] if with_rules else []))


@SETTINGS
@given(expr=FILTER, sliding=st.booleans())
def test_replay_any_filter(workdir, expr, sliding):
    doc = {"name": "f", "filter": expr, "threshold": 2, "window": "10m",
           "window_type": "sliding" if sliding else "tumbling"}
    (workdir / "i.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    check(["insights", "replay", "--insight", str(workdir / "i.yaml"), str(workdir / "events.csv"),
           "--out", str(workdir / "f.csv"), "-q"])


@SETTINGS
@given(rules=RULE_FILES, command=st.sampled_from(["resolve", "replay"]))
def test_any_rules_file(workdir, rules, command):
    (workdir / "r.yaml").write_text(rules, encoding="utf-8")
    if command == "resolve":
        check(["identity", "resolve", "--rules", str(workdir / "r.yaml"), str(workdir / "records.csv"),
               "--out", str(workdir / "p.csv"), "--profiles-out", str(workdir / "u.csv"), "-q"])
    else:
        (workdir / "i.yaml").write_text("name: hot\nfilter: \"page == 'pricing'\"\nthreshold: 2\nwindow: 10m\n")
        check(["insights", "replay", "--insight", str(workdir / "i.yaml"), str(workdir / "events.csv"),
               "--out", str(workdir / "f.csv"), "--rules", str(workdir / "r.yaml"), "-q"])
