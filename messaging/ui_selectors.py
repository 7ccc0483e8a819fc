"""Reads the dashboard pages need beyond `messaging.selectors` (owned by the engine). Same rule: every
organization-owned read takes `organization=` and filters by it in the query."""

from __future__ import annotations

from datetime import date, datetime

from messaging.models import Message, MessageStatus, Provider
from messaging.providers.base import ProviderConfigError
from messaging.providers.registry import get_adapter_class
from messaging.selectors import LIST_COLUMNS
from portal.timezone import operator_date, operator_tz

IN_FLIGHT_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)
MAX_STATUS_IDS = 200


def manila_today() -> date:
    """Today in the operator's zone."""
    return operator_date()


def manila_day_start(day: date) -> datetime:
    """Midnight starting `day` in the operator's zone."""
    return datetime.combine(day, datetime.min.time(), tzinfo=operator_tz())


def provider_names() -> list[str]:
    """Route names for the log's provider filter (the API shows the same names on each message)."""
    return list(Provider.objects.order_by("priority", "id").values_list("name", flat=True))


def message_status_rows(*, organization, message_ids: list[int]) -> list[dict]:
    """Some of the organization's messages as the log shows them (the live refresh redraws whole rows: sender,
    route, status, times), newest first, as `selectors.LIST_COLUMNS` values, one query."""
    ids = [int(i) for i in message_ids[:MAX_STATUS_IDS]]
    return list(
        Message.objects.filter(organization=organization, id__in=ids)
        .order_by("-created_at", "-id")
        .values(*LIST_COLUMNS)
    )


def adapter_reports_receipts(adapter: str) -> bool:
    """Whether messages through a route with this adapter can ever read "delivered" (an unknown adapter is assumed
    to)."""
    try:
        return get_adapter_class(adapter).reports_handset_delivery
    except ProviderConfigError:
        return True


def provider_reports_receipts(provider: Provider | None) -> bool:
    """Whether messages through this route can ever read "delivered"."""
    return provider is None or adapter_reports_receipts(provider.adapter)


def providers_without_receipts() -> list[int]:
    """Ids of the routes whose provider reports no handset receipt (Semaphore): a few rows, no per-message work."""
    rows = Provider.objects.values_list("id", "adapter")
    return [pk for pk, adapter in rows if not adapter_reports_receipts(adapter)]


def still_on_its_way(message: Message) -> bool:
    """Whether the message's status may still change by itself (the log keeps polling it): queued, sending, or sent
    through a provider that reports delivery."""
    if message.status == MessageStatus.SENT:
        return provider_reports_receipts(message.provider)
    return message.status in IN_FLIGHT_STATUSES
