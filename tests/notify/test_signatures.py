"""Webhook signatures: valid ones pass, anything else is False (never an exception)."""
import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from notify.signatures import sendgrid_signature_valid, twilio_signature_valid

TOKEN = "twilio-auth-token"
URL = "https://consular.example/webhooks/twilio/inbound"
PARAMS = {"From": "+33612345678", "To": "+15005550006", "Body": "Oui", "MessageSid": "SM123"}


def twilio_sign(url=URL, params=PARAMS, token=TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def test_twilio_signature_made_with_the_auth_token_is_valid():
    assert twilio_signature_valid(TOKEN, URL, PARAMS, twilio_sign())


def test_twilio_signature_for_other_params_is_invalid():
    assert not twilio_signature_valid(TOKEN, URL, {**PARAMS, "Body": "2"}, twilio_sign())


def test_twilio_signature_for_another_url_is_invalid():
    # What the app sees behind a TLS proxy is not what Twilio signed.
    assert not twilio_signature_valid(TOKEN, "http://127.0.0.1:5000/webhooks/twilio/inbound", PARAMS, twilio_sign())


def test_twilio_signature_with_another_token_is_invalid():
    assert not twilio_signature_valid("other-token", URL, PARAMS, twilio_sign())


def test_twilio_multidict_params_keep_repeated_fields():
    from werkzeug.datastructures import MultiDict

    form = MultiDict([("Body", "a"), ("Body", "b"), ("From", "+33612345678")])
    signature = RequestValidator(TOKEN).compute_signature(URL, form)
    assert twilio_signature_valid(TOKEN, URL, form, signature)


def test_twilio_sha256_signature_named_by_the_settings_header():
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS, "HMAC_SHA256")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert twilio_signature_valid(TOKEN, URL, PARAMS, signature, settings_header=header)
    assert not twilio_signature_valid(TOKEN, URL, PARAMS, signature)


@pytest.mark.parametrize("token, url, params, signature", [
    (TOKEN, URL, PARAMS, None), (TOKEN, URL, PARAMS, ""), (TOKEN, URL, PARAMS, "garbage!!"),
    (TOKEN, URL, PARAMS, "é" * 28), (None, URL, PARAMS, "x"), ("", URL, PARAMS, "x"),
    (TOKEN, None, PARAMS, "x"), (TOKEN, URL, None, "x"), (TOKEN, URL, 42, "x"), (TOKEN, 42, PARAMS, "x"),
])
def test_twilio_garbage_is_invalid_not_an_error(token, url, params, signature):
    assert twilio_signature_valid(token, url, params, signature) is False


@pytest.fixture(scope="module")
def keypair():
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode()


BODY = '[{"email":"t@example.org","event":"delivered","delivery_id":"12","sg_event_id":"e1"}]\r\n'
TIMESTAMP = "1700000000"


def sendgrid_sign(private, body=BODY, timestamp=TIMESTAMP):
    return base64.b64encode(private.sign((timestamp + body).encode(), ec.ECDSA(hashes.SHA256()))).decode()


def test_sendgrid_signature_over_timestamp_and_raw_body_is_valid(keypair):
    private, public = keypair
    assert sendgrid_signature_valid(public, BODY, sendgrid_sign(private), TIMESTAMP)


def test_sendgrid_raw_body_may_be_bytes(keypair):
    private, public = keypair
    assert sendgrid_signature_valid(public, BODY.encode(), sendgrid_sign(private), TIMESTAMP)


def test_sendgrid_reserialised_body_is_invalid(keypair):
    import json

    private, public = keypair
    assert not sendgrid_signature_valid(public, json.dumps(json.loads(BODY)), sendgrid_sign(private), TIMESTAMP)


def test_sendgrid_signature_with_another_timestamp_is_invalid(keypair):
    private, public = keypair
    assert not sendgrid_signature_valid(public, BODY, sendgrid_sign(private), "1700000001")


def test_sendgrid_signature_from_another_key_is_invalid(keypair):
    _, public = keypair
    other = ec.generate_private_key(ec.SECP256R1())
    assert not sendgrid_signature_valid(public, BODY, sendgrid_sign(other), TIMESTAMP)


@pytest.mark.parametrize("key, body, signature, timestamp", [
    ("PUBLIC", BODY, "SIG", TIMESTAMP), ("not base64 at all", BODY, "SIG", TIMESTAMP),
    ("KEY", BODY, "!!!", TIMESTAMP), ("KEY", BODY, base64.b64encode(b"not DER").decode(), TIMESTAMP),
    ("KEY", BODY, None, TIMESTAMP), ("KEY", BODY, "SIG", None), ("KEY", None, "SIG", TIMESTAMP),
    ("KEY", b"\xff\xfe", "SIG", TIMESTAMP), ("KEY", BODY, "", TIMESTAMP), (None, BODY, "SIG", TIMESTAMP),
    ("KEY", BODY, 42, TIMESTAMP), ("KEY", 42, "SIG", TIMESTAMP),
])
def test_sendgrid_garbage_is_invalid_not_an_error(keypair, key, body, signature, timestamp):
    private, public = keypair
    key = public if key == "KEY" else key
    signature = sendgrid_sign(private) if signature == "SIG" else signature
    assert sendgrid_signature_valid(key, body, signature, timestamp) is False
