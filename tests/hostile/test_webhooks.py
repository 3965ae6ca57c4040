"""Webhook signatures (Svix / Standard Webhooks scheme): the id, the timestamp and the body are
signed; replays outside the tolerance, tampering and malformed headers are refused without an
exception; the simulated endpoint verifies every request and counts rejections."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

import sim
import sim.actors.data_cloud.webhooks as webhooks
from sim.domain.actions import TOLERANCE_S, sign, sign_request, signature_headers, verify, verify_request
from tests.conftest import DEFAULT

KEY = b"whsec_test"
BODY = b'{"count":1,"events":[{"ContactId__c":"003A"}]}'
T = 1_764_000_000


def headers(msg_id="wh-7", t=T, body=BODY, key=KEY):
    return signature_headers(msg_id, t, body, key)


def test_the_signature_is_an_independent_hmac_of_id_timestamp_and_body():
    h = headers()
    mac = hmac.new(KEY, b"wh-7.%d." % T + BODY, hashlib.sha256).digest()
    assert h == {"webhook-id": "wh-7", "webhook-timestamp": str(T),
                 "webhook-signature": "v1," + base64.b64encode(mac).decode()}
    assert verify_request(h, BODY, KEY, T)
    assert verify_request({k.upper(): v for k, v in h.items()}, BODY, KEY.decode(), T + 5)  # any case, str key


@pytest.mark.parametrize("change", ["body", "id", "timestamp", "key", "signature"])
def test_tampering_with_any_signed_part_fails(change):
    h, body, key = headers(), BODY, KEY
    if change == "body":
        body = BODY.replace(b"003A", b"003B")
    elif change == "id":
        h = {**h, "webhook-id": "wh-8"}  # a new idempotency key: the receiver would process it again
    elif change == "timestamp":
        h = {**h, "webhook-timestamp": str(T + 1)}
    elif change == "key":
        key = b"another-key"
    else:
        h = {**h, "webhook-signature": h["webhook-signature"][:-4] + "AAA="}
    assert not verify_request(h, body, key, T)


def test_replay_outside_the_tolerance_fails_both_ways():
    h = headers()
    assert TOLERANCE_S == 300
    assert verify_request(h, BODY, KEY, T + 300) and verify_request(h, BODY, KEY, T - 300)
    assert not verify_request(h, BODY, KEY, T + 301)  # captured and replayed later
    assert not verify_request(h, BODY, KEY, T - 301)  # too far in the future
    assert not verify_request(h, BODY, KEY, T + 86400 * 365)
    assert verify_request(h, BODY, KEY, T + 3000, tolerance=3600)


def test_key_rotation_accepts_any_listed_signature():
    h = headers()
    old = sign_request("wh-7", T, BODY, b"old-key")
    assert verify_request({**h, "webhook-signature": f"{old} {h['webhook-signature']}"}, BODY, KEY, T)
    assert not verify_request({**h, "webhook-signature": old}, BODY, KEY, T)


# (id, header override); the ids are plain ASCII so that a node id can be passed back to pytest
# as it is (mutmut reruns single tests by node id; an escaped non-ASCII id is not found again)
MALFORMED = [
    ("sig_non_ascii", {"webhook-signature": "v1,é"}),
    ("sig_base64_then_non_ascii", {"webhook-signature": "v1,ZmFrZQ==é"}),
    ("id_non_ascii", {"webhook-id": "wh-é"}),
    ("ts_fullwidth_digits", {"webhook-timestamp": "１７６４０００００"}),
    ("ts_exponent", {"webhook-timestamp": "1e9"}),
    ("ts_negative", {"webhook-timestamp": "-5"}),
    ("ts_400_digits", {"webhook-timestamp": "9" * 400}),
    ("ts_empty", {"webhook-timestamp": ""}),
    ("sig_empty", {"webhook-signature": ""}),
    ("sig_version_only", {"webhook-signature": "v1"}),
    ("sig_v2_scheme", {"webhook-signature": "v2," + "A" * 44}),
    ("sig_not_base64", {"webhook-signature": "v1,!!!"}),
    ("id_with_dot", {"webhook-id": "wh.7"}),
    ("id_empty", {"webhook-id": ""}),
    ("id_none", {"webhook-id": None}),
    ("ts_int_not_text", {"webhook-timestamp": T}),
    ("sig_bytes_not_ascii", {"webhook-signature": b"\xff\xfe"}),
    ("id_10000_chars", {"webhook-id": "x" * 10_000}),
    ("sig_10000_parts", {"webhook-signature": "v1,a " * 10_000}),
]


@pytest.mark.parametrize("bad", [pytest.param(bad, id=name) for name, bad in MALFORMED])
def test_malformed_headers_are_false_never_an_exception(bad):
    assert not verify_request({**headers(), **bad}, BODY, KEY, T)


WRONG_TYPES = [
    ("headers_empty", ({}, BODY, KEY, T)),
    ("headers_none", (None, BODY, KEY, T)),
    ("body_text", (headers(), "text", KEY, T)),
    ("key_int", (headers(), BODY, 12345, T)),
    ("key_none", (headers(), BODY, None, T)),
    ("now_nan", (headers(), BODY, KEY, float("nan"))),
    ("now_text", (headers(), BODY, KEY, "soon")),
    ("headers_id_only", ({"webhook-id": "a"}, BODY, KEY, T)),
]


@pytest.mark.parametrize("args", [pytest.param(args, id=name) for name, args in WRONG_TYPES])
def test_wrong_types_are_false(args):
    assert verify_request(*args) is False


def test_the_body_only_signature_never_raises_on_non_ascii():
    good = sign(BODY, KEY)
    assert verify(BODY, KEY, good)
    for bad in ["é" * 64, "ff\u00e9", "", None, 42, good.upper() + "é"]:
        assert verify(BODY, KEY, bad) is False


def test_a_wrong_typed_key_is_not_echoed():
    secret = 987654321
    with pytest.raises(TypeError) as info:
        sign(BODY, secret)
    assert str(secret) not in str(info.value) and "int" in str(info.value)
    with pytest.raises((TypeError, ValueError)) as info:
        sign_request("wh-1", T, BODY, ["s3cr3t"])
    assert "s3cr3t" not in str(info.value)


def test_the_receiver_verifies_and_counts_by_the_signed_id():
    r = webhooks.WebhookReceiver(KEY)
    assert r.receive(headers(), BODY, T) and r.receive(headers(), BODY, T + 1)
    assert r.duplicates == 1
    assert not r.receive({**headers(), "webhook-id": "wh-9"}, BODY, T)  # a forged new id is not a new message
    assert not r.receive(headers(), BODY, T + 301)
    assert not r.receive(headers(key=b"other"), BODY, T)
    assert r.signature_rejected == 3 and r.received == {"wh-7": 2}


WEBHOOK_RUN = {"horizon": "1h", "visitors.rate_per_s": 2, "visitors.hot_share": 0.3,
               "data_actions.targets": ["webhook"], "webhooks.retry_schedule": [0, 1, 2]}


def test_the_twin_signs_each_attempt_and_its_endpoint_accepts_them():
    r = sim.run(DEFAULT, seed=3, overrides=WEBHOOK_RUN)
    c = r.counts["webhooks"]
    assert c["acknowledged"] > 0 and c["signature_rejected"] == 0
    sender = r.pipeline.webhooks
    req = sender.last_request
    key = r.pipeline.scenario.webhooks.signing_key
    t = int(req["headers"]["webhook-timestamp"])
    assert verify_request(req["headers"], req["body"], key, t)
    assert req["headers"]["idempotency-key"] == req["headers"]["webhook-id"]
    assert req["headers"]["x-signature"] == sign(req["body"], key)


def test_the_endpoint_rejects_requests_signed_with_another_key(monkeypatch):
    real = webhooks.WebhookReceiver
    monkeypatch.setattr(webhooks, "WebhookReceiver", lambda key, **kw: real(b"the-endpoint-has-another-key", **kw))
    r = sim.run(DEFAULT, seed=3, overrides=WEBHOOK_RUN)
    c = r.counts["webhooks"]
    w = r.conservation.by_kind["webhook"]
    assert c["acknowledged"] == 0 and c["signature_rejected"] > 0 and c["receiver_duplicates"] == 0
    assert w["created"] > 0 and w["dropped"] == {"dead_letter": w["created"] - w["in_flight"]}
