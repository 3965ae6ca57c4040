"""Batch re-unification (``identity.batch``): a prospect who signs in with an e-mail the CRM does not
know stays an anonymous profile for real-time resolution (exact rules only) until a batch run's
fuzzy rule links the sign-up form to the contact; from then on the insight's firings carry the
contact and reach the CRM. Runs are epoch-aligned (every 6 h at 4 a day)."""

import numpy as np
import pytest

import sim
from sim.actors.data_cloud.visitors import ScriptedClicks
from sim.scenario.load import ScenarioError, load
from tests.conftest import DEFAULT

H = 3600.0
N = 20  # prospects; prospect i's other e-mail is identifier N + i
BASE = {"visitors.prospects": N, "visitors.anonymous": 5, "visitors.mean_devices": 1.0,
        "start": "2026-11-24T00:00:00Z", "identity.batch.duration": {"median": "10m", "p95": "10m"},
        "data_actions.targets": ["platform_event"]}


def visit(prospect, t0, cookie=None, sign_in=True):
    """Prospect signs in with their other e-mail (when ``sign_in``) and views Pricing 3 times."""
    cookie = 6000 + prospect if cookie is None else cookie
    rows = [{"t": t0, "cookie": cookie, "page": "login", "email": N + prospect}] if sign_in else []
    return rows + [{"t": t0 + 10 + 30 * k, "cookie": cookie, "page": "pricing"} for k in range(3)]


def twin(rows, horizon, **over):
    return sim.run(DEFAULT, seed=1, overrides={**BASE, "horizon": horizon, **over},
                   visitors=ScriptedClicks(sorted(rows, key=lambda r: r["t"])))


def test_the_first_firing_is_filtered_and_the_one_after_the_batch_run_reaches_the_crm():
    rows = visit(0, 600.0) + visit(0, 7 * H, sign_in=False)  # first run: snapshot at 6 h, merged at 6 h 10
    with_runs = twin(rows, "8h")
    ident, actions = with_runs.counts["identity"], with_runs.counts["data_actions"]
    assert (ident["forms"], ident["batch_runs"], ident["batch_links"], ident["batch_wrong_links"]) == (1, 1, 1, 0)
    assert ident["links_by_rule"]["batch_fuzzy"] == 1
    assert actions["firings_received"] == 2 and actions["filtered_no_contact"] == 1
    assert with_runs.counts["event_bus"]["published"] == 1
    assert with_runs.counts["crm"]["tasks_created"] == 1
    without = twin(rows, "8h", **{"identity.batch.runs_per_day": 0})
    assert without.counts["identity"]["batch_runs"] == 0
    assert without.counts["data_actions"]["filtered_no_contact"] == 2 and without.counts["event_bus"]["published"] == 0


def test_a_form_after_the_snapshot_waits_for_the_next_run():
    rows = visit(0, 5 * H) + visit(1, 6 * H + 300)  # 0 before the 6 h snapshot, 1 after it
    first = twin(rows, "7h")
    assert first.counts["identity"]["forms"] == 2 and first.counts["identity"]["batch_links"] == 1
    both = twin(rows, "12h30m")  # the 12 h run (merged at 12 h 10) links the second
    assert both.counts["identity"]["batch_runs"] == 2 and both.counts["identity"]["batch_links"] == 2


def test_a_run_applies_its_merges_only_after_its_duration():
    rows = visit(0, 600.0) + visit(0, 6 * H + 300, sign_in=False)  # during the run (6 h to 6 h 10)
    r = twin(rows, "7h")
    assert r.counts["identity"]["batch_links"] == 1 and r.counts["data_actions"]["filtered_no_contact"] == 2
    later = twin(visit(0, 600.0) + visit(0, 6 * H + 900, sign_in=False), "7h")  # after 6 h 10
    assert later.counts["data_actions"]["filtered_no_contact"] == 1


@pytest.mark.parametrize("runs, first_run_h", [(4, 6), (2, 12), (1, 24)])
def test_runs_are_epoch_aligned(runs, first_run_h):
    rows = visit(0, 600.0)
    before = twin(rows, f"{first_run_h * 60 - 1}m", **{"identity.batch.runs_per_day": runs})
    after = twin(rows, f"{first_run_h * 60 + 11}m", **{"identity.batch.runs_per_day": runs})
    assert before.counts["identity"]["batch_runs"] == 0 and after.counts["identity"]["batch_runs"] == 1
    assert after.counts["identity"]["batch_links"] == 1


def test_a_mistyped_first_name_is_linked_at_low_precision_only():
    from sim.domain.population import _FIRST
    assert _FIRST[3] == "David"
    rows = visit(3, 600.0) + visit(3, 7 * H, sign_in=False)

    def with_typo(precision):
        def source(ctx, population):
            population.form_typos[3] = "Davit"  # Jaro-Winkler 0.92 with "david"
            return ScriptedClicks(sorted(rows, key=lambda r: r["t"]))
        return sim.run(DEFAULT, seed=1, overrides={**BASE, "horizon": "8h", "identity.batch.precision": precision},
                       visitors=source)
    assert with_typo("medium").counts["identity"]["batch_links"] == 1
    assert with_typo("high").counts["identity"]["batch_links"] == 0


def test_re_unification_changes_the_intents_caught():
    """Cross-layer: half the prospects sign in with another e-mail; four runs a day catch many more
    of their intents than real-time resolution alone, and some links are wrong (homonyms)."""
    over = {"horizon": "1d", "visitors.other_email_share": 0.5}
    runs = sim.run(DEFAULT, seed=3, overrides=over)
    none = sim.run(DEFAULT, seed=3, overrides={**over, "identity.batch.runs_per_day": 0})
    a, b = runs.intent_summary(), none.intent_summary()
    assert a["intents"] == b["intents"] > 100
    assert a["caught"] > b["caught"] + 0.15 * a["intents"]
    assert a["missed_by_reason"]["filtered_no_contact"] < b["missed_by_reason"]["filtered_no_contact"]
    ident = runs.counts["identity"]
    assert ident["batch_runs"] == 4 and 0 < ident["batch_links"] <= ident["forms"]
    assert ident["batch_merges"] > 0 and ident["batch_wrong_links"] < 0.05 * ident["batch_links"]
    plain = sim.run(DEFAULT, seed=3, overrides={"horizon": "1d"})
    assert plain.counts["identity"]["forms"] == 0 and plain.counts["identity"]["batch_links"] == 0


def test_the_default_population_has_no_other_emails_so_runs_change_nothing():
    over = {"horizon": "13h"}
    a = sim.run(DEFAULT, seed=4, overrides=over)
    b = sim.run(DEFAULT, seed=4, overrides={**over, "identity.batch.runs_per_day": 0})
    assert a.ledger.digest(a.horizon_s) == b.ledger.digest(b.horizon_s)
    assert a.counts["identity"]["batch_runs"] == 2 and b.counts["identity"]["batch_runs"] == 0


@pytest.mark.parametrize("field, value", [("runs_per_day", 5), ("runs_per_day", -1), ("precision", "exact")])
def test_batch_settings_beyond_the_platforms_are_refused(field, value):
    with pytest.raises(ScenarioError, match=f"identity.batch.{field}"):
        load(DEFAULT, overrides={f"identity.batch.{field}": value})


def test_merges_are_deterministic():
    over = {"horizon": "14h", "visitors.other_email_share": 0.3}
    a = sim.run(DEFAULT, seed=8, overrides=over)
    b = sim.run(DEFAULT, seed=8, overrides=over)
    assert a.ledger.digest(a.horizon_s) == b.ledger.digest(b.horizon_s)
    assert np.isfinite(a.counts["identity"]["batch_links"]) and a.counts["identity"]["batch_links"] > 0


def test_views_before_and_after_the_merge_count_together():
    """Two Pricing views on the web profile before the 6 h 10 merge and one after it, within 10
    minutes: the insight combines the two profiles' window state at the merge, so it fires."""
    cookie = 6000
    rows = [{"t": 5 * H + 3000, "cookie": cookie, "page": "login", "email": N + 0},
            {"t": 6 * H + 300, "cookie": cookie, "page": "pricing"},
            {"t": 6 * H + 480, "cookie": cookie, "page": "pricing"},
            {"t": 6 * H + 720, "cookie": cookie, "page": "pricing"}]
    r = twin(rows, "7h")
    assert r.counts["identity"]["batch_merges"] == 1
    assert r.counts["insights"]["firings"] == 1 and r.counts["event_bus"]["published"] == 1
    none = twin(rows, "7h", **{"identity.batch.runs_per_day": 0})
    assert none.counts["insights"]["firings"] == 1 and none.counts["event_bus"]["published"] == 0  # no contact


def test_the_cli_reports_batch_runs_request_and_publish_batching(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main
    args = ["run", str(DEFAULT), "--set", "horizon=5h", "--set", "visitors.other_email_share=0.3",
            "--set", "ingestion.records_per_request=20", "--set", "ingestion.request_linger=1s",
            "--set", "data_actions.publish_calls.max_events=50", "--set", "data_actions.publish_calls.linger=5s",
            "--no-plots", "--out", str(tmp_path)]
    out = CliRunner().invoke(main, args).output
    ident = next(line for line in out.splitlines() if line.startswith("identity batch runs 1: sign-up forms "))
    assert "linked to a contact" in ident and "wrong contact" in ident
    assert any(line.startswith("ingestion: ") and "(up to 20 a request)" in line for line in out.splitlines())
    assert any(line.startswith("publish calls ") for line in out.splitlines())
    plain = CliRunner().invoke(main, ["run", str(DEFAULT), "--set", "horizon=20m", "--no-plots",
                                      "--out", str(tmp_path / "plain")]).output
    assert "identity batch runs" not in plain and "publish calls" not in plain and "ingestion:" not in plain


@pytest.mark.parametrize("over, needle", [
    ({"visitors.other_email_share": 0.3, "horizon": "2h"}, "no identity batch run finished within the horizon"),
    ({"visitors.other_email_share": 0.3, "horizon": "30m", "identity.link_namespaces": ["contact_id"]},
     "identity.link_namespaces has no email"),
    ({"ingestion.request_linger": "10s", "horizon": "10m"}, "ingestion.request_linger has no effect"),
    ({"data_actions.targets": ["webhook"], "data_actions.publish_calls.max_events": 5, "horizon": "10m"},
     "data_actions.publish_calls has no effect"),
])
def test_settings_without_effect_are_warned_about(over, needle):
    r = sim.run(DEFAULT, seed=1, overrides={"catch_within": "1m", **over})
    assert any(needle in w for w in r.warnings()), r.warnings()


def test_settings_with_effect_give_no_warning():
    r = sim.run(DEFAULT, seed=1, overrides={"catch_within": "1m", "horizon": "5h", "visitors.other_email_share": 0.3,
                                            "ingestion.records_per_request": 5, "ingestion.request_linger": "1s",
                                            "data_actions.publish_calls.max_events": 5,
                                            "data_actions.publish_calls.linger": "5s"})
    assert r.warnings() == [] and r.counts["identity"]["batch_runs"] == 1
    started = sim.run(DEFAULT, seed=1, overrides={"catch_within": "1m", "horizon": "4h10m",
                                                  "visitors.other_email_share": 0.3})
    assert started.counts["identity"]["batch_runs"] == 0  # begun at 4 h, not finished: not counted
