"""Reads of the counts kept as messages change (`messaging.models_stats`). Same rule as `messaging.selectors`:
every read takes `organization=` and filters by it in the query."""

from __future__ import annotations

from datetime import date

from messaging.models_stats import MessageDailyCount


def message_daily_counts(*, organization, since: date) -> dict[tuple[date, str], int]:
    """{(Manila day of creation, status): messages} from `since` on: one indexed read of a few rows per day,
    whatever the number of messages."""
    rows = (
        MessageDailyCount.objects.filter(organization=organization, day__gte=since)
        .exclude(messages=0)
        .values_list("day", "status", "messages")
    )
    return {(day, status): n for day, status, n in rows}
