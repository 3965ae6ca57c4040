"""Web click events and the Ingestion API's payload rules.

A click batch is columnar (see :class:`sim.core.batch.Batch`). Columns, one row per event:

``id``         ledger id of the click message
``t``          time the browser sent the event (seconds)
``event_time`` the event's own timestamp field (seconds; NaN when the payload lacks it)
``person``     ground truth: which visitor made it (never read by the pipeline's logic)
``cookie``     device/cookie id (``-1``: field missing)
``page``       page code, an index into :data:`PAGES` (``-1``: a page name the schema does not know)
``event``      :data:`PAGE_VIEW` or :data:`LOGIN`
``email``      for a login: the e-mail identifier (an index into the population's e-mails), else -1
``contact``    for a login: the CRM contact index, else -1
``size_bytes`` payload size in bytes
``event_id``   the event's own id (a resent copy carries the original's: the lakehouse deduplicates on it)

:func:`validate` applies the Ingestion API's schema checks to a batch and returns, per event, 0 for
a valid event or the code of the first rule it breaks (:data:`REJECT_REASONS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAGES = ("home", "product", "pricing", "blog", "docs", "contact", "careers", "login", "other")  # other: any
# page of a replayed event log that the twin has no name for (a plain page view)
PAGE_CODE = {name: i for i, name in enumerate(PAGES)}
PAGE_VIEW, LOGIN = 0, 1

REJECT_REASONS = (
    "valid",
    "missing_device_id",
    "unknown_page",
    "missing_event_time",
    "event_time_in_future",
    "payload_too_large",
    "login_without_identifier",
)
REJECT_CODE = {name: i for i, name in enumerate(REJECT_REASONS)}

# the payload fields a click carries besides its ledger ``id`` and send time ``t``, with their dtypes
CLICK_FIELDS: dict[str, type] = {"event_time": np.float64, "person": np.int64, "cookie": np.int64,
                                 "page": np.int16, "event": np.int8, "email": np.int64, "contact": np.int64,
                                 "size_bytes": np.int64, "event_id": np.int64}


def empty_clicks() -> dict[str, np.ndarray]:
    """Zero clicks: the send time ``t`` and every field of :data:`CLICK_FIELDS`."""
    return {"t": np.empty(0), **{c: np.empty(0, dtype=d) for c, d in CLICK_FIELDS.items()}}


@dataclass(frozen=True)
class PayloadRules:
    """Schema checks of the streaming Ingestion API."""

    max_payload_bytes: int = 200_000  # each request < 200 KB (doc)
    max_clock_skew_s: float = 300.0  # event time may lead the receive time by this much (assumed)


def validate(cols: dict[str, np.ndarray], received_t: np.ndarray, rules: PayloadRules) -> np.ndarray:
    """Reason code per event (0 = valid); the first broken rule wins, in :data:`REJECT_REASONS` order."""
    n = len(cols["id"])
    code = np.zeros(n, dtype=np.int8)
    event_time = cols["event_time"]
    checks = (
        (REJECT_CODE["login_without_identifier"],
         (cols["event"] == LOGIN) & (cols["email"] < 0) & (cols["contact"] < 0)),
        (REJECT_CODE["payload_too_large"], cols["size_bytes"] > rules.max_payload_bytes),
        (REJECT_CODE["event_time_in_future"], event_time > received_t + rules.max_clock_skew_s),
        (REJECT_CODE["missing_event_time"], np.isnan(event_time)),
        (REJECT_CODE["unknown_page"], (cols["event"] == PAGE_VIEW) & (cols["page"] < 0)),
        (REJECT_CODE["missing_device_id"], cols["cookie"] < 0),
    )
    for value, mask in checks:  # later assignments win: the list runs from last rule to first
        code[mask] = value
    return code
