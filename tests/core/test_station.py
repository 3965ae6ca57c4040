"""The batched FIFO station against a hand-written process-per-customer SimPy model."""

import itertools

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.station import FifoStation


def simpy_fifo(ready, service, servers):
    """Oracle: the textbook SimPy model, one process per customer, simpy.Resource as servers."""
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=servers)
    start = [None] * len(ready)

    def customer(i):
        yield env.timeout(ready[i] - env.now) if ready[i] > env.now else env.timeout(0)
        with res.request() as req:
            yield req
            start[i] = env.now
            yield env.timeout(service[i])

    def arrivals():
        for i in range(len(ready)):
            yield env.timeout(ready[i] - env.now)
            env.process(customer(i))

    env.process(arrivals())
    env.run()
    return np.array(start)


jobs = st.lists(st.tuples(st.floats(0, 5, allow_nan=False), st.floats(0.01, 3, allow_nan=False)),
                min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(jobs=jobs, servers=st.integers(1, 4), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_station_matches_process_per_customer_simpy(jobs, servers, cuts):
    """Start times equal the SimPy oracle's, however the job stream is cut into batches."""
    gaps, service = np.array(jobs).T
    ready = np.cumsum(gaps)
    expected = simpy_fifo(ready.tolist(), service.tolist(), servers)
    station = FifoStation(servers)
    bounds = sorted({0, len(ready), *[c for c in cuts if c < len(ready)]})
    got = np.concatenate([station.serve(ready[a:b], service[a:b])[0] for a, b in itertools.pairwise(bounds)])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_station_rejects_out_of_order_jobs():
    station = FifoStation(1)
    station.serve(np.array([5.0]), np.array([1.0]))
    try:
        station.serve(np.array([4.0]), np.array([1.0]))
    except ValueError as exc:
        assert "order" in str(exc)
    else:
        raise AssertionError("an earlier job was accepted after a later one")


def test_lindley_by_hand():
    """Three jobs on one server: the second waits for the first, the third finds it idle."""
    start, done = FifoStation(1).serve(np.array([0.0, 1.0, 10.0]), np.array([3.0, 2.0, 1.0]))
    assert start.tolist() == [0.0, 3.0, 10.0]
    assert done.tolist() == [3.0, 5.0, 11.0]

