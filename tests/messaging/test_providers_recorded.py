"""Each adapter against the recorded answers and callbacks in its package's `testdata/` (no network): every kind
of answer lands in the right outcome class, so routing and fallback get the error split they rely on."""

import json
from datetime import datetime

import pytest

from messaging.providers.base import (
    DeliveryState,
    OutboundSMS,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRejected,
    SendResult,
)
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.providers.semaphore.adapter import SemaphoreAdapter
from tests.messaging.conftest import recorded


class RecordedAnswer:
    """What `requests` would return for a recorded body."""

    def __init__(self, body, status_code: int = 200) -> None:
        self.status_code = status_code
        self.headers = {}
        self.text = json.dumps(body)
        self._body = body

    def json(self):
        return self._body


def answering(adapter, monkeypatch, provider: str, name: str, status_code: int = 200):
    requests = []

    def request(method, url, **kwargs):
        requests.append((method, url, kwargs))
        return RecordedAnswer(recorded(provider, name), status_code)

    monkeypatch.setattr(adapter.session, "request", request)
    return requests


@pytest.fixture
def iprog():
    with IprogAdapter(
        base_url="https://sms.iprogtech.example", credentials={"api_token": "t"}, sender_name="", timeout=1
    ) as adapter:
        yield adapter


@pytest.fixture
def semaphore():
    with SemaphoreAdapter(
        base_url="https://api.semaphore.example", credentials={"apikey": "k"}, sender_name="iprogtech", timeout=1
    ) as adapter:
        yield adapter


# --- IPROG ---


def test_iprog_accepted_send(iprog, monkeypatch):
    answering(iprog, monkeypatch, "iprog", "send_accepted.json")
    result = iprog.send(recipient="+639171234567", body="Hello po", reference="a1")
    assert (result.provider_message_id, result.reference, result.state) == ("iSms-XHYBk", "a1", DeliveryState.ACCEPTED)


def test_iprog_accepted_bulk_keeps_the_order_of_the_ids(iprog, monkeypatch):
    requests = answering(iprog, monkeypatch, "iprog", "send_bulk_accepted.json")
    results = iprog.send_bulk(
        items=[OutboundSMS("+639171234567", "Promo", "a1"), OutboundSMS("+639181234567", "Promo", "a2")]
    )
    assert [(r.provider_message_id, r.reference) for r in results] == [("iSms-rQZvhq", "a1"), ("iSms-tZrk96", "a2")]
    [(method, url, kwargs)] = requests
    assert (method, url.rsplit("/api", 1)[1]) == ("POST", "/v1/sms_messages/send_bulk")
    assert kwargs["json"]["phone_number"] == "639171234567,639181234567"


@pytest.mark.parametrize(
    ("name", "error_class", "retryable"),
    [
        ("send_monthly_limit.json", ProviderQuotaExhausted, False),
        ("send_invalid_number.json", ProviderRejected, False),
        ("send_invalid_token.json", ProviderConfigError, False),
        ("send_server_error.json", ProviderConnectionError, True),
    ],
)
def test_iprog_errors_in_http_200_bodies(iprog, monkeypatch, name, error_class, retryable):
    answering(iprog, monkeypatch, "iprog", name)
    with pytest.raises(error_class) as caught:
        iprog.send(recipient="+639171234567", body="x", reference="a1")
    assert caught.value.retryable is retryable
    assert caught.value.details["body"] == recorded("iprog", name)


def test_iprog_bulk_answer_with_too_few_ids_is_ambiguous_and_not_retried(iprog, monkeypatch):
    answering(iprog, monkeypatch, "iprog", "send_bulk_one_id_for_two.json")
    results = iprog.send_bulk(items=[OutboundSMS("+639171234567", "x", "a"), OutboundSMS("+639181234567", "x", "b")])
    assert all(type(result) is ProviderError and not result.retryable for result in results)
    assert {result.code for result in results} == {"provider_ambiguous_response"}


def test_iprog_status_and_credits(iprog, monkeypatch):
    answering(iprog, monkeypatch, "iprog", "status_delivered.json")
    report = iprog.fetch_status(provider_message_id="iSms-XHYBk")
    assert (report.provider_message_id, report.state, report.is_final) == ("iSms-XHYBk", DeliveryState.DELIVERED, True)
    assert report.occurred_at == datetime.fromisoformat("2026-11-25T01:30:05.120000+00:00")
    answering(iprog, monkeypatch, "iprog", "credits.json")
    assert iprog.remaining_credits() == 1234


def test_iprog_delivery_callback(iprog):
    [report] = iprog.parse_callback(data=recorded("iprog", "callback_delivered.json"), headers={})
    assert (report.provider_message_id, report.state) == ("iSms-XHYBk", DeliveryState.DELIVERED)
    assert report.occurred_at == datetime.fromisoformat("2026-11-25T01:30:05.120000+00:00")


# --- Semaphore ---


def test_semaphore_accepted_send(semaphore, monkeypatch):
    requests = answering(semaphore, monkeypatch, "semaphore", "send_accepted.json")
    result = semaphore.send(recipient="+639171234567", body="Hello po", reference="a1")
    assert isinstance(result, SendResult)
    assert (result.provider_message_id, result.state) == ("200000001", DeliveryState.ACCEPTED)
    assert requests[0][2]["data"]["sendername"] == "iprogtech"


def test_semaphore_bulk_answers_are_matched_by_number_not_position(semaphore, monkeypatch):
    answering(semaphore, monkeypatch, "semaphore", "send_bulk_accepted.json")
    results = semaphore.send_bulk(
        items=[OutboundSMS("+639171234567", "Promo", "a1"), OutboundSMS("+639181234567", "Promo", "a2")]
    )
    assert [(r.provider_message_id, r.reference) for r in results] == [("200000003", "a1"), ("200000002", "a2")]


@pytest.mark.parametrize(
    ("name", "error_class"),
    [
        ("send_invalid_number.json", ProviderRejected),
        ("send_no_credits.json", ProviderQuotaExhausted),
        ("send_sender_name_not_approved.json", ProviderConfigError),
        ("send_invalid_apikey.json", ProviderConfigError),
    ],
)
def test_semaphore_validation_and_credit_answers(semaphore, monkeypatch, name, error_class):
    answering(semaphore, monkeypatch, "semaphore", name)
    with pytest.raises(error_class) as caught:
        semaphore.send(recipient="+639171234567", body="x", reference="a1")
    assert not caught.value.retryable
    assert caught.value.details["body"] == recorded("semaphore", name)


def test_semaphore_credits(semaphore, monkeypatch):
    answering(semaphore, monkeypatch, "semaphore", "account.json")
    assert semaphore.remaining_credits() == 4321


def test_semaphore_delivery_callback(semaphore):
    [report] = semaphore.parse_callback(data=recorded("semaphore", "callback_sent.json"), headers={})
    assert (report.provider_message_id, report.state, report.error_message) == ("200000001", DeliveryState.SENT, "")
    assert report.occurred_at == datetime(2026, 11, 25, 9, 30, 4)  # Semaphore's local time, no offset
