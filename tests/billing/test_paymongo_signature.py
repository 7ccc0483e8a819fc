"""PayMongo's webhook signature (`Paymongo-Signature: t=...,te=...,li=...`): good, bad, stale, replayed."""

import hashlib
import hmac
import json
import time

import pytest

from billing.payment_providers.base import WebhookKind, WebhookVerificationError
from billing.payment_providers.paymongo.provider import PayMongoProvider
from billing.payment_providers.paymongo.signature import HEADER, signature_compute, signature_header, signature_verify

SECRET = "whsk_unit"
BODY = b'{"data":{"id":"evt_1","type":"event","attributes":{"type":"payment.paid","livemode":false,"data":{}}}}'


def verify(header, body=BODY, *, secret=SECRET, livemode=False, now=None):
    return signature_verify(header=header, body=body, secret=secret, livemode=livemode, tolerance_seconds=300, now=now)


def test_a_correct_test_mode_signature_is_accepted():
    timestamp = int(time.time())
    header = f"t={timestamp},te={signature_compute(secret=SECRET, timestamp=timestamp, body=BODY)},li="
    assert verify(header) == timestamp


def test_the_signature_is_the_hmac_sha256_of_timestamp_dot_raw_body():
    expected = hmac.new(b"whsk_unit", b"1496734173.{}", hashlib.sha256).hexdigest()
    assert signature_compute(secret=SECRET, timestamp=1496734173, body=b"{}") == expected


def test_live_mode_checks_the_li_part_only():
    header = signature_header(secret=SECRET, body=BODY, livemode=True)
    assert verify(header, livemode=True)
    with pytest.raises(WebhookVerificationError, match="test mode signature"):
        verify(header, livemode=False)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "te=abc,li=",
        "t=notanumber,te=abc",
    ],
)
def test_a_missing_or_malformed_header_is_refused(header):
    with pytest.raises(WebhookVerificationError):
        verify(header)


def test_a_tampered_body_or_another_secret_is_refused():
    header = signature_header(secret=SECRET, body=BODY, livemode=False)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(header, BODY.replace(b"evt_1", b"evt_2"))
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(signature_header(secret="whsk_other", body=BODY, livemode=False))


def test_a_stale_timestamp_is_refused_even_with_a_good_signature():
    old = int(time.time()) - 301
    header = signature_header(secret=SECRET, body=BODY, livemode=False, timestamp=old)
    with pytest.raises(WebhookVerificationError, match="outside the 300 s tolerance"):
        verify(header)
    future = int(time.time()) + 301
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(signature_header(secret=SECRET, body=BODY, livemode=False, timestamp=future))


def test_a_recorded_delivery_replayed_later_is_refused():
    """An attacker who captured a genuine delivery cannot send it again once the tolerance has passed."""
    sent_at = 1_800_000_000
    header = signature_header(secret=SECRET, body=BODY, livemode=False, timestamp=sent_at)
    assert verify(header, now=sent_at + 10) == sent_at
    with pytest.raises(WebhookVerificationError):
        verify(header, now=sent_at + 3600)


def test_no_secret_configured_refuses_everything():
    with pytest.raises(WebhookVerificationError, match="No webhook secret"):
        verify(signature_header(secret="", body=BODY, livemode=False), secret="")


def _provider():
    return PayMongoProvider(
        base_url="http://127.0.0.1:9", secret_key="sk_test_x", webhook_secret=SECRET, payment_method_types=["gcash"]
    )


def test_the_provider_reads_a_verified_failed_event():
    body = json.dumps(
        {
            "data": {
                "id": "evt_failed",
                "type": "event",
                "attributes": {
                    "type": "payment.failed",
                    "livemode": False,
                    "data": {
                        "id": "pay_1",
                        "type": "payment",
                        "attributes": {"payment_intent_id": "pi_9", "failed_message": "Card declined"},
                    },
                },
            }
        }
    ).encode()
    event = _provider().webhook_event(
        headers={HEADER.lower(): signature_header(secret=SECRET, body=body, livemode=False)}, body=body
    )
    assert (event.id, event.kind, event.intent_id, event.failure_reason) == (
        "evt_failed",
        WebhookKind.FAILED,
        "pi_9",
        "Card declined",
    )


def test_a_live_event_is_refused_by_a_test_mode_site():
    body = BODY.replace(b'"livemode":false', b'"livemode":true')
    with pytest.raises(WebhookVerificationError, match="mode"):
        _provider().webhook_event(
            headers={HEADER: signature_header(secret=SECRET, body=body, livemode=False)}, body=body
        )
