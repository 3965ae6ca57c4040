"""The pieces together, as an actor would drive them (no simulated clock: plain loops), and the
package's import hygiene."""

import ast
from pathlib import Path

from sim.domain.aep.profile import RealTimeProfile
from sim.domain.aep.sources import SourceApi, hubspot_limits
from tests.aep.conftest import INCR_FLOW

S = 1767225600
PACKAGE = Path(__file__).resolve().parents[2] / "sim" / "domain" / "aep"


def test_a_day_of_incremental_runs_brings_every_change_into_the_profile_within_one_period(sandbox):
    flow = sandbox.flows[INCR_FLOW]
    col = flow.delta_column
    # 300 contacts changed once before the start (history), then one contact every 7 minutes
    changes = [(i, S - 3600 + i) for i in range(300)] + [(k, S + 60 + 420 * k) for k in range(200)]
    api = SourceApi(hubspot_limits(), latency_s=0.25)
    profile = RealTimeProfile()
    hwm, freshness, delivered = None, [], 0
    for run_start in flow.run_times(S + 86400):
        table = {}  # the source as the run sees it: each contact's latest version written before the run
        for vid, t in changes:
            if t <= run_start:
                table[vid] = {"Vid": vid, "Properties_Email_Value": f"c{vid}@x.com",
                              "Properties_Firstname_Value": f"v{t}", "Properties_Lastmodifieddate_Value": col.format(t)}
        out = flow.run(list(table.values()), hwm, run_start)
        plan = api.read(len(out.selection.rows), float(run_start))
        assert plan.failed is None and plan.rows == len(out.batch.records)
        stats = profile.ingest(out.batch.records, flow.target.dataset.id, t=plan.end)
        assert stats.accepted == len(out.batch.records)
        freshness += [plan.end - r.timestamp for r in out.batch.records if r.timestamp >= S]
        delivered += len(out.batch.records)
        hwm = out.high_water_mark  # committed: the run succeeded
    assert delivered == 300 + 200  # each version once
    assert max(freshness) <= 900 + 1 + 2  # one period, one second of delta resolution, a short read
    last = dict(changes)
    for vid in (0, 99, 199, 299):
        assert profile.attributes("HubSpotId", vid)["person.name.firstName"] == f"v{last[vid]}"
    # a 30-minute token issued 0.25 s into a run still serves the run 30 minutes later, not the next:
    # every third run meets a 401 and asks again (96 runs: 31 refreshes after the first token)
    assert (api.token_requests, api.unauthorized) == (32, 31)


def test_the_domain_package_never_imports_simpy_actors_or_scenarios():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(("simpy", "sim.actors", "sim.scenario", "sim.runner")), (path.name, name)
