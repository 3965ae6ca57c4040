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


APEX = ("available", "run_start", "processed")  # the stages of a trigger's events
PUBSUB = ("available", "fetched", "processed")  # the stages of a Pub/Sub client's events


def apex_rig(times, faults=(), **spec):
    """A bus with one Apex trigger ``t`` (overhead 1 s + 0.5 s per event, no noise, retry delay
    1 s up to 60 s; ``spec`` overrides) and events published at ``times``."""
    from sim.actors.data_cloud.apex import ApexTrigger
    from sim.actors.data_cloud.event_bus import EventBus
    from sim.scenario.data_cloud import ApexTrigger as ApexSpec
    from sim.scenario.data_cloud import EventBus as BusSettings

    ctx = context(faults=faults, extra_kinds=[("apex:t", APEX)])
    bus = EventBus(ctx, BusSettings(publish_latency=const(1.0), delivery_latency=const(1.0)))
    base = {"name": "t", "batch_overhead": 1.0, "per_event": 0.5, "service_cv": 0.0, "retry_delay": 1.0,
            "retry_delay_max": 60.0}
    base.update(spec)
    trigger = ApexTrigger(ctx, bus, ApexSpec(**base))
    publish_at(ctx, bus, times, {"ContactId__c": "003"})
    return ctx, trigger


def pubsub_rig(times, allocation=50_000, fetch_size=100, faults=(), per_event=0.25):
    """A bus with one Pub/Sub client ``c`` (fetch latency 0.5 s, ``per_event`` s of processing)
    under a daily delivery ``allocation``, and events published at ``times``."""
    from sim.actors.data_cloud.event_bus import EventBus
    from sim.actors.data_cloud.pubsub import PubSubClient
    from sim.scenario.data_cloud import EventBus as BusSettings
    from sim.scenario.data_cloud import PubSubClient as PubSubSpec

    ctx = context(faults=faults, extra_kinds=[("pubsub:c", PUBSUB)])
    bus = EventBus(ctx, BusSettings(publish_latency=const(1.0), delivery_latency=const(1.0),
                                    delivery_allocation_per_day=allocation))
    client = PubSubClient(ctx, bus, PubSubSpec(name="c", fetch_size=fetch_size, fetch_latency=0.5,
                                               per_event=per_event))
    publish_at(ctx, bus, times)
    return ctx, client, bus
