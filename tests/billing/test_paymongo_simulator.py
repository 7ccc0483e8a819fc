"""The PayMongo simulator speaks the API the adapter expects and delivers webhooks signed like PayMongo's: before
the customer returns, after, twice with the same event id, or not at all."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from billing.payment_providers.base import CheckoutStatus, PaymentProviderError
from billing.payment_providers.paymongo.provider import PayMongoProvider
from billing.payment_providers.paymongo.signature import HEADER, signature_verify
from tests.billing.conftest import SECRET_KEY, WEBHOOK_SECRET, pay_on_hosted_page


class WebhookSink:
    """Collects (headers, body) POSTed to `url`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    sink = WebhookSink()
    yield sink
    sink.close()


@pytest.fixture
def provider(paymongo_simulator):
    return PayMongoProvider(
        base_url=paymongo_simulator.base_url,
        secret_key=SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        payment_method_types=["gcash", "paymaya", "card", "qrph"],
    )


def open_checkout(provider, amount="250.00"):
    return provider.checkout_create(
        reference_number="SMS-1",
        amount_php=Decimal(amount),
        item_name="Starter: 500 SMS credits",
        description="SMS credits",
        success_url="https://portal.example/ok",
        cancel_url="https://portal.example/cancel",
        metadata={"payment_id": "1"},
    )


def test_create_and_read_a_checkout_session(provider):
    checkout = open_checkout(provider)
    assert checkout.status == CheckoutStatus.OPEN and checkout.amount_php == Decimal("250.00")
    assert checkout.intent_id.startswith("pi_") and checkout.reference_number == "SMS-1"
    again = provider.checkout_get(checkout.id)
    assert (again.id, again.status, again.payment_id) == (checkout.id, CheckoutStatus.OPEN, "")
    pay_on_hosted_page(checkout.checkout_url, method="qrph")
    paid = provider.checkout_get(checkout.id)
    assert paid.status == CheckoutStatus.PAID and paid.method == "qrph" and paid.payment_id.startswith("pay_")


def test_wrong_key_unknown_session_and_bad_requests_are_errors(provider, paymongo_simulator):
    wrong = PayMongoProvider(
        base_url=paymongo_simulator.base_url,
        secret_key="sk_test_nope",
        webhook_secret="",
        payment_method_types=["gcash"],
    )
    with pytest.raises(PaymentProviderError, match="401"):
        open_checkout(wrong)
    with pytest.raises(PaymentProviderError, match="404"):
        provider.checkout_get("cs_missing")
    response = requests.post(
        f"{paymongo_simulator.base_url}/v1/checkout_sessions",
        json={"data": {"attributes": {"line_items": [], "payment_method_types": ["gcash"]}}},
        auth=(SECRET_KEY, ""),
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "parameter_invalid"


def test_the_hosted_page_offers_the_methods_and_cancel_returns_to_the_cancel_url(provider):
    checkout = open_checkout(provider)
    page = requests.get(checkout.checkout_url, timeout=5).text
    for label in ("GCash", "Maya", "Card", "QR Ph", "₱250.00"):
        assert label in page
    response = pay_on_hosted_page(checkout.checkout_url, action="cancel")
    assert response.status_code == 303 and response.headers["Location"] == "https://portal.example/cancel"
    assert provider.checkout_get(checkout.id).status == CheckoutStatus.OPEN


def _verified(headers, body):
    return signature_verify(
        header=headers[HEADER], body=body, secret=WEBHOOK_SECRET, livemode=False, tolerance_seconds=300
    )


def test_webhook_before_return_is_signed_and_arrives_before_the_redirect(provider, paymongo_simulator, sink):
    paymongo_simulator.configure(webhook_url=sink.url, webhook_mode="before_return")
    checkout = open_checkout(provider)
    response = pay_on_hosted_page(checkout.checkout_url)
    assert response.status_code == 303 and len(sink.received) == 1  # delivered before the answer
    headers, body = sink.received[0]
    assert _verified(headers, body)
    event = json.loads(body)["data"]
    assert event["id"].startswith("evt_") and event["attributes"]["type"] == "checkout_session.payment.paid"
    assert event["attributes"]["data"]["id"] == checkout.id


def test_webhook_twice_repeats_the_same_event_and_late_comes_after_the_redirect(provider, paymongo_simulator, sink):
    paymongo_simulator.configure(webhook_url=sink.url, webhook_mode="twice", webhook_delay_ms=100)
    pay_on_hosted_page(open_checkout(provider).checkout_url)
    sink.wait_for(2)
    first, second = (json.loads(body)["data"]["id"] for _, body in sink.received[:2])
    assert first == second

    sink.received.clear()
    paymongo_simulator.configure(webhook_mode="after_return", webhook_delay_ms=300)
    pay_on_hosted_page(open_checkout(provider).checkout_url)
    assert sink.received == []
    sink.wait_for(1)
    assert _verified(*sink.received[0])


def test_a_paid_or_expired_session_cannot_be_paid_again(provider, paymongo_simulator):
    paid = open_checkout(provider)
    pay_on_hosted_page(paid.checkout_url)
    assert "This checkout is paid" in pay_on_hosted_page(paid.checkout_url).text
    expired = open_checkout(provider)
    assert paymongo_simulator.session_expire(expired.id)
    assert provider.checkout_get(expired.id).status == CheckoutStatus.EXPIRED
    assert pay_on_hosted_page(expired.checkout_url).status_code == 200
    assert provider.checkout_get(expired.id).status == CheckoutStatus.EXPIRED
