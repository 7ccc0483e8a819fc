import pytest
from django.core.exceptions import ImproperlyConfigured

from messaging.providers import adapter_choices, get_adapter_class
from messaging.providers.base import ProviderConfigError
from messaging.providers.iprog import IprogAdapter
from messaging.providers.semaphore import SemaphoreAdapter


def test_default_registry_has_both_providers():
    assert get_adapter_class("iprog") is IprogAdapter
    assert get_adapter_class("semaphore") is SemaphoreAdapter
    assert adapter_choices() == [("iprog", "IPROG SMS"), ("semaphore", "Semaphore")]


def test_unknown_code_is_a_config_error():
    with pytest.raises(ProviderConfigError, match="'twilio'"):
        get_adapter_class("twilio")


def test_registry_follows_settings(settings):
    settings.SMS_PROVIDER_ADAPTERS = ["messaging.providers.semaphore.SemaphoreAdapter"]
    assert adapter_choices() == [("semaphore", "Semaphore")]
    with pytest.raises(ProviderConfigError):
        get_adapter_class("iprog")


class DuplicateIprog(IprogAdapter):
    label = "Another IPROG"


def test_duplicate_code_fails_naming_both(settings):
    settings.SMS_PROVIDER_ADAPTERS = [
        "messaging.providers.iprog.IprogAdapter",
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
