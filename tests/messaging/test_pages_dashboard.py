"""Dashboard contributions: panels, the 14-day chart data and template, and the site notice banner."""

import json
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import APIUsageDaily
from billing.services import credits_adjust
from messaging.dashboard import dashboard_chart, dashboard_panels
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.daily_counts import daily_counts_rebuild
from messaging.services.notices import notice_publish, notice_withdraw
from portal.timezone import operator_date


def make(organization, status, created_at, n=1):
    Message.objects.bulk_create(
        Message(
            organization=organization,
            recipient="+639171234567",
            network="globe",
            body="x",
            sender_name="IPROGSMS",
            encoding="gsm7",
            segments=1,
            price=Decimal("1"),
            status=status,
            channel=MessageChannel.API,
            created_at=created_at,
        )
        for _ in range(n)
    )
    daily_counts_rebuild()  # rows written around the services: the dashboard's counts are recounted


def test_panels(org_a, org_b):
    now = timezone.now()
    credits_adjust(organization=org_a, actor=None, amount=Decimal("123.50"), reason="test funds")
    make(org_a, MessageStatus.DELIVERED, now - timedelta(minutes=1), n=3)
    make(org_a, MessageStatus.FAILED, now - timedelta(minutes=1))
    make(org_a, MessageStatus.QUEUED, now - timedelta(minutes=1))
    make(org_a, MessageStatus.DELIVERED, now - timedelta(days=20), n=5)  # outside the 7 days
    make(org_b, MessageStatus.FAILED, now, n=7)  # another organization
    panels = {p["key"]: p for p in dashboard_panels(organization=org_a)}
    assert set(panels) == {"messages_today", "delivered_rate", "balance", "monthly_usage"}
    assert panels["messages_today"]["value"] == "5"
    assert panels["delivered_rate"]["value"] == "75.0%"
    assert panels["delivered_rate"]["hint"] == "3 of 4 with a final status"
    assert panels["balance"]["value"] == "123.50"
    assert all({"key", "label", "value", "hint"} <= set(p) for p in panels.values())


def test_chart_counts_per_day_per_status(org_a, org_b):
    now = timezone.now()
    make(org_a, MessageStatus.DELIVERED, now, n=2)
    make(org_a, MessageStatus.FAILED, now - timedelta(days=3))
    make(org_a, MessageStatus.DELIVERED, now - timedelta(days=30))  # too old
    make(org_b, MessageStatus.DELIVERED, now, n=9)
    chart = dashboard_chart(organization=org_a)
    assert len(chart["labels"]) == 14
    datasets = {d["status"]: d["data"] for d in chart["datasets"]}
    assert set(datasets) == {"delivered", "failed"}
    assert datasets["delivered"][-1] == 2 and sum(datasets["delivered"]) == 2
    assert sum(datasets["failed"]) == 1
    assert chart["total"] == 3
    html = render_to_string("messaging/_dashboard_chart.html", {"messaging_chart": chart})
    assert 'id="messaging-chart"' in html
    data = html.split('id="messaging-chart-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data)["total"] == 3


def test_empty_chart_says_so(org_a):
    html = render_to_string("messaging/_dashboard_chart.html", {"messaging_chart": dashboard_chart(organization=org_a)})
    assert 'id="messaging-chart-empty"' in html


def test_dashboard_shows_fallback_notice_once_published(client_owner_a, org_a, offline_chain):
    notice_publish(
        kind="fallback_route",
        title="SMS Fallback Route",
        body="Messages are going out with sender name iprogtech.",
        dedupe_key="fallback-route:test",
    )
    # The notice concerns the organizations with a message through the fallback since it was published.
    _, fallback = offline_chain
    Message.objects.create(
        organization=org_a,
        recipient="+639171234567",
        network="globe",
        body="Hi",
        sender_name="iprogtech",
        encoding="gsm7",
        segments=1,
        price=Decimal("1.0000"),
        status=MessageStatus.SENT,
        channel=MessageChannel.API,
        provider=fallback,
        created_at=timezone.now() + timedelta(seconds=1),
    )
    html = client_owner_a.get(reverse("dashboard")).content.decode()
    assert "SMS Fallback Route" in html and 'data-notice-kind="fallback_route"' in html
    notice_withdraw(dedupe_key="fallback-route:test")
    assert "SMS Fallback Route" not in client_owner_a.get(reverse("dashboard")).content.decode()


def test_pages_render_for_each_member_role(login_as, org_a, owner_a, admin_a, developer_a, viewer_a):
    for user in (owner_a, admin_a, developer_a, viewer_a):
        client = login_as(user, org_a)
        for name in ("messaging:log", "messaging:webhook"):
            assert client.get(reverse(name)).status_code == 200, (user.email, name)
        expected = 403 if user == viewer_a else 200
        for name in ("messaging:send", "messaging:bulk"):
            assert client.get(reverse(name)).status_code == expected, (user.email, name)


def _usage(organization, api_key, *, status_class, calls, route="api/v1/messages"):
    return APIUsageDaily(
        organization=organization,
        api_key=api_key,
        day=operator_date(),
        method="POST",
        route=route,
        status_class=status_class,
        calls=calls,
    )


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(captured.captured_queries)


def test_dashboard_shows_api_calls_per_day_and_errors_per_key_of_its_organization_only(
    client_owner_a, org_a, org_b, api_key_a, api_key_b, django_assert_num_queries
):
    key_a, key_b = api_key_a[0], api_key_b[0]
    client_owner_a.get(reverse("dashboard"))  # warm what is cached across requests (notices, policy versions)
    queries_before_traffic = _dashboard_queries(client_owner_a)
    APIUsageDaily.objects.bulk_create(
        [
            _usage(org_a, key_a, status_class=2, calls=41),
            _usage(org_a, key_a, status_class=4, calls=6),
            _usage(org_b, key_b, status_class=5, calls=9173),
            *(_usage(org_a, key_a, status_class=2, calls=1, route=f"api/v1/r{i}") for i in range(30)),
        ]
    )
    html = client_owner_a.get(reverse("dashboard")).content.decode()
    assert 'id="api-usage-days"' in html and 'id="api-usage-keys"' in html
    assert key_a.name in html and ">77<" in html and ">6<" in html
    assert key_b.name not in html and "9173" not in html
    # The panel reads the daily sums: the page's query count does not grow with the traffic.
    with django_assert_num_queries(queries_before_traffic):
        client_owner_a.get(reverse("dashboard"))
