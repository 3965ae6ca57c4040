"""Shared runs of the bundled Dynamics scenarios (each variant simulated once per test session)."""

from __future__ import annotations

from functools import cache

import sim
from sim.results.variants import variant_scenarios
from tests.conftest import SCENARIOS

DYNAMICS = ("support_survey_on_resolved_case", "order_ready_notification", "webinar_signup_on_new_lead")
SUPPORT = SCENARIOS / "support_survey_on_resolved_case.yaml"
ORDERS = SCENARIOS / "order_ready_notification.yaml"
WEBINAR = SCENARIOS / "webinar_signup_on_new_lead.yaml"


def variants_of(stem: str) -> list[str]:
    return list(variant_scenarios(SCENARIOS / f"{stem}.yaml"))


@cache
def run_variant(stem: str, variant: str, seed: int | None = None):
    """One run of a bundled scenario's variant, with conservation reported, not raised."""
    scenario = variant_scenarios(SCENARIOS / f"{stem}.yaml")[variant]
    return sim.run(scenario, seed=seed, check=False)
