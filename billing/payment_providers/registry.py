"""The registry of payment providers, built from `settings.BILLING_PAYMENT_PROVIDERS` (dotted paths).

Explicit, like the SMS providers' registry: the list in settings is the whole registry, two providers with the same
`code` are a configuration error raised on first use.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from billing.payment_providers.base import PaymentProvider


@cache
def _registry() -> dict[str, type[PaymentProvider]]:
    providers: dict[str, type[PaymentProvider]] = {}
    for dotted_path in settings.BILLING_PAYMENT_PROVIDERS:
        try:
            provider_class = import_string(dotted_path)
        except ImportError as error:
            raise ImproperlyConfigured(f"BILLING_PAYMENT_PROVIDERS: cannot import {dotted_path!r}: {error}") from error
        if not (isinstance(provider_class, type) and issubclass(provider_class, PaymentProvider)):
            raise ImproperlyConfigured(f"BILLING_PAYMENT_PROVIDERS: {dotted_path!r} is not a PaymentProvider subclass")
        if not provider_class.code:
            raise ImproperlyConfigured(f"BILLING_PAYMENT_PROVIDERS: {dotted_path!r} has no code")
        if provider_class.code in providers:
            raise ImproperlyConfigured(
                f"BILLING_PAYMENT_PROVIDERS: code {provider_class.code!r} is used twice (again by {dotted_path})"
            )
        providers[provider_class.code] = provider_class
    return providers


@receiver(setting_changed)
def _reset_registry(*, setting: str, **kwargs: object) -> None:
    if setting == "BILLING_PAYMENT_PROVIDERS":
        _registry.cache_clear()


def provider_codes() -> list[str]:
    return list(_registry())


def payment_provider(code: str) -> PaymentProvider:
    """The provider with this code, configured from settings; LookupError for an unknown code."""
    try:
        provider_class = _registry()[code]
    except KeyError:
        raise LookupError(f"No payment provider with code {code!r}") from None
    return provider_class.from_settings()


def checkout_provider() -> PaymentProvider:
    """The provider new checkouts use (`settings.BILLING_CHECKOUT_PROVIDER`)."""
    try:
        return payment_provider(settings.BILLING_CHECKOUT_PROVIDER)
    except LookupError as error:
        raise ImproperlyConfigured(f"BILLING_CHECKOUT_PROVIDER: {error}") from error
