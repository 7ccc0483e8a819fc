"""The operator's time zone and calendar month: the one place people's time and monthly limits come from.

People see Asia/Manila (settings.TIME_ZONE) on every page, e-mail and export; monthly quotas, limits and statements
reset at midnight there on the first day of the month.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time

from django.conf import settings
from django.utils import timezone


def operator_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def operator_now() -> datetime:
    return timezone.now().astimezone(operator_tz())


def operator_date(moment: datetime | None = None) -> date:
    return (moment or timezone.now()).astimezone(operator_tz()).date()


def month_start(moment: datetime | None = None) -> date:
    """First day of the operator's calendar month that contains `moment` (default: now)."""
    return operator_date(moment).replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the operator's calendar month starting on `month`, as aware datetimes."""
    tz = operator_tz()
    return datetime.combine(month, time.min, tzinfo=tz), datetime.combine(next_month(month), time.min, tzinfo=tz)


def next_month_start(moment: datetime | None = None) -> datetime:
    """The moment the operator's next calendar month begins (when monthly quotas reset)."""
    return month_bounds(month_start(moment))[1]
