"""The exact line a user reads for each kind of scenario mistake: the dotted path (through
sections, list items and map keys), what was wrong, and what is allowed there."""

import pytest
import yaml

import sim
from sim.scenario.errors import ScenarioError

BASE = {"name": "t", "horizon": "1m"}
APEX_FIELDS = ("name, batch_size, batch_overhead, per_event, service_cv, retryable_rate, retry_delay, "
               "retry_delay_max, max_runs, resume_after, resume_checkpoint, partitions, partition_key")
CASES = [
    ({"crm": {"flow": {"batchsize": 5}}},
     "crm.flow.batchsize: unknown field; allowed here: batch_size, concurrency, batch_overhead, owner_lookup, "
     "task_insert, notification, service_cv"),
    ({"insights": {"window_type": "hopping"}},
     "insights.window_type: 'hopping' is not allowed; allowed: sliding, tumbling"),
    ({"subscribers": {"apex": [{"name": "A", "nme": 1}]}},
     f"subscribers.apex.0.nme: unknown field; allowed here: {APEX_FIELDS}"),
    ({"faults": [{"target": "crm", "kind": "explode", "start": "1m", "duration": "1m"}]},
     "faults.0.kind: 'explode' is not allowed; allowed: outage, error_rate, slowdown, allocation_cut"),
    ({"visitors": {"lifecycle_shares": {"new": "x"}}},
     "visitors.lifecycle_shares.new: Input should be a valid number, unable to parse string as a number "
     "(got 'x')"),
    ({"visitors": {"rate_per_s": "fast"}},
     "visitors.rate_per_s: Input should be a valid number, unable to parse string as a number (got 'fast')"),
    ({"visitors": {"rate_per_s": "5"}},  # a quoted number is text in YAML; pydantic would have taken it
     "visitors.rate_per_s: expected a number, not text (a number in quotes is text in YAML: write it without "
     "quotes) (got '5')"),
    ({"ingestion": {"burst": " 4 "}},
     "ingestion.burst: expected a number, not text (a number in quotes is text in YAML: write it without "
     "quotes) (got ' 4 ')"),
    ({"visitors": {"daily_profile": [1.0] * 23 + ["1.5"]}},
     "visitors.daily_profile: expected numbers, not text: item 23 is '1.5' (a number in quotes is text in YAML: "
     "write it without quotes)"),
    ({"visitors": {"lifecycle_shares": {"new": "0.5"}}},
     "visitors.lifecycle_shares: expected numbers, not text: 'new' is '0.5' (a number in quotes is text in YAML: "
     "write it without quotes)"),
    ({"seed": "7"},
     "seed: expected a number, not text (a number in quotes is text in YAML: write it without quotes) (got '7')"),
    ({"realtime": {"enabled": "maybe"}},
     "realtime.enabled: Input should be a valid boolean, unable to interpret input (got 'maybe')"),
]


@pytest.mark.parametrize("doc, line", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_each_mistake_is_one_exact_line(tmp_path, doc, line):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**BASE, **doc}))
    with pytest.raises(ScenarioError) as err:
        sim.load(path)
    assert str(err.value) == f"{path}: {line}"


def test_numbers_written_as_numbers_and_text_parsed_by_a_field_are_still_taken(tmp_path):
    """The quoted-number rule does not reach durations ('90' is refused for its missing unit, '90s'
    taken), text fields, or numbers written plainly (1e3 included, which YAML 1.1 reads as text)."""
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nhorizon: '2h'\nseed: 7\nvisitors: {rate_per_s: 1e1, lifecycle_shares: {new: 0.5}}\n"
                    "ingestion: {flush_interval: '90s', burst: 4}\n")
    sc = sim.load(path)
    assert (sc.horizon, sc.seed, sc.visitors.rate_per_s, sc.ingestion.flush_interval, sc.ingestion.burst) == \
        (7200.0, 7, 10.0, 90.0, 4)


def test_missing_required_fields_and_an_unknown_section_each_get_their_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"visitorz": {}}))
    with pytest.raises(ScenarioError) as err:
        sim.load(path)
    lines = str(err.value).splitlines()
    assert lines[:2] == [f"{path}: name: required field is missing", f"{path}: horizon: required field is missing"]
    assert lines[2].startswith(f"{path}: visitorz: unknown field; allowed here: system, name, description, horizon,")
    assert "realtime" in lines[2] and len(lines) == 3
