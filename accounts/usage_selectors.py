"""Reads of the organization's API usage for the API keys page: from the daily sums (`APIUsageDaily`), never
the raw request log, so the page costs two small queries whatever the traffic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from accounts.models import APIUsageDaily, Organization
from portal.timezone import operator_date

USAGE_DAYS = 14
_ERRORS = Q(status_class__gte=4)


@dataclass(frozen=True)
class DayUsage:
    day: date
    calls: int
    errors: int


@dataclass(frozen=True)
class KeyUsage:
    api_key_id: int | None  # None: calls made with a signed-in session
    name: str
    prefix: str
    calls: int
    errors: int


def _since(days: int, today: date | None) -> tuple[date, date]:
    today = today or operator_date()
    return today - timedelta(days=days - 1), today


def api_usage_per_day(
    *, organization: Organization, days: int = USAGE_DAYS, today: date | None = None
) -> list[DayUsage]:
    """Calls and errors (4xx and 5xx answers) per Manila day, oldest first, a row for every day of the window."""
    start, end = _since(days, today)
    totals = {
        row["day"]: row
        for row in APIUsageDaily.objects.filter(organization=organization, day__gte=start, day__lte=end)
        .values("day")
        .annotate(total_calls=Sum("calls"), total_errors=Coalesce(Sum("calls", filter=_ERRORS), 0))
    }
    result = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        row = totals.get(day)
        result.append(
            DayUsage(day=day, calls=row["total_calls"] if row else 0, errors=row["total_errors"] if row else 0)
        )
    return result


def api_usage_per_key(
    *, organization: Organization, days: int = USAGE_DAYS, today: date | None = None
) -> list[KeyUsage]:
    """Calls and errors per API key over the window, busiest first (keys without calls are left out)."""
    start, end = _since(days, today)
    rows = (
        APIUsageDaily.objects.filter(organization=organization, day__gte=start, day__lte=end)
        .values("api_key_id", "api_key__name", "api_key__prefix")
        .annotate(total_calls=Sum("calls"), total_errors=Coalesce(Sum("calls", filter=_ERRORS), 0))
        .order_by("-total_calls", "api_key_id")
    )
    return [
        KeyUsage(
            api_key_id=row["api_key_id"],
            name=row["api_key__name"] or "Signed-in sessions",
            prefix=row["api_key__prefix"] or "",
            calls=row["total_calls"],
            errors=row["total_errors"],
        )
        for row in rows
    ]
