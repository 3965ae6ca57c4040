"""Edges of fault windows (sim.domain.faults): a fault covers ``[start, start + duration)``; the
strongest of overlapping faults holds; touching outages merge; changes list every edge."""

from sim.domain.faults import Fault, FaultSchedule


def test_a_fault_covers_its_start_and_not_its_end():
    """Active at ``start``, not at ``start + duration``."""
    f = Fault("crm", "outage", 10.0, 5.0)
    assert f.end == 15.0
    assert [f.covers(t) for t in (9.999, 10.0, 14.999, 15.0)] == [False, True, True, False]
    s = FaultSchedule([f])
    assert [s.down("crm", t) for t in (9.999, 10.0, 14.999, 15.0)] == [False, True, True, False]
    assert s.down("webhooks", 12.0) is False


def test_up_at_follows_touching_and_overlapping_outages():
    """``up_at`` is the first time with no outage: through touching windows, in any order."""
    s = FaultSchedule([Fault("crm", "outage", 20.0, 10.0), Fault("crm", "outage", 10.0, 10.0),
                       Fault("crm", "outage", 25.0, 20.0), Fault("crm", "outage", 50.0, 5.0)])
    assert s.up_at("crm", 12.0) == 45.0
    assert s.up_at("crm", 45.0) == 45.0 and s.up_at("crm", 9.0) == 9.0 and s.up_at("crm", 50.0) == 55.0
    assert s.up_at("apex:x", 12.0) == 12.0


def test_the_strongest_of_overlapping_faults_holds():
    """Highest error rate and slowdown, lowest allocation; the base value outside any fault."""
    s = FaultSchedule([Fault("crm", "error_rate", 0.0, 10.0, rate=0.2), Fault("crm", "error_rate", 5.0, 10.0, rate=0.5),
                       Fault("crm", "slowdown", 0.0, 10.0, factor=3.0), Fault("crm", "slowdown", 5.0, 10.0, factor=2.0),
                       Fault("event_bus", "allocation_cut", 0.0, 10.0, allocation=100),
                       Fault("event_bus", "allocation_cut", 5.0, 10.0, allocation=50)])
    assert [s.error_rate("crm", t, 0.1) for t in (1.0, 6.0, 12.0, 15.0)] == [0.2, 0.5, 0.5, 0.1]
    assert s.error_rate("crm", 1.0, 0.9) == 0.9
    assert [s.slowdown("crm", t) for t in (1.0, 6.0, 12.0, 15.0)] == [3.0, 3.0, 2.0, 1.0]
    assert [s.allocation("event_bus", t, 1000) for t in (1.0, 6.0, 12.0, 15.0)] == [100, 50, 50, 1000]
    assert s.allocation("event_bus", 1.0, 10) == 10
    assert s.changes("crm") == [0.0, 5.0, 10.0, 15.0] and s.changes("event_bus") == [0.0, 5.0, 10.0, 15.0]
    assert s.changes("webhooks") == []
