"""The aep_dataflows scenario model: bodies inline or by path, errors that name the field, and the
size estimate."""

from __future__ import annotations

import copy
import json

import pytest

from sim.runs import budget
from sim.runs.runner import run
from sim.scenario.load import ScenarioError, load
from sim.systems import get as get_system
from tests.aep_system.conftest import EXAMPLES, HUBSPOT_FLOW, hubspot


def test_bodies_inline_equal_bodies_by_path():
    by_path = hubspot(horizon="2h")
    inline = copy.deepcopy(by_path)
    inline["bodies"] = [json.loads((EXAMPLES / "hubspot_incremental.json").read_text())]
    a, b = run(by_path, progress=False), run(inline, progress=False)
    assert a.ledger.digest(a.horizon_s) == b.ledger.digest(b.horizon_s)


def test_the_digest_follows_the_bodies_content(tmp_path):
    chain = json.loads((EXAMPLES / "hubspot_incremental.json").read_text())
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain))
    sc = hubspot()
    sc["bodies"] = [str(path)]
    first = load(sc).digest()
    chain[-1]["body"]["name"] = "renamed"
    path.write_text(json.dumps(chain))
    assert load(sc).digest() != first


@pytest.mark.parametrize("change, message", [
    (lambda sc: sc["sources"][0].update(flow="nope"), "sources[0].flow: 'nope' is not a dataflow of bodies"),
    (lambda sc: sc["sources"][0]["columns"].update(Nope="email"), "sources[0].columns.Nope: not a field"),
    (lambda sc: sc["sources"][0]["columns"].update(Vid="guess"), "sources.0.columns.Vid"),
    (lambda sc: sc.update(bodies=["missing.json"]), "bodies[0]: missing.json: no such file"),
    (lambda sc: sc["api"].update(page_size=10**6), "api.page_size"),
    (lambda sc: sc["sources"][0]["changes"].update(per_hour=1e12), "sources.0.changes.per_hour"),
    (lambda sc: sc.update(segments=[{"name": "s", "condition": "loyalty.tier = 'x'"}]), "segments.0"),
    (lambda sc: sc["scheduler"].update(on_overlap="queue"), "scheduler.on_overlap"),
    (lambda sc: sc.update(profile={"merge_policy": "dataset_precedence"}), "profile.dataset_order"),
    (lambda sc: sc["sources"][0].update(columns={"Properties_Email_Value": "email"}, changes={"bad_value_share": 0.1}),
     "sources[0].changes.bad_value_share: needs a mapped column that is not a string"),
    (lambda sc: sc.update(schedule={"frequency": "minute", "interval": 10}),
     "scheduleParams.interval: 10 is below the minimum 15 for frequency 'minute'"),
])
def test_errors_name_the_field(change, message):
    sc = hubspot()
    change(sc)
    with pytest.raises(ScenarioError) as err:
        load(sc)
    assert message in str(err.value)


def test_the_v1_marketing_cloud_source_is_refused_with_its_retirement(tmp_path):
    v1 = json.loads((EXAMPLES / "broken" / "sfmc_v1_connection.json").read_text())
    sc = hubspot()
    sc["bodies"].append(v1)
    with pytest.raises(ScenarioError) as err:
        load(sc)
    assert "retired in January 2026" in str(err.value) and "bodies[1]" in str(err.value)


def test_strict_refuses_the_seeds_string_interval():
    sc = hubspot()
    sc["bodies"] = [str(EXAMPLES / "marketing_automation.json")]
    sc["sources"][0].update(flow="8256cfb4-17e6-432c-a469-6aedafb16cd5", columns={})
    assert any("'30' was read as the integer 30" in n for n in load(sc).notes)
    with pytest.raises(ScenarioError) as err:
        load({**sc, "strict": True})
    assert "scheduleParams.interval: '30' is not an integer" in str(err.value)


def test_the_estimate_counts_changes_and_refuses_a_run_too_large():
    sc = hubspot(horizon="1d", per_hour=1000)
    est = get_system("aep_dataflows").estimate(load(sc))
    assert est.messages["change"] == pytest.approx(24_000)
    big = hubspot(horizon="3650d", per_hour=1e6)
    with pytest.raises(budget.RunTooLarge) as err:
        run(big, max_memory="1GB", progress=False)
    assert "--max-memory" in str(err.value) and "changes" in str(err.value)


def test_a_source_flow_may_be_named_by_its_name():
    sc = hubspot(horizon="1h")
    sc["sources"][0]["flow"] = "HubSpot contacts, incremental every 15 minutes"
    assert load(sc).flow_of(load(sc).sources[0]).id == HUBSPOT_FLOW


def test_run_times_inside_the_horizon_match_the_domain_schedule():
    from sim.actors.aep.dataflow import run_times_within
    from sim.domain.aep.schedules import PeriodicSchedule

    s = PeriodicSchedule(1767225600 - 7 * 900 - 100, "minute", 15)
    start = 1767225600.0
    mine = run_times_within(s, start, 6 * 3600) + start
    theirs = s.run_times(start + 6 * 3600)
    assert list(mine) == [t for t in theirs if t >= start]
    ancient = PeriodicSchedule(0, "minute", 15)  # started in 1970: not enumerated from there
    assert len(run_times_within(ancient, start, 3600)) == 4
    once = PeriodicSchedule(int(start) + 60, "once")
    assert list(run_times_within(once, start, 3600)) == [60.0]
    ended = PeriodicSchedule(int(start), "hour", 1, end_time=int(start) + 3 * 3600)
    assert list(run_times_within(ended, start, 6 * 3600)) == [0.0, 3600.0, 7200.0]


def test_a_schedule_started_before_the_start_runs_from_the_next_slot():
    sc = hubspot(horizon="1h")
    sc["schedule"] = {"start_time": 1767225600 - 86400 * 365 + 300}
    res = run(sc, progress=False, check=False)
    started = [r["started"] for r in res.pipeline.flows[0].runlog]
    assert started == [300.0, 1200.0, 2100.0, 3000.0]
    assert res.conservation.ok


def test_adhoc_schemas_as_bodies_or_in_source_schemas():
    chain = json.loads((EXAMPLES / "sfmc_data_extensions.json").read_text())
    adhoc = chain["POST /schemaregistry/tenant/schemas"][:2]
    sid = adhoc[0]["id"]
    fields = {"SubscriberKey": "string", "Opens": "integer", "Clicks": "integer", "LastResponse": "string",
              "ModifiedDate": "string"}
    from tests.aep_system.conftest import SFMC_JSON, sfmc

    base = sfmc()
    base["bodies"] = [SFMC_JSON, str(EXAMPLES / "sfmc_data_extensions.json")]
    assert load(base).sandbox.schemas[sid].fields == fields
    # the same schema declared in source_schemas instead of a body
    chain["POST /schemaregistry/tenant/schemas"] = chain["POST /schemaregistry/tenant/schemas"][1:]
    declared = dict(base, bodies=[SFMC_JSON, chain], source_schemas={sid: {"title": "DE", "fields": fields}})
    assert load(declared).sandbox.schemas[sid].fields == fields
    # neither: the source connection names an unknown schema
    chain2 = copy.deepcopy(chain)
    with pytest.raises(ScenarioError) as err:
        load(dict(base, bodies=[SFMC_JSON, chain2]))
    assert "data.schema.id: unknown schema" in str(err.value)


def test_every_number_of_the_model_has_an_upper_bound():
    import typing

    import annotated_types
    from pydantic import BaseModel

    from sim.core.units import parse_duration
    from sim.scenario.aep import AepScenario

    def numbers(ann):
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            base, *meta = typing.get_args(ann)
            return [(base, meta)] if base in (int, float) else numbers(base)
        if ann in (int, float):
            return [(ann, [])]
        return [x for a in typing.get_args(ann) for x in numbers(a)]

    def models(ann):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return [ann]
        return [m for a in typing.get_args(ann) for m in models(a)]

    seen, todo, unbounded = set(), [AepScenario], []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            for _base, meta in numbers(field.annotation):
                flat = []
                for m in [*meta, *field.metadata]:
                    flat += [m, *getattr(m, "metadata", [])]
                bounds = [m for m in flat if isinstance(m, (annotated_types.Le, annotated_types.Lt))]
                duration = any(getattr(m, "func", None) is parse_duration for m in flat)  # bounded: 100 years
                if not bounds and not duration:
                    unbounded.append(f"{model.__name__}.{name}")
            todo += models(field.annotation)
    assert not unbounded, unbounded
