"""Data Action payloads and webhook signatures.

A Data Action turns an insight firing into a small payload: the Salesforce Contact id, the account
name and the action. Targets:

* a **Platform Event** (``Pricing_Visit__e``): the payload's fields become the event's fields;
* a **webhook**: an HTTP POST whose body is Data Cloud's ``DataObjectDataChgEvent`` JSON
  (``{creationDateTime, count, schemas, events}``).

Webhook signatures follow Svix / Standard Webhooks (Stripe's scheme is the same idea): the signed
content is ``"{msg_id}.{timestamp}.{body}"``, so neither the message id (the receiver's
idempotency key) nor the time can be changed without breaking the signature, and the headers are

* ``webhook-id``: the message id, the same on every attempt of one message;
* ``webhook-timestamp``: whole epoch seconds of the attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` (several space-separated during a key
  rotation).

:func:`verify_request` recomputes the HMAC in constant time and refuses a timestamp more than
``tolerance`` (default :data:`TOLERANCE_S` = 300 s, Stripe's value) in the past or the future, so
a captured request cannot be replayed later. It never raises on malformed input (missing headers,
non-ASCII text, wrong types): it returns False. Data Cloud's own header ``x-signature`` (hex
HMAC of the body alone, :func:`sign` / :func:`verify`) is still sent, for receivers that expect
it; it does not protect against replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

SIGNATURE_HEADER = "x-signature"
IDEMPOTENCY_HEADER = "idempotency-key"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURES_HEADER = "webhook-signature"
TOLERANCE_S = 300.0  # doc: Stripe's default signature tolerance
_MSG_ID = re.compile(r"[A-Za-z0-9_\-:]{1,256}")  # no '.', which separates the signed parts
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_time(epoch_s: float, start_epoch_s: float = 0.0) -> str:
    """ISO 8601 UTC of a simulation time (seconds since the run's start at ``start_epoch_s``)."""
    moment = _EPOCH + timedelta(seconds=start_epoch_s + epoch_s)
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


def _key(key: object) -> bytes:
    """The key as bytes; a wrong type is a TypeError that names the type, never the value."""
    if isinstance(key, (bytes, bytearray)):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    raise TypeError(f"a signing key is bytes or text, not {type(key).__name__}")


def sign(body: bytes, key: bytes | str) -> str:
    """Hex HMAC-SHA256 of ``body`` alone under ``key`` (the ``x-signature`` header)."""
    return hmac.new(_key(key), body, hashlib.sha256).hexdigest()


def verify(body: bytes, key: bytes | str, signature: object) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``body`` under ``key`` (constant time;
    False, never an exception, for a malformed or non-ASCII signature)."""
    try:
        # bytes() of anything else raises TypeError, caught below
        given = signature.encode("ascii") if isinstance(signature, str) else bytes(signature)  # type: ignore[call-overload]
        return hmac.compare_digest(sign(bytes(body), key).encode("ascii"), given)
    except (TypeError, ValueError):
        return False


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What a webhook signature covers: ``{msg_id}.{timestamp}.{body}``."""
    return f"{msg_id}.{int(timestamp)}.".encode("ascii") + body


def sign_request(msg_id: str, timestamp: int, body: bytes, key: bytes | str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of :func:`signed_content` under ``key``."""
    if not isinstance(msg_id, str) or not _MSG_ID.fullmatch(msg_id):
        raise ValueError("a webhook message id is 1 to 256 characters among A-Z a-z 0-9 _ - :")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("a webhook timestamp is whole epoch seconds (a non-negative integer)")
    mac = hmac.new(_key(key), signed_content(msg_id, timestamp, bytes(body)), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signature_headers(msg_id: str, timestamp: int, body: bytes, key: bytes | str) -> dict[str, str]:
    """The three headers of a signed webhook request (Svix / Standard Webhooks names)."""
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(int(timestamp)),
            SIGNATURES_HEADER: sign_request(msg_id, int(timestamp), body, key)}


def _header(headers: Mapping, name: str) -> str | None:
    value = None
    for k, v in headers.items():
        if isinstance(k, str) and k.lower() == name:
            value = v
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) and value.isascii() else None


def verify_request(headers: Mapping, body: bytes, key: bytes | str, now: float,
                   tolerance: float = TOLERANCE_S) -> bool:
    """Whether a request's ``webhook-*`` headers carry a valid signature of ``body`` under ``key``
    with a timestamp within ``tolerance`` seconds of ``now`` (epoch seconds), either way.

    Constant-time comparison; any malformed input (missing or repeated-looking headers, non-ASCII
    text, a bad timestamp, a body that is not bytes, a key of the wrong type) gives False."""
    try:
        if not isinstance(headers, Mapping) or not isinstance(body, (bytes, bytearray)):
            return False
        msg_id = _header(headers, ID_HEADER)
        stamp = _header(headers, TIMESTAMP_HEADER)
        given = _header(headers, SIGNATURES_HEADER)
        if msg_id is None or stamp is None or given is None:
            return False
        if not _MSG_ID.fullmatch(msg_id) or not _TIMESTAMP.fullmatch(stamp):
            return False
        now = float(now)
        if not math.isfinite(now) or abs(now - int(stamp)) > tolerance:
            return False
        expected = hmac.new(_key(key), signed_content(msg_id, int(stamp), bytes(body)), hashlib.sha256).digest()
        ok = False
        for part in given.split(" ")[:16]:
            version, sep, value = part.partition(",")
            if version != "v1" or not sep:
                continue
            try:
                mac = base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, ValueError):
                continue
            ok |= hmac.compare_digest(mac, expected)
        return ok
    except (TypeError, ValueError, OverflowError):
        return False


def payload_bytes(payload: dict) -> int:
    """The size of a platform event's payload as published (compact JSON, UTF-8), in bytes."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
