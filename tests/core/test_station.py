"""The batched FIFO station against a hand-written process-per-customer SimPy model."""

import itertools

import numpy as np
import pytest
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



def loop_fifo(ready, service, servers, free=0.0):
    """Fast oracle: the recursion of the module docstring, one job at a time (a list of free times)."""
    frees = [free] * servers
    start = []
    for r, s in zip(ready, service):
        k = min(range(servers), key=lambda j: frees[j])
        begin = max(r, frees[k])
        start.append(begin)
        frees[k] = begin + s
    return np.array(start)


def test_station_equals_the_job_by_job_recursion_in_any_batches():
    """Fixed jobs (ties, idle gaps, queues), 1-3 servers, several cuts into batches: start, done and
    busy time equal the one-at-a-time recursion (a fast oracle beside the SimPy one)."""
    rng = np.random.default_rng(7)
    ready = np.cumsum(np.where(rng.random(40) < 0.2, 0.0, rng.exponential(1.0, 40)))
    service = rng.exponential(1.5, 40)
    for servers in (1, 2, 3):
        expected = loop_fifo(ready, service, servers, free=0.5)
        for bounds in ([0, 40], [0, 1, 40], [0, 13, 14, 27, 40]):
            station = FifoStation(servers, start_time=0.5)
            parts = [station.serve(ready[a:b], service[a:b]) for a, b in itertools.pairwise(bounds)]
            start = np.concatenate([p[0] for p in parts])
            done = np.concatenate([p[1] for p in parts])
            np.testing.assert_allclose(start, expected, rtol=0, atol=1e-12)
            np.testing.assert_allclose(done, expected + service, rtol=0, atol=1e-12)
            assert abs(station.busy_s - service.sum()) < 1e-9
            assert station.last_ready == ready[-1]


def test_station_boundaries():
    """A job ready exactly when the server frees starts then; the same ready time as the last job
    is in order; one earlier is refused; lengths must agree; no job is no work."""
    station = FifoStation(1)
    start, done = station.serve(np.array([1.0]), np.array([2.0]))
    assert start.tolist() == [1.0] and done.tolist() == [3.0]
    start, done = station.serve(np.array([3.0, 3.0]), np.array([1.0, 1.0]))
    assert start.tolist() == [3.0, 4.0] and done.tolist() == [4.0, 5.0]
    with pytest.raises(ValueError, match="order"):
        station.serve(np.array([2.9]), np.array([1.0]))
    with pytest.raises(ValueError, match="order"):
        station.serve(np.array([4.0, 3.5]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="same length"):
        station.serve(np.array([4.0, 5.0]), np.array([1.0]))
    empty = station.serve(np.array([]), np.array([]))
    assert len(empty[0]) == 0 and len(empty[1]) == 0 and station.busy_s == 4.0
    with pytest.raises(ValueError, match="at least one server"):
        FifoStation(0)
    two = FifoStation(2, start_time=1.0)
    start, done = two.serve(np.array([0.0, 0.0, 0.0]), np.array([2.0, 3.0, 1.0]))
    assert start.tolist() == [1.0, 1.0, 3.0] and done.tolist() == [3.0, 4.0, 4.0]
    assert two.serve_one(5.0, 1.0) == (5.0, 6.0) and two.busy_s == 7.0
    with pytest.raises(ValueError, match="order"):
        two.serve_one(4.0, 1.0)


def test_station_order_rule_at_equality_and_its_message():
    """A batch may start at the last job's own ready time, one job may follow at the same time;
    the refusals say exactly why; a station has one server unless told; a job that finds every
    server busy waits for the earliest to free."""
    station = FifoStation()
    assert station.servers == 1
    station.serve(np.array([3.0]), np.array([1.0]))
    start, _ = station.serve(np.array([3.0]), np.array([1.0]))  # equal to the last ready time: in order
    assert start.tolist() == [4.0]
    assert station.serve_one(3.0, 1.0) == (5.0, 6.0)  # equal again, and it waits for the server
    assert station.serve_one(10.0, 1.0) == (10.0, 11.0)
    with pytest.raises(ValueError, match=r"^jobs must reach a FIFO station in order of their ready times$"):
        station.serve_one(9.0, 1.0)
    with pytest.raises(ValueError, match=r"^jobs must reach a FIFO station in order of their ready times$"):
        station.serve(np.array([9.0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"^ready and service must have the same length$"):
        station.serve(np.array([12.0, 13.0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"^a station needs at least one server$"):
        FifoStation(0)
    two = FifoStation(2)
    assert two.serve_one(0.0, 5.0) == (0.0, 5.0) and two.serve_one(0.0, 3.0) == (0.0, 3.0)
    assert two.serve_one(1.0, 1.0) == (3.0, 4.0) and two.serve_one(1.0, 1.0) == (4.0, 5.0)
