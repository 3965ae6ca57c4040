"""A bare run context for driving one actor at a time (no visitors, no ingestion)."""

import numpy as np
import simpy

from sim.actors.base import RunContext
from sim.core.ledger import Ledger
from sim.core.rng import RandomStreams
from sim.domain.faults import Fault, FaultSchedule
from sim.scenario.common import latency

KINDS = {"platform_event": ["action", "publish"], "flow": ["available", "flow_start", "notification"],
         "webhook": ["action", "post", "ack"]}


def context(horizon=1e7, faults=(), extra_kinds=()):
    ledger = Ledger()
    for kind, stages in KINDS.items():
        ledger.register(kind, stages, None if kind in ("platform_event", "webhook") else "platform_event")
    for kind, stages in extra_kinds:
        ledger.register(kind, list(stages), "platform_event")
    return RunContext(simpy.Environment(), ledger, RandomStreams(1), horizon,
                      faults=FaultSchedule([Fault(*f) for f in faults]))


def const(x):
    """A constant latency of ``x`` seconds."""
    return latency(x, x)


def publish_at(ctx, bus, times, payload=None):
    """Publish one platform event at each of ``times`` (seconds); returns their ledger ids."""
    ids = []
    for t in times:
        mid = int(ctx.ledger.create("platform_event", t)[0])
        ids.append(mid)
        ctx.at(t, bus.publish, mid, dict(payload or {}))
    return ids


def states(ctx, kind, horizon=None):
    return ctx.ledger.states_at(kind, ctx.horizon if horizon is None else horizon).tolist()


def stamps(ctx, kind, stage):
    return [None if np.isnan(x) else round(float(x), 6) for x in ctx.ledger.table(kind).view(stage)]
