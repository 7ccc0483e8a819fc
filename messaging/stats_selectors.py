"""Reads of the counts kept as messages change (`messaging.models_stats`). Same rule as `messaging.selectors`:
every read takes `organization=` and filters by it in the query."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

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
