"""More edges of Data Action payloads and webhook signatures (sim.domain.actions), from the module
docstring: ISO times in UTC with milliseconds, the payload's Platform Event fields, the stable
compact webhook body, the signed content ``{msg_id}.{timestamp}.{body}``, the limits of a message
id (1 to 256 characters, no '.') and of a timestamp (a non-negative integer), signatures listed
during a key rotation (any valid one is enough, in any position), strict base64, and the payload
size in UTF-8 bytes. Expected MACs are recomputed here with ``hmac`` directly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from sim.domain.actions import (
    ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    SIGNATURES_HEADER,
    TIMESTAMP_HEADER,
    action_payload,
    iso_time,
    payload_bytes,
    sign,
    sign_request,
    signature_headers,
    signed_content,
    verify,
    verify_request,
    webhook_body,
)

KEY = b"whsec_k"
BODY = b'{"x":1}'


def mac_b64(msg_id: str, t: int, body: bytes = BODY, key: bytes = KEY) -> str:
    return base64.b64encode(hmac.new(key, f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()).decode()


def test_header_names():
    assert (ID_HEADER, TIMESTAMP_HEADER, SIGNATURES_HEADER) == ("webhook-id", "webhook-timestamp", "webhook-signature")
    assert SIGNATURE_HEADER == "x-signature" and IDEMPOTENCY_HEADER == "idempotency-key"


def test_iso_time_is_utc_with_milliseconds_from_the_run_start():
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1.5, 86400.0) == "1970-01-02T00:00:01.500Z"
    assert iso_time(60.0, 1_764_000_000.0) == "2025-11-24T16:01:00.000Z"


def test_the_payload_has_the_platform_event_fields():
    assert action_payload("003A", "Acme", "Pricing visit", 7, "T") == {
        "ContactId__c": "003A", "AccountName__c": "Acme", "Action__c": "Pricing visit",
        "UnifiedIndividualId__c": "UI-7", "FiredAt__c": "T"}
    assert action_payload(None, None, "a", 0, "T")["ContactId__c"] is None


def test_the_webhook_body_is_compact_sorted_json():
    payload = {"b": 1, "a": "é"}
    body = webhook_body([payload, payload], "C")
    assert body == (b'{"count":2,"creationDateTime":"C","events":[{"a":"\\u00e9","b":1},{"a":"\\u00e9","b":1}],'
                    b'"schemas":[{"fields":["a","b"],"schemaId":"Pricing_Visit"}]}')
    assert json.loads(webhook_body([], "C", schema="S")) == {
        "count": 0, "creationDateTime": "C", "events": [], "schemas": [{"schemaId": "S", "fields": []}]}


def test_the_body_signature_takes_bytes_or_text_keys():
    expected = hmac.new(b"k\xc3\xa9", BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, "ké") == expected and sign(BODY, bytearray(b"k\xc3\xa9")) == expected
    assert verify(BODY, "ké", expected) and verify(bytearray(BODY), b"k\xc3\xa9", expected.encode())
    assert not verify(BODY, "ké", expected[:-1])
    with pytest.raises(TypeError) as err:
        sign(BODY, 3.5)
    assert str(err.value) == "a signing key is bytes or text, not float"


def test_the_signed_content_is_id_dot_timestamp_dot_body():
    assert signed_content("m-1", 12, b"body") == b"m-1.12.body"
    assert signed_content("m", 0, b"") == b"m.0."
    assert sign_request("m:1_a-B", 5, BODY, KEY) == "v1," + mac_b64("m:1_a-B", 5)
    assert signature_headers("m", 5, BODY, "whsec_k") == {
        "webhook-id": "m", "webhook-timestamp": "5", "webhook-signature": "v1," + mac_b64("m", 5)}


def test_message_ids_are_1_to_256_allowed_characters():
    assert sign_request("a" * 256, 0, BODY, KEY) == "v1," + mac_b64("a" * 256, 0)
    assert verify_request(signature_headers("a" * 256, 9, BODY, KEY), BODY, KEY, 9)
    message = "a webhook message id is 1 to 256 characters among A-Z a-z 0-9 _ - :"
    for bad in ["a" * 257, "", "a.b", "a b", 7, None]:
        with pytest.raises(ValueError) as err:
            sign_request(bad, 0, BODY, KEY)
        assert str(err.value) == message
    long_id = "a" * 257  # signed by hand: the receiver refuses it too
    h = {ID_HEADER: long_id, TIMESTAMP_HEADER: "9", SIGNATURES_HEADER: "v1," + mac_b64(long_id, 9)}
    assert not verify_request(h, BODY, KEY, 9)


def test_timestamps_are_non_negative_integers():
    assert sign_request("m", 0, BODY, KEY) == "v1," + mac_b64("m", 0)
    message = "a webhook timestamp is whole epoch seconds (a non-negative integer)"
    for bad in [-1, True, False, 1.0, "5"]:
        with pytest.raises(ValueError) as err:
            sign_request("m", bad, BODY, KEY)
        assert str(err.value) == message


def test_timestamps_of_twelve_digits_verify_and_longer_ones_do_not():
    big = 10**12 - 1
    assert verify_request(signature_headers("m", big, BODY, KEY), BODY, KEY, big)
    huge = 10**12
    assert not verify_request(signature_headers("m", huge, BODY, KEY), BODY, KEY, huge, tolerance=float("inf"))
    h = signature_headers("m", 100, BODY, KEY)
    assert not verify_request(h, BODY, KEY, float("inf"), tolerance=float("inf"))
    assert verify_request(h, BODY, KEY, 100.0, tolerance=0.0)
    assert not verify_request(h, BODY, KEY, 100.5, tolerance=0.0)


def test_any_valid_signature_in_the_list_is_enough():
    good = "v1," + mac_b64("m", 5)
    other = "v1," + mac_b64("m", 5, key=b"old")
    h = signature_headers("m", 5, BODY, KEY)
    for listed in [f"{good} {other}", f"{other} {good}", f"v2,xx v1 {good}", f"{other} {other} {good} v1,!!"]:
        assert verify_request({**h, SIGNATURES_HEADER: listed}, BODY, KEY, 5), listed
    assert not verify_request({**h, SIGNATURES_HEADER: "V1," + mac_b64("m", 5)}, BODY, KEY, 5)
    assert not verify_request({**h, SIGNATURES_HEADER: "v1;" + mac_b64("m", 5)}, BODY, KEY, 5)


def test_base64_is_strict():
    b64 = mac_b64("m", 5)
    h = signature_headers("m", 5, BODY, KEY)
    assert not verify_request({**h, SIGNATURES_HEADER: "v1," + b64[:4] + "!" + b64[4:]}, BODY, KEY, 5)
    assert not verify_request({**h, SIGNATURES_HEADER: "v1," + b64.rstrip("=")}, BODY, KEY, 5)


def test_headers_may_be_bytes_or_any_case_and_the_body_a_bytearray():
    h = signature_headers("m", 5, BODY, KEY)
    as_bytes = {k.title(): v.encode() for k, v in h.items()}
    assert verify_request(as_bytes, bytearray(BODY), "whsec_k", 5)
    assert not verify_request({**h, 5: "x", SIGNATURES_HEADER: "v1," + mac_b64("m", 6)}, BODY, KEY, 5)
    assert not verify_request({**h, TIMESTAMP_HEADER: "５"}, BODY, KEY, 5)


def test_the_payload_size_is_compact_utf8():
    assert payload_bytes({"a": 1, "b": 2}) == len(b'{"a":1,"b":2}') == 13
    assert payload_bytes({"a": "é"}) == len('{"a":"é"}'.encode()) == 10


def test_a_part_that_is_not_base64_is_skipped_and_the_next_one_still_counts():
    good = "v1," + mac_b64("m", 5)
    h = signature_headers("m", 5, BODY, KEY)
    assert verify_request({**h, SIGNATURES_HEADER: f"v1,!! {good}"}, BODY, KEY, 5)
    assert verify_request({**h, SIGNATURES_HEADER: f"v1,{mac_b64('m', 5)[:-1]} {good}"}, BODY, KEY, 5)


def test_only_the_first_16_listed_signatures_are_read():
    good = "v1," + mac_b64("m", 5)
    other = "v1," + mac_b64("m", 5, key=b"old")
    h = signature_headers("m", 5, BODY, KEY)
    assert verify_request({**h, SIGNATURES_HEADER: " ".join([other] * 15 + [good])}, BODY, KEY, 5)  # 16th
    assert not verify_request({**h, SIGNATURES_HEADER: " ".join([other] * 16 + [good])}, BODY, KEY, 5)  # 17th


def test_signatures_are_separated_by_spaces_only():
    good = "v1," + mac_b64("m", 5)
    other = "v1," + mac_b64("m", 5, key=b"old")
    h = signature_headers("m", 5, BODY, KEY)
    assert verify_request({**h, SIGNATURES_HEADER: f"{other}  {good}"}, BODY, KEY, 5)  # an empty part between
    for sep in ["\t", "\n", ",", ";"]:
        assert not verify_request({**h, SIGNATURES_HEADER: f"{other}{sep}{good}"}, BODY, KEY, 5), repr(sep)


def test_a_non_ascii_signature_header_is_refused_whole_even_with_a_valid_part():
    good = "v1," + mac_b64("m", 5)
    h = signature_headers("m", 5, BODY, KEY)
    assert verify_request({**h, SIGNATURES_HEADER: f"{good} v1,AAAA"}, BODY, KEY, 5)
    assert not verify_request({**h, SIGNATURES_HEADER: f"{good} v1,é"}, BODY, KEY, 5)
    assert not verify_request({**h, SIGNATURES_HEADER: f"{good} ①"}, BODY, KEY, 5)
    assert not verify_request({**h, ID_HEADER: "m\u00e9"}, BODY, KEY, 5)
