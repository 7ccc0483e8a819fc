"""Step 2 of a dispatch round: hand one provider group to its adapter, outside any transaction and holding no
lock. Bulk where the adapter supports it, else one call per message; our reference for each hand-over is the
attempt's `reference` ("a<attempt id>"). Never raises a ProviderError: one outcome per item, in order."""

from __future__ import annotations

import logging

from django.conf import settings

from messaging.dispatch.batch import DispatchGroup, NotAttempted
from messaging.models import DispatchAttempt, Message
from messaging.providers.base import (
    OutboundSMS,
    ProviderAdapter,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    SendResult,
)
from messaging.providers.registry import provider_adapter_build

logger = logging.getLogger(__name__)

Outcome = SendResult | ProviderError


def group_send(group: DispatchGroup) -> list[Outcome]:
    """One outcome per item of the group: the provider's answer, or the error that stood in for it."""
    try:
        adapter = provider_adapter_build(group.provider)
    except ProviderError as error:
        return [error] * len(group.items)
    with adapter:
        if adapter.supports_bulk and len(group.items) > 1:
            return _send_in_bulk(adapter, group)
        return _send_one_by_one(adapter, group)


def _outbound(attempt: DispatchAttempt, message: Message) -> OutboundSMS:
    return OutboundSMS(
        recipient=message.recipient, body=message.delivery_body or message.body, reference=attempt.reference
    )


def _send_in_bulk(adapter: ProviderAdapter, group: DispatchGroup) -> list[Outcome]:
    provider = group.provider
    size = max(1, adapter.max_bulk)
    outcomes: list[Outcome] = []
    for start in range(0, len(group.items), size):
        chunk = group.items[start : start + size]
        route_error = next((o for o in outcomes if isinstance(o, ProviderQuotaExhausted | ProviderConfigError)), None)
        if route_error is not None:  # the route is closed: do not offer it the rest
            outcomes.extend([route_error] * len(chunk))
            continue
        items = [_outbound(attempt, message) for attempt, message in chunk]
        try:
            results = adapter.send_bulk(items=items)
            if len(results) != len(items):
                raise ProviderConnectionError(
                    f"{provider.name} answered {len(results)} outcomes for {len(items)} messages",
                    code="provider_bad_response",
                )
        except ProviderError as error:
            results = [error] * len(items)
        except Exception as error:  # a bug in an adapter must not leave the batch in flight
            logger.exception("adapter %s send_bulk crashed", provider.adapter)
            results = [ProviderConnectionError(f"adapter error: {error}", code="adapter_error")] * len(items)
        outcomes.extend(results)
    return outcomes


def _send_one_by_one(adapter: ProviderAdapter, group: DispatchGroup) -> list[Outcome]:
    """After SMS_CIRCUIT_FAILURE_THRESHOLD retryable failures in a row the rest is not attempted (the breaker
    will open); after a route-wide error (limit reached, bad configuration) the rest gets that error."""
    provider = group.provider
    outcomes: list[Outcome] = []
    consecutive_failures = 0
    route_error: ProviderError | None = None
    for attempt, message in group.items:
        if route_error is not None:
            outcomes.append(route_error)
            continue
        if consecutive_failures >= settings.SMS_CIRCUIT_FAILURE_THRESHOLD:
            outcomes.append(NotAttempted(f"{provider.name} failed the previous messages of this batch"))
            continue
        item = _outbound(attempt, message)
        try:
            outcome = adapter.send(recipient=item.recipient, body=item.body, reference=item.reference)
        except ProviderError as error:
            outcome = error
        except Exception as error:
            logger.exception("adapter %s send crashed", provider.adapter)
            outcome = ProviderConnectionError(f"adapter error: {error}", code="adapter_error")
        if isinstance(outcome, ProviderQuotaExhausted | ProviderConfigError):
            route_error = outcome
        consecutive_failures = consecutive_failures + 1 if getattr(outcome, "retryable", False) else 0
        outcomes.append(outcome)
    return outcomes
