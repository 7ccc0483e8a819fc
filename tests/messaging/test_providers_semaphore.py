"""The Semaphore adapter against the provider simulator over real HTTP."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from messaging.providers.base import (
    DeliveryState,
    OutboundSMS,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)
from messaging.providers.semaphore.adapter import SemaphoreAdapter
from tests.messaging.conftest import recorded, wait_until

UNALLOCATED = "+639001234567"


@pytest.fixture
def adapter(provider_simulator):
    with SemaphoreAdapter(
        base_url=provider_simulator.base_url, credentials={"apikey": "key-1"}, sender_name="ACME", timeout=2.0
    ) as semaphore:
        yield semaphore


def test_send_uses_sender_name_and_returns_the_message_id(adapter, provider_simulator):
    result = adapter.send(recipient="+639171234567", body="Salamat!", reference="m-1")

    assert isinstance(result, SendResult)
    assert result.provider_message_id.isdigit()
    assert result.state == DeliveryState.ACCEPTED  # Semaphore says "Pending"
    assert result.raw["status"] == "Pending"
    [sent] = provider_simulator.sent
    assert (sent["api"], sent["sender_name"], sent["provider_recipient"], sent["message"]) == (
        "semaphore",
        "ACME",
        "639171234567",
        "Salamat!",
    )


def test_without_sender_name_semaphore_uses_its_default(provider_simulator):
    adapter = SemaphoreAdapter(
        base_url=provider_simulator.base_url, credentials={"apikey": "k"}, sender_name="", timeout=2.0
    )
    adapter.send(recipient="+639171234567", body="x", reference="1")
    assert provider_simulator.sent[0]["sender_name"] == "SEMAPHORE"


def test_bulk_is_one_request_and_maps_answers_to_items(adapter, provider_simulator):
    items = [
        OutboundSMS("+639171234567", "Sale today", "a"),
        OutboundSMS("+639181234567", "Sale today", "b"),
        OutboundSMS("+639171234567", "Sale today", "c"),  # same number twice: two messages
    ]
    results = adapter.send_bulk(items=items)

    assert provider_simulator.stats()["semaphore"]["requests"] == 1
    assert [result.reference for result in results] == ["a", "b", "c"]
    assert {result.raw["type"] for result in results} == {"Bulk"}
    assert len({result.provider_message_id for result in results}) == 3
    by_id = {message["message_id"]: message for message in provider_simulator.sent}
    for item, result in zip(items, results, strict=True):
        assert by_id[result.provider_message_id]["recipient"] == item.recipient


def test_bulk_respects_the_1000_number_limit(adapter, provider_simulator):
    items = [OutboundSMS(f"+63917{index:07d}", "Hello", str(index)) for index in range(1001)]
    results = adapter.send_bulk(items=items)
    assert len(results) == 1001 and all(isinstance(result, SendResult) for result in results)
    assert provider_simulator.stats()["semaphore"]["requests"] == 2


def test_bulk_isolates_a_bad_number(adapter, provider_simulator):
    items = [
        OutboundSMS("+639171234567", "Hi", "a"),
        OutboundSMS(UNALLOCATED, "Hi", "b"),
        OutboundSMS("+639181234567", "Hi", "c"),
    ]
    results = adapter.send_bulk(items=items)
    assert [type(result) for result in results] == [SendResult, ProviderRejected, SendResult]
    assert len(provider_simulator.sent) == 2


def test_bad_number_in_an_http_200_validation_answer_is_rejected(adapter):
    with pytest.raises(ProviderRejected) as caught:
        adapter.send(recipient=UNALLOCATED, body="x", reference="1")
    assert not caught.value.retryable
    assert "number" in caught.value.message


def test_no_credits_is_quota_exhausted(adapter, provider_simulator):
    provider_simulator.configure("semaphore", quota=1)
    adapter.send(recipient="+639171234567", body="x", reference="1")
    with pytest.raises(ProviderQuotaExhausted) as caught:
        adapter.send(recipient="+639171234567", body="y", reference="2")
    assert not caught.value.retryable
    assert "not sufficient" in caught.value.message


def test_http_500_is_retryable(adapter, provider_simulator):
    provider_simulator.configure("semaphore", error_mode="http500")
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.retryable and caught.value.http_status == 500


def test_iprog_quirk_mode_is_a_plain_500_for_semaphore(adapter, provider_simulator):
    provider_simulator.configure("semaphore", error_mode="iprog_status_500")
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.http_status == 500


def test_timeout_is_retryable(provider_simulator):
    provider_simulator.configure("semaphore", error_mode="timeout")
    adapter = SemaphoreAdapter(
        base_url=provider_simulator.base_url, credentials={"apikey": "k"}, sender_name="", timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert time.monotonic() - started < 2
    assert caught.value.retryable and caught.value.code == "provider_timeout"


def test_latency_below_the_timeout_still_succeeds(provider_simulator):
    provider_simulator.configure("semaphore", latency_ms=150)
    adapter = SemaphoreAdapter(
        base_url=provider_simulator.base_url, credentials={"apikey": "k"}, sender_name="", timeout=1.0
    )
    started = time.monotonic()
    adapter.send(recipient="+639171234567", body="x", reference="1")
    assert time.monotonic() - started >= 0.15


def test_rate_limit(adapter, provider_simulator):
    provider_simulator.configure("semaphore", error_mode="http429")
    with pytest.raises(ProviderRateLimited) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize("mode", ["http401", "wrong_key"])
def test_auth_failures_are_config_errors(adapter, provider_simulator, mode):
    if mode == "http401":
        provider_simulator.configure("semaphore", error_mode="http401")
    else:
        provider_simulator.configure("semaphore", api_key="the-real-key")
    with pytest.raises(ProviderConfigError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert not caught.value.retryable


def test_unapproved_sender_name_is_a_config_error(adapter, provider_simulator):
    provider_simulator.configure("semaphore", approved_sender_names=["OTHERCO"])
    with pytest.raises(ProviderConfigError, match="sendername") as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert not caught.value.retryable
    assert provider_simulator.sent == []


def test_status_polling_sees_sent(adapter):
    result = adapter.send(recipient="+639171234567", body="x", reference="1")
    report = wait_until(
        lambda: (
            (r := adapter.fetch_status(provider_message_id=result.provider_message_id)).state != DeliveryState.ACCEPTED
            and r
        )
    )
    assert report.state == DeliveryState.SENT
    assert report.occurred_at is not None


def test_status_polling_sees_failures(adapter, provider_simulator):
    provider_simulator.configure("semaphore", delivery_failure_rate=1.0)
    result = adapter.send(recipient="+639171234567", body="x", reference="1")
    report = wait_until(
        lambda: (r := adapter.fetch_status(provider_message_id=result.provider_message_id)).is_final and r
    )
    assert report.state == DeliveryState.FAILED


def test_status_of_unknown_message_is_rejected(adapter):
    with pytest.raises(ProviderRejected):
        adapter.fetch_status(provider_message_id="999")


def test_delivery_callback_round_trip(adapter, provider_simulator, receipt_sink):
    provider_simulator.configure("semaphore", callback_url=receipt_sink.url)
    results = adapter.send_bulk(items=[OutboundSMS("+639171234567", "x", "a"), OutboundSMS("+639181234567", "x", "b")])
    receipts = receipt_sink.wait_for(2)
    reports = [
        report
        for receipt in receipts
        for report in adapter.parse_callback(data=receipt["body"], headers=receipt["headers"])
    ]
    assert sorted(report.provider_message_id for report in reports) == sorted(
        result.provider_message_id for result in results
    )
    assert {report.state for report in reports} == {DeliveryState.SENT}


def test_parse_callback_maps_semaphore_statuses(adapter):
    reports = adapter.parse_callback(data=recorded("semaphore", "callback_batch.json"), headers={})
    assert [(r.provider_message_id, r.state) for r in reports] == [
        ("1", DeliveryState.ACCEPTED),
        ("2", DeliveryState.SENT),
        ("3", DeliveryState.FAILED),
    ]
    assert reports[1].occurred_at.year == 2026


def test_remaining_credits(adapter, provider_simulator):
    provider_simulator.configure("semaphore", quota=10)
    adapter.send_bulk(items=[OutboundSMS(f"+63917123456{digit}", "x", str(digit)) for digit in range(4)])
    assert adapter.remaining_credits() == 6


def test_find_sent_lists_what_semaphore_accepted_for_a_number_and_text(adapter, provider_simulator, monkeypatch):
    before = datetime.now(UTC) - timedelta(minutes=1)
    first = adapter.send(recipient="+639171234567", body="Same text", reference="a1")
    adapter.send(recipient="+639171234567", body="Other text", reference="a2")
    adapter.send(recipient="+639181234567", body="Same text", reference="a3")
    second = adapter.send(recipient="+639171234567", body="Same text", reference="a4")
    found = adapter.find_sent(recipient="+639171234567", body="Same text", since=before)
    assert [r.provider_message_id for r in found] == [first.provider_message_id, second.provider_message_id]
    assert adapter.find_sent(recipient="+639171234567", body="Never sent", since=before) == []
    # Pages of 1,000 are followed; a window too busy to scan is an error the engine leaves to staff.
    monkeypatch.setattr(SemaphoreAdapter, "lookup_max_pages", 0)
    with pytest.raises(ProviderError, match="more than"):
        adapter.find_sent(recipient="+639171234567", body="Same text", since=before)


def test_the_simulator_lists_messages_newest_first_by_page_and_date(adapter, provider_simulator):
    for i in range(3):
        adapter.send(recipient="+639171234567", body=f"n{i}", reference=f"r{i}")
    url = f"{provider_simulator.base_url}/api/v4/messages"
    page1 = requests.get(url, params={"apikey": "test-key", "limit": 2, "page": 1}, timeout=5).json()
    page2 = requests.get(url, params={"apikey": "test-key", "limit": 2, "page": 2}, timeout=5).json()
    assert [m["message"] for m in page1 + page2] == ["n2", "n1", "n0"]
    old = requests.get(url, params={"apikey": "test-key", "endDate": "2020-01-01"}, timeout=5).json()
    assert old == []
    assert requests.get(url, timeout=5).status_code == 401  # no apikey
