"""The portal's own count of the messages each provider took in a calendar month (`ProviderMonthlyUsage`),
against its `monthly_quota`. The claim reserves one per routed message; a hand-over that did not go out gives
its reservation back."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import F
from django.utils import timezone

from messaging.models import Provider, ProviderMonthlyUsage
from portal.timezone import month_start


def usage_rows_lock(providers: list[Provider], month: date) -> dict[int, int]:
    """Lock (creating them when missing) the month's usage rows of `providers`; messages counted per provider."""
    ProviderMonthlyUsage.objects.bulk_create(
        [ProviderMonthlyUsage(provider=p, month=month, messages=0) for p in providers], ignore_conflicts=True
    )
    rows = ProviderMonthlyUsage.objects.select_for_update().filter(provider__in=providers, month=month)
    return {row.provider_id: row.messages for row in rows}


def usage_read(providers: list[Provider], month: date) -> dict[int, int]:
    """The month's usage of `providers`, read without locks (a snapshot; missing rows count 0)."""
    rows = ProviderMonthlyUsage.objects.filter(provider__in=providers, month=month)
    return dict(rows.values_list("provider_id", "messages"))


def usage_adjust(provider_id: int, month: date, delta: int) -> None:
    """Reserve (`delta` > 0) or give back (< 0) messages of the month; the count never goes below zero."""
    if delta > 0:
        ProviderMonthlyUsage.objects.filter(provider_id=provider_id, month=month).update(messages=F("messages") + delta)
    elif delta < 0:
        ProviderMonthlyUsage.objects.filter(provider_id=provider_id, month=month, messages__gte=-delta).update(
            messages=F("messages") + delta
        )


def provider_usage_this_month(*, providers: list[Provider], now: datetime | None = None) -> dict[int, int]:
    """Messages counted against each provider's quota in the current calendar month (one query, no lock)."""
    month = month_start(now or timezone.now())
    rows = ProviderMonthlyUsage.objects.filter(provider__in=providers, month=month).values_list(
        "provider_id", "messages"
    )
    usage = dict.fromkeys((p.pk for p in providers), 0)
    usage.update(dict(rows))
    return usage
