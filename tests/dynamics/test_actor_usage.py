"""The engine's documented actor pattern works under SimPy: timers held by SimPy processes, stale
ones ignored, outcomes at the simulated times."""

import simpy

from sim.domain.dynamics import JourneyEngine, Outcome, Send, StartTimer

from .conftest import custom, journey, resolved

TILES = [{"id": "wait_buy", "kind": "wait_for_trigger", "trigger": "purchase", "timeout": "1h",
          "timed_out": [{"id": "nudge", "kind": "action", "channel": "push", "template": "still there?"}]}]


def test_simpy_actor_pattern(catalog):
    env = simpy.Environment()
    engine = JourneyEngine(journey(catalog, TILES, exit={"trigger": "unsubscribe"}), catalog)
    log = []

    def apply(effects):
        for e in effects:
            if isinstance(e, StartTimer):
                env.process(timer(e))
            elif isinstance(e, (Send, Outcome)):
                log.append((type(e).__name__, e.customer.id, env.now))

    def timer(e):
        yield env.timeout(e.at - env.now)
        apply(engine.on_timer(e.token, env.now))

    def customers():
        apply(engine.on_trigger(resolved("a", 0), env.now))
        apply(engine.on_trigger(resolved("b", 0), env.now))
        apply(engine.on_trigger(resolved("c", 0), env.now))
        yield env.timeout(600)
        apply(engine.on_trigger(custom("purchase", "a", env.now), env.now))      # in time
        apply(engine.on_trigger(custom("unsubscribe", "b", env.now), env.now))   # exits

    env.process(customers())
    env.run(until=7200)
    assert log == [("Outcome", "a", 600), ("Outcome", "b", 600), ("Send", "c", 3600), ("Outcome", "c", 3600)]
    assert engine.counts.completed == 2 and engine.counts.exited == 1 and engine.counts.balanced()
