"""The dashboard home's panels, gathered from each app's selectors."""

from messaging.dashboard import dashboard_chart, dashboard_panels


def dashboard_context(*, organization) -> dict:
    return {
        "panels": dashboard_panels(organization=organization),
        "messaging_chart": dashboard_chart(organization=organization),
        "panel_templates": ["messaging/_dashboard_chart.html"],
    }
