"""Edges of the Ingestion API's payload rules (sim.domain.events.validate): a payload of exactly
``max_payload_bytes`` (200 KB) passes and one byte more is refused; an event time exactly
``max_clock_skew_s`` (300 s) ahead passes; the first broken rule wins in the documented order."""

import numpy as np

from sim.domain.events import LOGIN, PAGE_VIEW, REJECT_CODE, REJECT_REASONS, PayloadRules, empty_clicks, validate


def clicks(**over):
    n = len(next(iter(over.values())))
    cols = {"id": np.arange(n), "event_time": np.zeros(n), "cookie": np.ones(n, dtype=np.int64),
            "page": np.full(n, 2), "event": np.full(n, PAGE_VIEW), "email": np.full(n, -1),
            "contact": np.full(n, -1), "size_bytes": np.full(n, 500)}
    cols.update({k: np.asarray(v) for k, v in over.items()})
    return cols


DEFAULT_RULES = PayloadRules()


def reasons(cols, received=0.0, rules=DEFAULT_RULES):
    return [REJECT_REASONS[c] for c in validate(cols, np.full(len(cols["id"]), received), rules)]


def test_payload_size_edge():
    """200,000 bytes pass, 200,001 are ``payload_too_large``."""
    assert reasons(clicks(size_bytes=[200_000, 200_001])) == ["valid", "payload_too_large"]
    assert PayloadRules().max_payload_bytes == 200_000


def test_clock_skew_edge():
    """An event time 300 s after the receive time passes; 300.001 s is ``event_time_in_future``."""
    assert reasons(clicks(event_time=[1300.0, 1300.001, np.nan]), received=1000.0) == \
        ["valid", "event_time_in_future", "missing_event_time"]


def test_each_rule_and_the_first_broken_one_wins():
    """Rules in order: missing device id, unknown page, missing event time, future event time,
    payload too large, login without identifier; a page view needs a known page, a login does not."""
    cols = clicks(cookie=[-1, 1, 1, 1, 0, -1], page=[2, -1, -1, 2, 2, -1], event=[0, 0, LOGIN, LOGIN, LOGIN, 0],
                  email=[-1, -1, 3, -1, -1, -1], contact=[-1, -1, -1, -1, 4, -1],
                  event_time=[0.0, 0.0, 0.0, 0.0, 0.0, np.nan])
    assert reasons(cols) == ["missing_device_id", "unknown_page", "valid", "login_without_identifier", "valid",
                             "missing_device_id"]
    cols = clicks(page=[-1], event_time=[np.nan], size_bytes=[10**6])
    assert reasons(cols) == ["unknown_page"]
    cols = clicks(event_time=[np.nan], size_bytes=[10**6])
    assert reasons(cols) == ["missing_event_time"]
    cols = clicks(event_time=[1e9], size_bytes=[10**6], event=[LOGIN])
    assert reasons(cols) == ["event_time_in_future"]
    assert REJECT_CODE["valid"] == 0
    assert reasons(clicks(event=[LOGIN], contact=[0])) == ["valid"]  # contact 0 is a contact
    assert reasons(clicks(event=[LOGIN], email=[0])) == ["valid"]
    empty = empty_clicks()
    assert set(empty) == {"t", "event_time", "person", "cookie", "page", "event", "email", "contact", "size_bytes",
                          "event_id"}
    assert all(len(v) == 0 for v in empty.values()) and empty["page"].dtype == np.int16
