"""Message log: the text column, totals for the filter and pages both ways, per organization, flat queries."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.daily_counts import daily_counts_rebuild


def make_messages(organization, count, *, body="Message", status=MessageStatus.SENT, price="1.5000", start=None):
    """Messages written around the services, their daily counts then recounted (as after an import in SQL)."""
    start = start or timezone.now() - timedelta(hours=1)
    messages = Message.objects.bulk_create(
        Message(
            organization=organization,
            recipient=f"+63917{2000000 + i:07d}",
            network="globe",
            body=f"{body} {i}",
            sender_name="IPROGSMS",
            encoding="gsm7",
            segments=1,
            price=Decimal(price),
            status=status,
            channel=MessageChannel.API,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    )
    daily_counts_rebuild(organization_id=organization.pk)
    return messages


def row_ids(response):
    return [m.pk for m in response.context["rows"]]


def test_text_column_shortened_with_the_full_text_at_hand(client_owner_a, org_a):
    long_text = "Your order 12345 has shipped and will arrive tomorrow between 9 and 12, thank you"
    make_messages(org_a, 1, body=long_text)
    html = client_owner_a.get(reverse("messaging:log")).content.decode()
    assert "<th>Message</th>" in html
    assert f'title="{long_text} 0"' in html  # full text on hover and in the expandable part
    assert long_text[:39] + "…" in html


def test_totals_follow_the_filter_and_the_organization(client_owner_a, org_a, org_b):
    make_messages(org_a, 3, status=MessageStatus.SENT)
    make_messages(org_a, 2, status=MessageStatus.FAILED, price="0.5000")
    make_messages(org_b, 7, status=MessageStatus.SENT)
    # The page asks for its totals once shown (htmx), with its filter, into a live region.
    page = client_owner_a.get(reverse("messaging:log"), {"status": "sent", "cursor": ""}).content.decode()
    assert f'hx-get="{reverse("messaging:totals")}?status=sent" hx-trigger="load"' in page
    assert 'id="log-totals" aria-live="polite"' in page
    everything = client_owner_a.get(reverse("messaging:totals"))
    assert everything.context["totals"].messages == 5
    assert everything.context["totals"].credits == Decimal("5.5")
    assert "5 messages, 5.50 credits in all." in everything.content.decode()
    sent = client_owner_a.get(reverse("messaging:totals"), {"status": "sent"})
    assert (sent.context["totals"].messages, sent.context["totals"].credits) == (3, Decimal("4.5"))
    assert "3 messages match these filters, 4.50 credits in all." in sent.content.decode()
    assert client_owner_a.get(reverse("messaging:totals"), {"status": "bogus"}).status_code == 400


def test_pages_both_ways(client_owner_a, org_a, org_b):
    make_messages(org_a, 120)
    make_messages(org_b, 120)  # same moments, other organization: never on a page of A
    own = set(Message.objects.filter(organization=org_a).values_list("pk", flat=True))
    first = client_owner_a.get(reverse("messaging:log"))
    assert first.context["previous_cursor"] is None and 'id="newer-link"' not in first.content.decode()
    second = client_owner_a.get(reverse("messaging:log"), {"cursor": first.context["next_cursor"]})
    third = client_owner_a.get(reverse("messaging:log"), {"cursor": second.context["next_cursor"]})
    assert len(row_ids(third)) == 20 and third.context["next_cursor"] is None
    assert set(row_ids(first) + row_ids(second) + row_ids(third)) == own
    html = third.content.decode()
    assert f"before={third.context['previous_cursor']}" in html
    back = client_owner_a.get(reverse("messaging:log"), {"before": third.context["previous_cursor"]})
    assert row_ids(back) == row_ids(second)
    assert back.context["next_cursor"] and back.context["previous_cursor"]
    back_again = client_owner_a.get(reverse("messaging:log"), {"before": back.context["previous_cursor"]})
    assert row_ids(back_again) == row_ids(first)
    assert back_again.context["previous_cursor"] is None  # the newest page
    assert client_owner_a.get(reverse("messaging:log"), {"before": "not-a-cursor"}).status_code == 400


def test_other_organization_sees_none_of_it(client_owner_b, org_a):
    make_messages(org_a, 3, body="Alpha secret")
    response = client_owner_b.get(reverse("messaging:log"))
    assert client_owner_b.get(reverse("messaging:totals")).context["totals"].messages == 0
    assert "Alpha secret" not in response.content.decode()


def log_query_counts(client):
    """Statements of the first page, an older page and the newer page back, filtered."""
    # Warm what is cached across requests (the site notices and the policy versions behind every page's banners):
    # only the page's own statements count.
    client.get(reverse("messaging:log"))
    counts = []
    with CaptureQueriesContext(connection) as first:
        response = client.get(reverse("messaging:log"), {"status": "sent"})
    counts.append(len(first))
    with CaptureQueriesContext(connection) as older:
        response = client.get(reverse("messaging:log"), {"status": "sent", "cursor": response.context["next_cursor"]})
    counts.append(len(older))
    with CaptureQueriesContext(connection) as newer:
        client.get(reverse("messaging:log"), {"status": "sent", "before": response.context["previous_cursor"]})
    counts.append(len(newer))
    return counts


def test_query_count_constant_with_totals_and_pages(client_owner_a, org_a, org_b):
    make_messages(org_a, 60)
    make_messages(org_b, 60)
    small = log_query_counts(client_owner_a)
    make_messages(org_a, 140, start=timezone.now() - timedelta(hours=3))
    make_messages(org_b, 140, start=timezone.now() - timedelta(hours=3))
    assert log_query_counts(client_owner_a) == small
    # 5: session, user, membership (with the switcher's list, one read), providers, the page's rows. Was 8: the
    # membership was read twice and the notices and the policy banner once each per page.
    assert max(small) <= 5
