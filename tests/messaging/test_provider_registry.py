from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from messaging.providers.base import (
    DeliveryReport,
    DeliveryState,
    OutboundSMS,
    ProviderAdapter,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderQuotaExhausted,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)
from messaging.providers.http import retry_after_seconds
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.providers.registry import adapter_choices, get_adapter_class
from messaging.providers.semaphore.adapter import SemaphoreAdapter


def test_default_registry_has_both_providers():
    assert get_adapter_class("iprog") is IprogAdapter
    assert get_adapter_class("semaphore") is SemaphoreAdapter
    assert adapter_choices() == [("iprog", "IPROG SMS"), ("semaphore", "Semaphore")]


def test_unknown_code_is_a_config_error():
    with pytest.raises(ProviderConfigError, match="'twilio'"):
        get_adapter_class("twilio")


def test_registry_follows_settings(settings):
    settings.SMS_PROVIDER_ADAPTERS = ["messaging.providers.semaphore.adapter.SemaphoreAdapter"]
    assert adapter_choices() == [("semaphore", "Semaphore")]
    with pytest.raises(ProviderConfigError):
        get_adapter_class("iprog")


class DuplicateIprog(IprogAdapter):
    label = "Another IPROG"


def test_duplicate_code_fails_naming_both(settings):
    settings.SMS_PROVIDER_ADAPTERS = [
        "messaging.providers.iprog.adapter.IprogAdapter",
        "tests.messaging.test_provider_registry.DuplicateIprog",
    ]
    with pytest.raises(ImproperlyConfigured, match="'iprog'.*IprogAdapter.*DuplicateIprog"):
        adapter_choices()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("messaging.providers.nowhere.Adapter", "cannot import"),
        ("messaging.providers.base.OutboundSMS", "not a ProviderAdapter"),
        ("messaging.providers.base.ProviderAdapter", "has no code"),
    ],
)
def test_bad_entries_fail_clearly(settings, path, reason):
    settings.SMS_PROVIDER_ADAPTERS = [path]
    with pytest.raises(ImproperlyConfigured, match=reason):
        get_adapter_class("iprog")


# --- base-class behaviour every adapter inherits ---


class OneByOne(ProviderAdapter):
    """Sends one at a time (no bulk API): fails "+639000000000", runs out of quota after `room` messages."""

    code = "one-by-one"

    def __init__(self, room: int) -> None:
        super().__init__(base_url="http://127.0.0.1:1", credentials={}, sender_name="", timeout=1)
        self.room = room

    def send(self, *, recipient, body, reference):
        if recipient == "+639000000000":
            raise ProviderRejected("bad number")
        if self.room == 0:
            raise ProviderQuotaExhausted("full")
        self.room -= 1
        return SendResult(provider_message_id=f"id-{reference}", recipient=recipient, reference=reference)


def items(*recipients):
    return [OutboundSMS(recipient, "x", str(index)) for index, recipient in enumerate(recipients)]


def test_default_send_bulk_returns_rejections_in_place():
    results = OneByOne(room=5).send_bulk(items=items("+639171234567", "+639000000000", "+639181234567"))
    assert [type(result) for result in results] == [SendResult, ProviderRejected, SendResult]


def test_default_send_bulk_raises_route_errors_when_nothing_went_out():
    with pytest.raises(ProviderQuotaExhausted):
        OneByOne(room=0).send_bulk(items=items("+639171234567", "+639181234567"))


def test_default_send_bulk_keeps_what_went_out_before_a_route_error():
    results = OneByOne(room=1).send_bulk(items=items("+639171234567", "+639181234567", "+639191234567"))
    assert [type(result) for result in results] == [
        SendResult,
        ProviderQuotaExhausted,
        ProviderQuotaExhausted,
    ]


def test_error_classes_say_whether_to_retry():
    assert ProviderConnectionError("x").retryable and ProviderRateLimited("x").retryable
    for final in (ProviderConfigError, ProviderQuotaExhausted, ProviderRejected):
        assert not final("x").retryable
    error = ProviderRejected("bad", code="invalid_number", details={"n": 1})
    assert (error.code, error.message, error.details) == ("invalid_number", "bad", {"n": 1})
    assert ProviderRejected("bad").code == "provider_rejected"


def test_delivery_report_finality():
    assert DeliveryReport("1", DeliveryState.DELIVERED).is_final
    assert DeliveryReport("1", DeliveryState.FAILED).is_final
    assert not DeliveryReport("1", DeliveryState.SENT).is_final
    assert not DeliveryReport("1", DeliveryState.ACCEPTED).is_final


def test_retry_after_parsing():
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = timezone.now() + timedelta(seconds=120)
    assert 100 < retry_after_seconds(format_datetime(later, usegmt=True)) <= 120
