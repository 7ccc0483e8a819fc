"""The dashboard home: summary panels (messages, delivery, balance, monthly usage) and a 14-day chart.

The page lives here because most of what it shows is messaging's; the balance and usage come from billing's
selectors. `portal/urls.py` routes `dashboard/` to `DashboardView`. The chart is `messaging/_dashboard_chart.html`,
with the chart dict in the context as `messaging_chart`.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.views.generic import TemplateView

from accounts.roles import Permission
from accounts.web import OrganizationViewMixin
from billing import selectors as billing_selectors
from messaging import selectors, ui_selectors
from messaging.models import MessageStatus

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


def dashboard_panels(*, organization) -> list[dict]:
    """[{key, label, value, hint}] for the dashboard home's cards."""
    today_counts = selectors.message_status_counts(
        organization=organization, since=ui_selectors.manila_day_start(ui_selectors.manila_today())
    )
    week_counts = selectors.message_status_counts(organization=organization, since=timezone.now() - timedelta(days=7))
    settled = sum(week_counts[status] for status in SETTLED_STATUSES)
    delivered = week_counts[MessageStatus.DELIVERED]
    balance = billing_selectors.balance_get(organization=organization)
    used, limit = billing_selectors.monthly_usage(organization=organization)
    sent_today = sum(today_counts.values())
    in_flight = sum(today_counts[s] for s in ui_selectors.IN_FLIGHT_STATUSES)
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
            "hint": f"{delivered:,} of {settled:,} with a final status" if settled else "No final statuses yet",
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


def dashboard_chart(*, organization) -> dict:
    """Messages created per day over the last 14 days, one dataset per status (a Chart.js stacked bar)."""
    days, counts = ui_selectors.message_daily_status_counts(organization=organization, days=14)
    datasets = [
        {
            "status": status.value,
            "label": status.label,
            "backgroundColor": CHART_COLORS[status],
            "data": [counts.get((day, status.value), 0) for day in days],
        }
        for status in MessageStatus
    ]
    return {
        "labels": [day.strftime("%b %d") for day in days],
        "days": [day.isoformat() for day in days],
        "datasets": [d for d in datasets if any(d["data"])],
        "total": sum(counts.values()),
    }


def dashboard_context(*, organization) -> dict:
    """What the dashboard home shows besides the organization itself."""
    return {
        "panels": dashboard_panels(organization=organization),
        "messaging_chart": dashboard_chart(organization=organization),
        "panel_templates": ["messaging/_dashboard_chart.html"],
    }


class DashboardView(OrganizationViewMixin, TemplateView):
    template_name = "messaging/dashboard.html"
    required_permissions = {"GET": Permission.VIEW}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(dashboard_context(organization=self.organization))
        return context
