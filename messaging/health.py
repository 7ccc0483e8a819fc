"""Messaging's answers to the readiness probe (`portal.hooks.readiness_checks`): the message queue and the providers.

- `messaging.queue`: messages due to be dispatched and the age of the oldest; not ready when the oldest has waited
  longer than READYZ_MAX_TASK_AGE_SECONDS (the dispatch worker is stopped or cannot keep up).
- `messaging.provider.<name>`: each enabled provider's circuit state. One open circuit is reported but ready (the
  chain routes around it); not ready when every enabled provider's circuit is open, or none is enabled.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from messaging.models import CircuitState, Message, MessageStatus, Provider


def queue_depth_and_oldest(*, now: datetime) -> tuple[int, datetime | None]:
    """Messages of every organization that are due to be dispatched, and when the oldest became due."""
    # Every organization's queue: the probe speaks for the whole site, not for a tenant.
    due = Message.objects.unscoped().filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
    summary = due.aggregate(depth=Count("id"), oldest=Min("next_attempt_at"))
    return summary["depth"], summary["oldest"]


def message_queue_readiness(*, now: datetime | None = None) -> list[tuple[str, bool, str]]:
    now = now or timezone.now()
    depth, oldest = queue_depth_and_oldest(now=now)
    limit = settings.READYZ_MAX_TASK_AGE_SECONDS
    age = (now - oldest).total_seconds() if oldest else 0.0
    return [("messaging.queue", age <= limit, f"{depth} messages due; oldest waiting {age:.0f} s (limit {limit} s)")]


def provider_circuit_readiness() -> list[tuple[str, bool, str]]:
    providers = list(Provider.objects.filter(enabled=True).order_by("priority", "id"))
    if not providers:
        return [("messaging.providers", False, "no enabled SMS provider: nothing can be sent")]
    all_open = all(provider.circuit_state == CircuitState.OPEN for provider in providers)
    findings = []
    for provider in providers:
        detail = f"circuit {provider.circuit_state}"
        if provider.circuit_state != CircuitState.CLOSED:
            detail += f" after {provider.consecutive_failures} consecutive failures"
            if provider.last_error:
                detail += f"; last error: {provider.last_error[:200]}"
        if all_open:
            detail += "; every enabled provider's circuit is open"
        findings.append((f"messaging.provider.{provider.name}", not all_open, detail))
    return findings


def messaging_readiness() -> list[tuple[str, bool, str]]:
    return message_queue_readiness() + provider_circuit_readiness()
