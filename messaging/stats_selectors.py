"""Reads of the counts kept as messages change (`messaging.models_stats`). Same rule as `messaging.selectors`:
every read takes `organization=` and filters by it in the query."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from messaging.models_stats import MessageDailyCount


@dataclass(frozen=True)
class DailyCounts:
    """{(Manila day of creation, status): messages}: all of them, and those through a route that reports no handset
    receipt (a part of `all`)."""

    all: dict[tuple[date, str], int] = field(default_factory=dict)
    without_receipts: dict[tuple[date, str], int] = field(default_factory=dict)


def message_daily_counts(*, organization, since: date) -> DailyCounts:
    """The organization's counts from `since` on: one indexed read of a few rows per day, whatever the number of
    messages."""
    rows = (
        MessageDailyCount.objects.filter(organization=organization, day__gte=since)
        .exclude(messages=0)
        .values_list("day", "status", "receipts", "messages")
    )
    every: Counter = Counter()
    without_receipts: Counter = Counter()
    for day, status, receipts, n in rows:
        every[(day, status)] += n
        if not receipts:
            without_receipts[(day, status)] += n
    return DailyCounts(all=dict(every), without_receipts=dict(without_receipts))


def message_totals_counted(
    *,
    organization,
    first_day: date | None,
    last_day: date | None,
    statuses: tuple[str, ...] = (),
    networks: tuple[str, ...] = (),
    channel: str = "",
    routes: list[int] | None = None,
) -> tuple[int, Decimal]:
    """(messages, credits) the organization created from `first_day` through `last_day` (Manila days; None: open)
    that are now in one of `statuses` (any when empty), on one of `networks`, through `channel` and taken by one of
    `routes` (provider ids; None: any): a sum over the count rows of those days, read by the counts' own key."""
    rows = MessageDailyCount.objects.filter(organization=organization)
    if first_day is not None:
        rows = rows.filter(day__gte=first_day)
    if last_day is not None:
        rows = rows.filter(day__lte=last_day)
    if statuses:
        rows = rows.filter(status__in=statuses)
    if networks:
        rows = rows.filter(network__in=networks)
    if channel:
        rows = rows.filter(channel=channel)
    if routes is not None:
        rows = rows.filter(route__in=routes)
    totals = rows.aggregate(messages=Sum("messages"), credits=Sum("credits"))
    return totals["messages"] or 0, totals["credits"] or Decimal("0")
