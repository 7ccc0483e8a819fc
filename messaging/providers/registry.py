"""The registry of provider adapters, built from `settings.SMS_PROVIDER_ADAPTERS`.

Like RapidPro's channel-type registry (one class per provider, looked up by a short code), but explicit:
the list of dotted paths in settings is the whole registry, nothing registers itself on import, and two
adapters with the same `code` are a configuration error raised on first use. `provider_adapter_build` makes the
adapter of a route (a `messaging.Provider` row) from it.
"""

from __future__ import annotations

import json
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from messaging.models import Provider
from messaging.providers.base import ProviderAdapter, ProviderConfigError


@cache
def _registry() -> dict[str, type[ProviderAdapter]]:
    adapters: dict[str, type[ProviderAdapter]] = {}
    for dotted_path in settings.SMS_PROVIDER_ADAPTERS:
        try:
            adapter_class = import_string(dotted_path)
        except ImportError as error:
            message = f"SMS_PROVIDER_ADAPTERS: cannot import {dotted_path!r}: {error}"
            raise ImproperlyConfigured(message) from error
        if not (isinstance(adapter_class, type) and issubclass(adapter_class, ProviderAdapter)):
            raise ImproperlyConfigured(f"SMS_PROVIDER_ADAPTERS: {dotted_path!r} is not a ProviderAdapter subclass")
        if not adapter_class.code:
            raise ImproperlyConfigured(f"SMS_PROVIDER_ADAPTERS: {dotted_path!r} has no code")
        if adapter_class.code in adapters:
            raise ImproperlyConfigured(
                f"SMS_PROVIDER_ADAPTERS: code {adapter_class.code!r} is used by both "
                f"{adapters[adapter_class.code].__module__}.{adapters[adapter_class.code].__qualname__} "
                f"and {dotted_path}"
            )
        adapters[adapter_class.code] = adapter_class
    return adapters


@receiver(setting_changed)
def _reset_registry(*, setting: str, **kwargs: object) -> None:
    if setting == "SMS_PROVIDER_ADAPTERS":
        _registry.cache_clear()


def get_adapter_class(code: str) -> type[ProviderAdapter]:
    """The adapter class for `code`; an unknown code is a route misconfiguration."""
    try:
        return _registry()[code]
    except KeyError:
        raise ProviderConfigError(f"No SMS provider adapter with code {code!r}", code="provider_unknown_adapter")


def adapter_call_size(code: str) -> int:
    """How many numbers one call of this adapter carries: its bulk size, or 1 (an unknown code counts as 1)."""
    try:
        adapter_class = get_adapter_class(code)
    except ProviderConfigError:
        return 1
    return max(1, adapter_class.max_bulk) if adapter_class.supports_bulk else 1


def adapter_choices() -> list[tuple[str, str]]:
    """(code, label) pairs for model/form choices, in settings order."""
    return [(code, adapter_class.label or code) for code, adapter_class in _registry().items()]


def provider_credentials(provider: Provider) -> dict:
    if not provider.credentials:
        return {}
    try:
        value = json.loads(provider.credentials)
    except json.JSONDecodeError:
        raise ProviderConfigError(f"{provider.name}: credentials are not valid JSON", code="provider_credentials")
    if not isinstance(value, dict):
        raise ProviderConfigError(f"{provider.name}: credentials must be a JSON object", code="provider_credentials")
    return value


def wire_sender_name(provider: Provider, requested: str) -> str:
    """The sender name a message asking for `requested` ("" = none) goes out with on this route: the requested
    name when the route's adapter sends custom names, else the route's own (an unknown adapter counts as not)."""
    try:
        custom = get_adapter_class(provider.adapter).supports_custom_sender_name
    except ProviderConfigError:
        custom = False
    return requested if custom and requested else provider.sender_name


def provider_adapter_build(provider: Provider, *, sender_name: str | None = None) -> ProviderAdapter:
    """An adapter for this route (ProviderConfigError for an unknown adapter or missing credentials), sending
    under `sender_name` (from `wire_sender_name`) or the route's own name."""
    adapter_class = get_adapter_class(provider.adapter)
    return adapter_class(
        base_url=provider.base_url,
        credentials=provider_credentials(provider),
        sender_name=sender_name or provider.sender_name,
        timeout=provider.timeout_seconds,
    )
