"""Message log, detail (routing, cancel), status refresh and CSV export: filters, isolation, queries."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.selectors import balance_get
from billing.services import credits_adjust
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageChannel, MessageStatus
from messaging.services.sending import message_send


@pytest.fixture
def chain(offline_chain):
    return offline_chain


def make_messages(organization, count, *, start=None, provider=None, status=MessageStatus.SENT, **extra):
    start = start or timezone.now() - timedelta(hours=1)
    rows = [
        Message(
            organization=organization,
            recipient=extra.get("recipient", f"+63917{1000000 + i:07d}"),
            network=extra.get("network", "globe"),
            body=extra.get("body", f"Message {i}"),
            sender_name=provider.sender_name if provider else "IPROGSMS",
            encoding="gsm7",
            segments=1,
            price=Decimal("1.0000"),
            status=status,
            channel=extra.get("channel", MessageChannel.API),
            provider=provider,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    return Message.objects.bulk_create(rows)


@pytest.fixture
def client_viewer_a(login_as, viewer_a, org_a):
    return login_as(viewer_a, org_a)


def test_log_renders_for_viewer_with_columns(client_viewer_a, org_a, chain):
    primary, _ = chain
    make_messages(org_a, 3, provider=primary)
    response = client_viewer_a.get(reverse("messaging:log"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="message-row"') == 3
    assert "IPROGSMS" in html and "+639171000002" in html
    assert 'data-status="sent"' in html
    # Viewer reads but has no send button.
    assert reverse("messaging:send") + '"><i class="bi bi-send"></i> Send' not in html


def test_log_query_count_is_flat(client_owner_a, org_a, chain, django_assert_max_num_queries):
    primary, fallback = chain
    make_messages(org_a, 20, provider=primary)
    make_messages(org_a, 20, provider=fallback, status=MessageStatus.DELIVERED)
    make_messages(org_a, 5, provider=None, status=MessageStatus.QUEUED)
    with django_assert_max_num_queries(9):  # the page, its totals (one aggregate), session, membership...
        response = client_owner_a.get(reverse("messaging:log"))
    assert response.status_code == 200
    assert response.content.decode().count('class="message-row"') == 45


def test_log_keyset_pagination_with_older_link(client_owner_a, org_a, chain):
    make_messages(org_a, 60, provider=chain[0])
    first = client_owner_a.get(reverse("messaging:log"))
    html = first.content.decode()
    assert html.count('class="message-row"') == 50
    older = first.context["next_cursor"]
    assert older and f"cursor={older}" in html
    second = client_owner_a.get(reverse("messaging:log"), {"cursor": older})
    assert second.content.decode().count('class="message-row"') == 10
    assert second.context["next_cursor"] is None
    seen = {m.pk for m in first.context["rows"]} | {m.pk for m in second.context["rows"]}
    assert len(seen) == 60


def test_log_filters(client_owner_a, org_a, chain):
    primary, fallback = chain
    make_messages(org_a, 2, provider=primary, network="smart")
    make_messages(org_a, 3, provider=fallback, status=MessageStatus.FAILED, network="globe")
    make_messages(org_a, 1, provider=fallback, recipient="+639181234567")
    old = make_messages(org_a, 1, provider=primary, start=timezone.now() - timedelta(days=10))

    def rows(**params):
        return client_owner_a.get(reverse("messaging:log"), params).context["rows"]

    assert len(rows(status="failed")) == 3
    assert len(rows(network="smart")) == 2
    assert len(rows(provider="iprogtech fallback")) == 4
    assert [m.recipient for m in rows(to="0918 123 4567")] == ["+639181234567"]
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert old[0].pk not in {m.pk for m in rows(created_from=since)}
    assert len(rows(created_from=since)) == 6


def test_log_bad_filter_is_a_clear_error(client_owner_a, org_a):
    response = client_owner_a.get(reverse("messaging:log"), {"status": "bogus"})
    assert response.status_code == 400
    assert 'id="filter-error"' in response.content.decode()
    response = client_owner_a.get(reverse("messaging:log"), {"to": "12"})
    assert response.status_code == 400
    assert "Recipient filter" in response.content.decode()


def test_log_shows_only_own_organization(client_owner_b, org_a, org_b, chain):
    make_messages(org_a, 3, provider=chain[0])
    make_messages(org_b, 1, provider=chain[0], recipient="+639991234567")
    rows = client_owner_b.get(reverse("messaging:log")).context["rows"]
    assert [m.organization_id for m in rows] == [org_b.id]


def test_detail_shows_routing_decisions(client_owner_a, org_a, chain):
    primary, fallback = chain
    [message] = make_messages(org_a, 1, provider=fallback)
    DispatchAttempt.objects.create(
        message=message,
        provider=fallback,
        attempt_number=1,
        status=AttemptStatus.ACCEPTED,
        sender_name="iprogtech",
        reason="first available route in the chain",
        skipped=[
            {"provider": primary.pk, "name": "IPROGSMS", "reason": "monthly_quota_used", "detail": "20 of 20 used"}
        ],
    )
    response = client_owner_a.get(reverse("messaging:detail", args=[message.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "iprogtech fallback" in html
    # In words, never the internal code and the route's counters.
    assert "IPROGSMS had reached its monthly limit" in html
    assert "monthly_quota_used" not in html and "20 of 20" not in html
    assert "first available route in the chain" in html
    assert 'id="cancel-button"' not in html  # sent: no cancel


def test_other_organization_gets_404_for_detail_and_cancel(client_owner_b, org_a, chain):
    [message] = make_messages(org_a, 1, status=MessageStatus.QUEUED)
    assert client_owner_b.get(reverse("messaging:detail", args=[message.pk])).status_code == 404
    assert client_owner_b.post(reverse("messaging:cancel", args=[message.pk])).status_code == 404
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert client_owner_b.get(reverse("messaging:detail", args=[999999])).status_code == 404


def test_cancel_scheduled_message_refunds(login_as, developer_a, org_a, chain):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("50.00"), reason="test funds")
    [message] = message_send(
        organization=org_a,
        recipients=["09171234567"],
        body="Tomorrow",
        send_at=timezone.now() + timedelta(days=1),
        channel="dashboard",
    )
    before = balance_get(organization=org_a)
    client = login_as(developer_a, org_a)
    html = client.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    assert 'id="cancel-button"' in html and "this scheduled message" in html
    assert 'id="status-poller"' in html  # queued: the badge refreshes itself
    response = client.post(reverse("messaging:cancel", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert balance_get(organization=org_a) == before + message.price
    # Twice: a clear message, not a crash.
    response = client.post(reverse("messaging:cancel", args=[message.pk]), follow=True)
    assert "only queued messages can be cancelled" in response.content.decode()


def test_viewer_cannot_cancel(client_viewer_a, org_a):
    [message] = make_messages(org_a, 1, status=MessageStatus.QUEUED)
    assert client_viewer_a.post(reverse("messaging:cancel", args=[message.pk])).status_code == 403
    assert (
        'id="cancel-button"' not in client_viewer_a.get(reverse("messaging:detail", args=[message.pk])).content.decode()
    )


def test_status_refresh_returns_oob_badges_and_stops_when_final(client_owner_a, org_a, org_b):
    queued = make_messages(org_a, 2, status=MessageStatus.QUEUED)
    [foreign] = make_messages(org_b, 1, status=MessageStatus.QUEUED)
    html = client_owner_a.get(reverse("messaging:log")).content.decode()
    assert 'id="status-poller"' in html and 'hx-trigger="every 5s"' in html
    ids = f"{queued[0].pk},{queued[1].pk},{foreign.pk}"
    Message.objects.unscoped().filter(pk=queued[0].pk).update(status=MessageStatus.DELIVERED)
    html = client_owner_a.get(reverse("messaging:statuses"), {"ids": ids}).content.decode()
    assert f'id="status-{queued[0].pk}" hx-swap-oob="true"' in html
    assert f'id="status-{foreign.pk}"' not in html  # another organization's message is never shown
    assert f"ids={queued[1].pk}" in html and "every 5s" in html
    Message.objects.unscoped().filter(pk=queued[1].pk).update(status=MessageStatus.SENT)
    Message.objects.unscoped().filter(pk=queued[1].pk).update(status=MessageStatus.FAILED)
    html = client_owner_a.get(reverse("messaging:statuses"), {"ids": ids}).content.decode()
    assert "every 5s" not in html  # nothing in flight: polling stops


def read_csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_filtered_rows_of_the_organization_only(client_owner_a, org_a, org_b, chain):
    primary, fallback = chain
    make_messages(org_a, 4, provider=primary, status=MessageStatus.DELIVERED)
    make_messages(org_a, 2, provider=fallback, status=MessageStatus.FAILED)
    make_messages(org_b, 3, provider=primary, status=MessageStatus.DELIVERED)
    response = client_owner_a.get(reverse("messaging:export"), {"status": "delivered"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows) == 4
    assert {r["status"] for r in rows} == {"delivered"}
    own_ids = set(Message.objects.unscoped().filter(organization=org_a).values_list("id", flat=True))
    assert {int(r["id"]) for r in rows} <= own_ids
    assert rows[0]["provider"] == "IPROGSMS"
    all_rows = read_csv(client_owner_a.get(reverse("messaging:export")))
    assert len(all_rows) == 6


def test_export_neutralises_formulas(client_owner_a, org_a):
    make_messages(org_a, 1, body='=HYPERLINK("http://evil")')
    [row] = read_csv(client_owner_a.get(reverse("messaging:export")))
    assert row["body"].startswith("'=")
    assert row["to"].startswith("+63")


def test_export_query_count(client_owner_a, org_a, chain, django_assert_max_num_queries):
    make_messages(org_a, 40, provider=chain[0])
    with django_assert_max_num_queries(10):
        response = client_owner_a.get(reverse("messaging:export"))
        rows = read_csv(response)
    assert len(rows) == 40


def test_export_bad_filter_redirects_with_error(client_owner_a):
    response = client_owner_a.get(reverse("messaging:export"), {"network": "nope"})
    assert response.status_code == 302
