"""The dashboard home: summary panels (messages, delivery, balance, monthly usage) and a 14-day chart.

The counts come from `MessageDailyCount`, kept as messages are created and change status, so a load reads a few
dozen rows whatever the volume (counting two weeks of messages took 368 ms at a million). The page lives here
because most of what it shows is messaging's; the balance and usage come from billing's
selectors. `portal/urls.py` routes `dashboard/` to `DashboardView`. The chart is `messaging/_dashboard_chart.html`,
with the chart dict in the context as `messaging_chart`.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.views.generic import TemplateView

from accounts import usage_selectors
from accounts.roles import Permission
from accounts.web import OrganizationViewMixin
from billing import selectors as billing_selectors
from messaging import stats_selectors, ui_selectors
from messaging.models import MessageStatus
from messaging.stats_selectors import DailyCounts

# Outcomes a message can reach once a provider took it or refused it; the delivered rate is measured on these.
SETTLED_STATUSES = (
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.EXPIRED,
    MessageStatus.REJECTED,
)
CHART_COLORS = {
    MessageStatus.QUEUED: "#adb5bd",
    MessageStatus.SENDING: "#6ea8fe",
    MessageStatus.SENT: "#0d6efd",
    MessageStatus.DELIVERED: "#198754",
    MessageStatus.FAILED: "#dc3545",
    MessageStatus.EXPIRED: "#fd7e14",
    MessageStatus.REJECTED: "#6f42c1",
    MessageStatus.CANCELLED: "#6c757d",
}


CHART_DAYS = 14
WEEK_DAYS = 7


def dashboard_counts(*, organization) -> tuple[list[date], DailyCounts]:
    """The chart's Manila days (oldest first) and the counts of messages created on each, per status now (all, and
    those through a route without receipts), read from the daily counts kept as messages change: a few rows per
    day, not the messages themselves."""
    today = ui_selectors.manila_today()
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    return days, stats_selectors.message_daily_counts(organization=organization, since=days[0])


def _status_totals(counts: dict[tuple[date, str], int], *, since: date) -> dict[str, int]:
    totals = dict.fromkeys(MessageStatus.values, 0)
    for (day, status), n in counts.items():
        if day >= since and status in totals:
            totals[status] += n
    return totals


def dashboard_panels(*, organization, counts: tuple[list[date], DailyCounts] | None = None) -> list[dict]:
    """[{key, label, value, hint}] for the dashboard home's cards. "Last 7 days" are today and the six Manila
    calendar days before it."""
    days, daily = counts or dashboard_counts(organization=organization)
    today_counts = _status_totals(daily.all, since=days[-1])
    week_counts = _status_totals(daily.all, since=days[-WEEK_DAYS])
    # A provider that reports no handset receipt (Semaphore) leaves good messages `sent` for good: they are
    # neither on their way nor in the delivered rate, which is measured on the messages that can get a receipt.
    # The daily counts carry that split, so this is no read of the messages.
    no_receipt_week = _status_totals(daily.without_receipts, since=days[-WEEK_DAYS])
    no_receipt_today = _status_totals(daily.without_receipts, since=days[-1])
    settled = sum(week_counts[status] - no_receipt_week.get(status, 0) for status in SETTLED_STATUSES)
    delivered = week_counts[MessageStatus.DELIVERED]
    sent_no_receipt = no_receipt_week.get(MessageStatus.SENT, 0)
    balance = billing_selectors.balance_get(organization=organization)
    used, limit = billing_selectors.monthly_usage(organization=organization)
    sent_today = sum(today_counts.values())
    in_flight = sum(today_counts[s] for s in ui_selectors.IN_FLIGHT_STATUSES) - no_receipt_today.get(
        MessageStatus.SENT, 0
    )
    return [
        {
            "key": "messages_today",
            "label": "Messages today",
            "value": f"{sent_today:,}",
            "hint": f"{in_flight:,} still on their way" if in_flight else "Philippine time",
        },
        {
            "key": "delivered_rate",
            "label": "Delivered, last 7 days",
            "value": f"{100 * delivered / settled:.1f}%" if settled else "—",
            "hint": (f"{delivered:,} of {settled:,} with a final status" if settled else "No final statuses yet")
            + (f"; {sent_no_receipt:,} sent, no receipt from the provider (not counted)" if sent_no_receipt else ""),
        },
        {
            "key": "balance",
            "label": "Credit balance",
            "value": f"{balance:,.2f}",
            "hint": "credits",
        },
        {
            "key": "monthly_usage",
            "label": "Segments this month",
            "value": f"{used:,}",
            "hint": f"of {limit:,} allowed" if limit is not None else "no monthly limit",
        },
    ]


def dashboard_chart(*, organization, counts: tuple[list[date], DailyCounts] | None = None) -> dict:
    """Messages created per day over the last 14 days, one dataset per status (a Chart.js stacked bar)."""
    days, daily = counts or dashboard_counts(organization=organization)
    by_day = daily.all
    datasets = [
        {
            "status": status.value,
            "label": status.label,
            "backgroundColor": CHART_COLORS[status],
            "data": [by_day.get((day, status.value), 0) for day in days],
        }
        for status in MessageStatus
    ]
    return {
        "labels": [day.strftime("%b %d") for day in days],
        "days": [day.isoformat() for day in days],
        "datasets": [d for d in datasets if any(d["data"])],
        "total": sum(sum(d["data"]) for d in datasets),
    }


def dashboard_context(*, organization) -> dict:
    """What the dashboard home shows besides the organization itself (the counts read once for both)."""
    counts = dashboard_counts(organization=organization)
    # API calls per day and errors per key, from the daily sums (two small queries, whatever the traffic).
    usage_days = usage_selectors.api_usage_per_day(organization=organization)
    return {
        "panels": dashboard_panels(organization=organization, counts=counts),
        "messaging_chart": dashboard_chart(organization=organization, counts=counts),
        "usage_days": usage_days,
        "usage_keys": usage_selectors.api_usage_per_key(organization=organization),
        "usage_peak": max([1, *(day.calls for day in usage_days)]),
        "panel_templates": ["messaging/_dashboard_chart.html", "accounts/_api_usage.html"],
    }


class DashboardView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/dashboard.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(dashboard_context(organization=self.organization))
        return context
