"""Messages through a provider that reports no handset receipt (Semaphore's last state is "Sent") read as sent with
no receipt from that provider, stop being polled, and stay out of the delivered rate, which the dashboard computes
over the messages that can get a receipt and shows beside the count of those that cannot."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.dashboard import dashboard_context
from messaging.models import Message, MessageStatus
from messaging.models_stats import MessageDailyCount
from messaging.services.daily_counts import daily_counts_rebuild
from messaging.ui_selectors import providers_without_receipts, still_on_its_way


def add_messages(organization, provider, status, count):
    created = timezone.now() - timedelta(minutes=5)
    Message.objects.bulk_create(
        Message(
            organization=organization,
            recipient=f"+63917{1000000 + i:07d}",
            network="globe",
            body="Hi",
            sender_name=provider.sender_name,
            encoding="gsm7",
            segments=1,
            price=Decimal("1.0000"),
            status=status,
            channel="api",
            provider=provider,
            created_at=created,
        )
        for i in range(count)
    )


def test_the_semaphore_route_is_the_one_without_receipts(routes):
    iprog, semaphore = routes
    assert providers_without_receipts() == [semaphore.pk]


def test_dashboard_rate_counts_only_messages_that_can_get_a_receipt(client_owner_a, org_a, org_b, routes):
    iprog, semaphore = routes
    add_messages(org_a, iprog, MessageStatus.DELIVERED, 3)
    add_messages(org_a, iprog, MessageStatus.FAILED, 1)
    add_messages(org_a, semaphore, MessageStatus.SENT, 5)
    add_messages(org_a, semaphore, MessageStatus.FAILED, 2)
    add_messages(org_b, semaphore, MessageStatus.SENT, 40)  # another organization's never count
    daily_counts_rebuild()

    panels = {p["key"]: p for p in client_owner_a.get(reverse("dashboard")).context["panels"]}
    assert panels["delivered_rate"]["value"] == "75.0%"  # 3 of the 4 through a route that reports delivery
    assert "3 of 4 with a final status" in panels["delivered_rate"]["hint"]
    assert "5 sent, no receipt from the provider" in panels["delivered_rate"]["hint"]
    assert "still on their way" not in panels["messages_today"]["hint"]  # the 5 are not waiting for anything


def test_dashboard_takes_the_split_from_the_daily_counts_not_the_messages(org_a, routes):
    iprog, semaphore = routes
    add_messages(org_a, iprog, MessageStatus.DELIVERED, 2)
    add_messages(org_a, semaphore, MessageStatus.SENT, 3)
    add_messages(org_a, semaphore, MessageStatus.EXPIRED, 1)
    daily_counts_rebuild()
    rows = {(row.status, row.receipts): row.messages for row in MessageDailyCount.objects.filter(organization=org_a)}
    assert rows == {("delivered", True): 2, ("sent", False): 3, ("expired", False): 1}

    with CaptureQueriesContext(connection) as queries:
        panels = {p["key"]: p for p in dashboard_context(organization=org_a)["panels"]}
    assert not [q["sql"] for q in queries if '"messaging_message"' in q["sql"]]  # no count over the messages
    assert panels["delivered_rate"]["value"] == "100.0%"  # 2 of 2: the Semaphore expiry is not in the rate
    assert "3 sent, no receipt from the provider" in panels["delivered_rate"]["hint"]


def test_log_and_detail_say_sent_without_receipt_and_stop_polling(client_owner_a, org_a, routes):
    iprog, semaphore = routes
    add_messages(org_a, iprog, MessageStatus.SENT, 1)
    add_messages(org_a, semaphore, MessageStatus.SENT, 1)
    through_iprog = Message.objects.for_organization(org_a).get(provider=iprog)
    through_semaphore = Message.objects.for_organization(org_a).get(provider=semaphore)
    assert still_on_its_way(through_iprog) and not still_on_its_way(through_semaphore)

    response = client_owner_a.get(reverse("messaging:log"))
    html = response.content.decode()
    assert html.count("sent, no receipt from this provider") == 1
    assert response.context["in_flight_ids"] == str(through_iprog.pk)

    detail = client_owner_a.get(reverse("messaging:detail", args=[through_semaphore.pk])).content.decode()
    assert "sent, no receipt from this provider" in detail and 'id="status-poller"' not in detail


def test_live_refresh_redraws_the_whole_row(client_owner_a, client_owner_b, org_a, routes):
    iprog, semaphore = routes
    add_messages(org_a, iprog, MessageStatus.SENDING, 1)
    message = Message.objects.for_organization(org_a).get()
    Message.objects.for_organization(org_a).filter(pk=message.pk).update(
        status=MessageStatus.SENT, provider=semaphore, sender_name="SEMAPHORE"
    )
    html = client_owner_a.get(reverse("messaging:statuses"), {"ids": message.pk}).content.decode()
    assert f'<tr id="message-row-{message.pk}"' in html and 'hx-swap-oob="true"' in html
    row = html[html.index(f'<tr id="message-row-{message.pk}"') : html.index("</tr>")]
    assert "SEMAPHORE" in row and ">Semaphore<" in row and "sent, no receipt from this provider" in row
    assert 'class="small text-body-secondary message-status-time"' in row
    assert 'id="status-poller"></div>' in html  # nothing left to poll

    other = client_owner_b.get(reverse("messaging:statuses"), {"ids": message.pk}).content.decode()
    assert "message-row" not in other
