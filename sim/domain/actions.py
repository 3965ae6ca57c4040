"""Data Action payloads and webhook signatures.

A Data Action turns an insight firing into a small payload: the Salesforce Contact id, the account
name and the action. Targets:

* a **Platform Event** (``Pricing_Visit__e``): the payload's fields become the event's fields;
* a **webhook**: an HTTP POST whose body is Data Cloud's ``DataObjectDataChgEvent`` JSON
  (``{creationDateTime, count, schemas, events}``), signed with HMAC-SHA256 over the exact body
  bytes and sent in the ``x-signature`` header (hex digest). A receiver recomputes the HMAC with
  the shared key; :func:`verify` compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

SIGNATURE_HEADER = "x-signature"
IDEMPOTENCY_HEADER = "idempotency-key"


def iso_time(epoch_s: float, start_epoch_s: float = 0.0) -> str:
    """ISO 8601 UTC of a simulation time (seconds since the run's start at ``start_epoch_s``)."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=start_epoch_s + epoch_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def action_payload(contact_id: str | None, account_name: str | None, action: str, profile_id: int,
                   fired_at: str) -> dict:
    """The fields a Data Action compiles for one firing (Platform Event field names)."""
    return {
        "ContactId__c": contact_id,
        "AccountName__c": account_name,
        "Action__c": action,
        "UnifiedIndividualId__c": f"UI-{profile_id}",
        "FiredAt__c": fired_at,
    }


def webhook_body(payloads: list[dict], created: str, schema: str = "Pricing_Visit") -> bytes:
    """The JSON bytes POSTed by a webhook Data Action (keys sorted, compact: stable bytes)."""
    doc = {
        "creationDateTime": created,
        "count": len(payloads),
        "schemas": [{"schemaId": schema, "fields": sorted(payloads[0]) if payloads else []}],
        "events": payloads,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(body: bytes, key: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``key``."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, key: bytes, signature: str) -> bool:
    """Whether ``signature`` is the HMAC-SHA256 of ``body`` under ``key``."""
    return hmac.compare_digest(sign(body, key), signature)
