"""Provider chain administration: callback URLs, the demo chain, health actions for staff."""

from __future__ import annotations

import json
import logging
import secrets

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.services import audit_log_record
from messaging.dispatch.circuit_breaker import circuit_reset
from messaging.models import Provider, new_callback_secret
from messaging.numbers import normalize_ph_number
from messaging.providers.base import ProviderError, SendResult
from messaging.providers.registry import provider_adapter_build
from portal.errors import ApplicationError

logger = logging.getLogger(__name__)

DEMO_PRIMARY_NAME = "IPROGSMS"
DEMO_FALLBACK_NAME = "iprogtech fallback"


def provider_callback_path(provider: Provider) -> str:
    return reverse(
        "api_delivery_callback",
        kwargs={"adapter": provider.adapter, "provider_id": provider.pk, "secret": provider.callback_secret},
    )


def provider_callback_url(provider: Provider) -> str:
    """The URL to give the provider for delivery receipts (contains the route's secret)."""
    return settings.SMS_CALLBACK_BASE_URL.rstrip("/") + provider_callback_path(provider)


@transaction.atomic
def provider_circuit_reset(*, provider: Provider, actor=None) -> Provider:
    """Staff action: close the circuit and forget a "limit reached" answer (e.g. after a top-up)."""
    provider = Provider.objects.select_for_update(no_key=True).get(pk=provider.pk)  # as the dispatch locks it
    circuit_reset(provider)
    provider.save()
    audit_log_record(event_type="provider.circuit_reset", actor=actor, target=provider)
    return provider


def provider_test_send(*, provider: Provider, recipient: str, actor=None) -> SendResult:
    """Staff action: send one test SMS through this route directly (not charged, no Message row)."""
    recipient = normalize_ph_number(recipient)
    audit_log_record(event_type="provider.test_send", actor=actor, target=provider, extra={"to": recipient})
    try:
        with provider_adapter_build(provider) as adapter:
            return adapter.send(
                recipient=recipient,
                body=f"Test message from SMS Portal via {provider.name}.",
                reference=f"test-{secrets.token_hex(4)}",
            )
    except ProviderError as error:
        raise ApplicationError(f"{provider.name}: {error.message}", code=error.code, status=502)


@transaction.atomic
def provider_seed_demo_chain(*, simulator_url: str) -> None:
    """Configure the demo chain against the provider simulator (idempotent: safe to run again).

    - "IPROGSMS": IPROG adapter, sender name "IPROGSMS", 20 messages a month, priority 10 (the primary);
    - "iprogtech fallback": the Semaphore-shaped adapter on the same simulator, sender name "iprogtech", all
      networks, no portal quota, priority 20. A second adapter (rather than a second IPROG account) makes the
      fallback independent of the primary's account limits, as the operator's notice describes.
    Existing rows keep their circuit state and usage; their configuration is reset to the demo values.
    """
    base_url = simulator_url.rstrip("/")
    chain = [
        {
            "name": DEMO_PRIMARY_NAME,
            "adapter": "iprog",
            "base_url": base_url,
            "credentials": json.dumps({"api_token": "demo-iprog-token"}),
            "sender_name": "IPROGSMS",
            "networks": [],
            "monthly_quota": 20,
            "priority": 10,
        },
        {
            "name": DEMO_FALLBACK_NAME,
            "adapter": "semaphore",
            "base_url": base_url,
            "credentials": json.dumps({"apikey": "demo-semaphore-key"}),
            "sender_name": "iprogtech",
            "networks": [],
            "monthly_quota": None,
            "priority": 20,
        },
    ]
    providers = {}
    for values in chain:
        provider = Provider.objects.filter(name=values["name"]).first()
        if provider is None:
            provider = Provider.objects.create(**values, enabled=True, callback_secret=new_callback_secret())
        else:
            for field, value in values.items():
                setattr(provider, field, value)
            provider.enabled = True
            provider.save()
        providers[values["adapter"]] = provider
    transaction.on_commit(lambda: _point_simulator_receipts_at_us(base_url, providers))


def provider_simulator_connect(*, simulator_url: str) -> bool:
    """Tell a running provider simulator where to POST each API's delivery receipts: the callback URL of the
    enabled provider that uses that API on this simulator. Best effort; answers whether the simulator took it."""
    base_url = simulator_url.rstrip("/")
    providers = {}
    for provider in Provider.objects.filter(enabled=True, base_url=base_url).order_by("priority", "id"):
        providers.setdefault(provider.adapter, provider)
    return _point_simulator_receipts_at_us(base_url, providers)


def _point_simulator_receipts_at_us(simulator_url: str, providers: dict[str, Provider]) -> bool:
    config = {api: {"callback_url": provider_callback_url(p)} for api, p in providers.items()}
    if not config:
        return False
    try:
        requests.post(f"{simulator_url}/_sim/config", json=config, timeout=2).raise_for_status()
    except requests.RequestException as error:
        logger.info(
            "provider simulator not reachable at %s (%s); configure its callback_url later",
            simulator_url,
            error,
        )
        return False
    return True
