"""Reads the dashboard pages need beyond `messaging.selectors` (owned by the engine). Same rule: every
organization-owned read takes `organization=` and filters by it in the query."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate

from messaging.models import Message, MessageStatus, Provider
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


def message_status_list(*, organization, message_ids: list[int]) -> list[Message]:
    """Current status of some of the organization's messages (the log's live status cells), one query."""
    ids = [int(i) for i in message_ids[:MAX_STATUS_IDS]]
    return list(
        Message.objects.filter(organization=organization, id__in=ids).only(
            "id", "status", "error_code", "error_message", "organization_id"
        )
    )


def message_daily_status_counts(*, organization, days: int = 14) -> tuple[list[date], dict[tuple[date, str], int]]:
    """The last `days` Manila calendar days (oldest first) and {(day, status): messages created that day}."""
    today = manila_today()
    day_list = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    rows = (
        Message.objects.filter(organization=organization, created_at__gte=manila_day_start(day_list[0]))
        .annotate(day=TruncDate("created_at", tzinfo=operator_tz()))
        .values("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return day_list, {(row["day"], row["status"]): row["n"] for row in rows}
