"""The IPROG adapter against the provider simulator over real HTTP."""

import socket
import time

import pytest

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
from messaging.providers.iprog.adapter import IprogAdapter
from tests.messaging.conftest import recorded, wait_until

UNALLOCATED = "+639001234567"  # the simulator refuses 63900... as an invalid number, like a real provider


@pytest.fixture
def adapter(provider_simulator):
    with IprogAdapter(
        base_url=provider_simulator.base_url, credentials={"api_token": "tok-1"}, sender_name="", timeout=2.0
    ) as iprog:
        yield iprog


def test_send_returns_the_provider_id_and_sends_the_639_format(adapter, provider_simulator):
    result = adapter.send(recipient="+639171234567", body="Hello po", reference="m-1")

    assert isinstance(result, SendResult)
    assert result.provider_message_id.startswith("iSms-")
    assert (result.recipient, result.reference, result.state) == (
        "+639171234567",
        "m-1",
        DeliveryState.ACCEPTED,
    )
    [sent] = provider_simulator.sent
    assert sent["api"] == "iprog"
    assert sent["message_id"] == result.provider_message_id
    assert sent["provider_recipient"] == "639171234567"
    assert sent["message"] == "Hello po"


def test_sms_provider_route_is_sent_when_configured(provider_simulator):
    adapter = IprogAdapter(
        base_url=provider_simulator.base_url,
        credentials={"api_token": "tok-1", "sms_provider": "2"},
        sender_name="",
        timeout=2.0,
    )
    assert adapter._payload("639171234567", "x")["sms_provider"] == 2
    adapter.send(recipient="+639171234567", body="x", reference="r")
    assert len(provider_simulator.sent) == 1


def test_bulk_sends_same_body_in_one_request_and_keeps_order(adapter, provider_simulator):
    items = [
        OutboundSMS("+639171234567", "Promo", "a"),
        OutboundSMS("+639181234567", "Promo", "b"),
        OutboundSMS("+639991234567", "Promo", "c"),
        OutboundSMS("+639221234567", "Other text", "d"),
    ]
    results = adapter.send_bulk(items=items)

    assert [result.reference for result in results] == ["a", "b", "c", "d"]
    assert all(isinstance(result, SendResult) for result in results)
    by_id = {message["message_id"]: message for message in provider_simulator.sent}
    for item, result in zip(items, results, strict=True):
        assert by_id[result.provider_message_id]["recipient"] == item.recipient
        assert by_id[result.provider_message_id]["message"] == item.body
    # One bulk request for the three "Promo" items, one single send for the last.
    assert provider_simulator.stats()["iprog"]["requests"] == 2


def test_bulk_isolates_a_bad_number(adapter, provider_simulator):
    items = [
        OutboundSMS("+639171234567", "Hi", "a"),
        OutboundSMS(UNALLOCATED, "Hi", "b"),
        OutboundSMS("+639181234567", "Hi", "c"),
        OutboundSMS("0917 not e164", "Hi", "d"),
    ]
    results = adapter.send_bulk(items=items)

    assert isinstance(results[0], SendResult)
    assert isinstance(results[1], ProviderRejected) and not results[1].retryable
    assert isinstance(results[2], SendResult)
    assert isinstance(results[3], ProviderRejected) and results[3].code == "invalid_number"
    assert sorted(message["recipient"] for message in provider_simulator.sent) == [
        "+639171234567",
        "+639181234567",
    ]


def test_quota_exhausted_is_read_from_the_http_200_body(adapter, provider_simulator):
    provider_simulator.configure("iprog", quota=1)
    adapter.send(recipient="+639171234567", body="first", reference="1")

    with pytest.raises(ProviderQuotaExhausted) as caught:
        adapter.send(recipient="+639171234567", body="second", reference="2")

    assert not caught.value.retryable
    assert "monthly limit" in caught.value.message
    assert caught.value.details["status"] == 500
    assert len(provider_simulator.sent) == 1


def test_bulk_over_quota_raises_and_sends_nothing(adapter, provider_simulator):
    provider_simulator.configure("iprog", quota=2)
    items = [OutboundSMS(f"+63917123456{digit}", "Hi", str(digit)) for digit in range(3)]
    with pytest.raises(ProviderQuotaExhausted):
        adapter.send_bulk(items=items)
    assert provider_simulator.sent == []


def test_bulk_that_runs_out_midway_reports_the_rest_as_quota_exhausted(adapter, provider_simulator):
    provider_simulator.configure("iprog", quota=2)
    items = [
        OutboundSMS("+639171234560", "first", "a"),
        OutboundSMS("+639171234561", "first", "b"),
        OutboundSMS("+639171234562", "second", "c"),
        OutboundSMS("+639171234563", "second", "d"),
    ]
    results = adapter.send_bulk(items=items)

    assert [type(result) for result in results] == [
        SendResult,
        SendResult,
        ProviderQuotaExhausted,
        ProviderQuotaExhausted,
    ]
    assert len(provider_simulator.sent) == 2


def test_http_200_with_status_500_is_retryable(adapter, provider_simulator):
    provider_simulator.configure("iprog", error_mode="iprog_status_500")
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.retryable
    assert caught.value.details["status"] == 500
    assert caught.value.http_status is None  # the HTTP layer said 200


def test_random_errors_use_the_same_quirk(adapter, provider_simulator):
    provider_simulator.configure("iprog", error_rate=1.0)
    with pytest.raises(ProviderConnectionError):
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert provider_simulator.stats()["iprog"]["random_errors"] == 1


def test_http_500_is_retryable(adapter, provider_simulator):
    provider_simulator.configure("iprog", error_mode="http500")
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.retryable
    assert (caught.value.code, caught.value.http_status) == ("provider_server_error", 500)


def test_timeout_is_retryable_and_bounded(provider_simulator):
    provider_simulator.configure("iprog", error_mode="timeout")
    adapter = IprogAdapter(
        base_url=provider_simulator.base_url, credentials={"api_token": "t"}, sender_name="", timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert time.monotonic() - started < 2
    assert caught.value.retryable
    assert caught.value.code == "provider_timeout"


def test_rate_limit_is_retryable_with_retry_after(adapter, provider_simulator):
    provider_simulator.configure("iprog", error_mode="http429")
    with pytest.raises(ProviderRateLimited) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.retryable
    assert caught.value.retry_after == 1.0


def test_unreachable_provider_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    adapter = IprogAdapter(
        base_url=f"http://127.0.0.1:{port}", credentials={"api_token": "t"}, sender_name="", timeout=1.0
    )
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.code == "provider_unreachable"


def test_bad_number_is_rejected_not_retried(adapter, provider_simulator):
    with pytest.raises(ProviderRejected) as caught:
        adapter.send(recipient=UNALLOCATED, body="x", reference="1")
    assert not caught.value.retryable
    assert "639001234567" in caught.value.message


def test_unnormalized_number_is_rejected_before_any_request(adapter, provider_simulator):
    with pytest.raises(ProviderRejected) as caught:
        adapter.send(recipient="09171234567", body="x", reference="1")
    assert caught.value.code == "invalid_number"
    assert provider_simulator.stats()["iprog"].get("requests", 0) == 0


def test_empty_message_is_rejected(adapter):
    with pytest.raises(ProviderRejected):
        adapter.send(recipient="+639171234567", body="  ", reference="1")


def test_wrong_token_is_a_config_error(adapter, provider_simulator):
    provider_simulator.configure("iprog", api_key="the-real-token")
    with pytest.raises(ProviderConfigError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert not caught.value.retryable
    assert caught.value.http_status == 401


def test_missing_credentials_fail_at_construction(provider_simulator):
    with pytest.raises(ProviderConfigError, match="api_token"):
        IprogAdapter(base_url=provider_simulator.base_url, credentials={}, sender_name="", timeout=1)


def test_bad_base_url_is_a_config_error():
    with pytest.raises(ProviderConfigError):
        IprogAdapter(base_url="sms.iprogtech.com", credentials={"api_token": "t"}, sender_name="", timeout=1)


def test_status_polling_follows_the_delivery(adapter, provider_simulator):
    result = adapter.send(recipient="+639171234567", body="x", reference="1")
    report = wait_until(
        lambda: (r := adapter.fetch_status(provider_message_id=result.provider_message_id)).is_final and r
    )
    assert report.state == DeliveryState.DELIVERED
    assert report.provider_message_id == result.provider_message_id
    assert report.occurred_at is not None


def test_status_polling_reports_failures(adapter, provider_simulator):
    provider_simulator.configure("iprog", delivery_failure_rate=1.0)
    result = adapter.send(recipient="+639171234567", body="x", reference="1")
    report = wait_until(
        lambda: (r := adapter.fetch_status(provider_message_id=result.provider_message_id)).is_final and r
    )
    assert report.state == DeliveryState.FAILED
    assert report.error_message


def test_status_of_an_unknown_message_is_rejected(adapter):
    with pytest.raises(ProviderRejected):
        adapter.fetch_status(provider_message_id="iSms-nope")


def test_delivery_callback_round_trip(adapter, provider_simulator, receipt_sink):
    provider_simulator.configure("iprog", callback_url=receipt_sink.url)
    result = adapter.send(recipient="+639171234567", body="x", reference="1")

    [receipt] = receipt_sink.wait_for(1)
    reports = adapter.parse_callback(data=receipt["body"], headers=receipt["headers"])

    assert len(reports) == 1
    assert reports[0].provider_message_id == result.provider_message_id
    assert reports[0].state == DeliveryState.DELIVERED
    assert reports[0].occurred_at is not None


def test_parse_callback_accepts_lists_and_skips_junk(adapter):
    reports = adapter.parse_callback(data=recorded("iprog", "callback_batch.json"), headers={})
    assert [(r.provider_message_id, r.state) for r in reports] == [
        ("iSms-1", DeliveryState.FAILED),
        ("iSms-2", DeliveryState.UNKNOWN),
    ]
    assert reports[0].error_message == "Absent subscriber"


def test_remaining_credits(adapter, provider_simulator):
    provider_simulator.configure("iprog", quota=5)
    adapter.send(recipient="+639171234567", body="x", reference="1")
    adapter.send(recipient="+639171234567", body="y", reference="2")
    assert adapter.remaining_credits() == 3


def test_non_json_answer_is_retryable(adapter, monkeypatch):
    class Garbage:
        status_code = 200
        text = "<html>proxy error</html>"
        headers = {}

        def json(self):
            raise ValueError("not json")

    monkeypatch.setattr(adapter.session, "request", lambda *args, **kwargs: Garbage())
    with pytest.raises(ProviderConnectionError) as caught:
        adapter.send(recipient="+639171234567", body="x", reference="1")
    assert caught.value.code == "provider_bad_response"


def test_bulk_answer_with_wrong_id_count_is_not_retryable(adapter, monkeypatch):
    class Answer:
        status_code = 200
        headers = {}

        def json(self):
            return {"status": 200, "message": "queued", "message_ids": "iSms-only-one"}

    monkeypatch.setattr(adapter.session, "request", lambda *args, **kwargs: Answer())
    results = adapter.send_bulk(items=[OutboundSMS("+639171234567", "x", "a"), OutboundSMS("+639181234567", "x", "b")])
    assert all(type(result) is ProviderError and not result.retryable for result in results)
    assert results[0].code == "provider_ambiguous_response"
