"""The message list's fast reads: the API's list answers exactly what the model representation gives, the log's rows
say what the old per-row templates said (Manila times, the route's badge), and both read in a fixed number of
statements whatever the page size or the filter."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from messaging import selectors
from messaging.log_rows import _shortened, log_rows, status_badge
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.representation import message_row_to_dict, message_to_dict

API_LIST_QUERIES = 1  # the page of messages (the key is cached after the first request)
# Session, user, membership (with the switcher's list), route names, the page of messages. The site notices and the
# policy versions are read once per few seconds per process (tests/accounts/test_page_floor.py), so the page is
# loaded once before counting.
LOG_PAGE_QUERIES = 5


def make(organization, count, *, provider=None, status=MessageStatus.SENT, start=None, **extra):
    start = start or timezone.now() - timedelta(hours=2)
    return Message.objects.bulk_create(
        Message(
            organization=organization,
            recipient=f"+63917{3000000 + i:07d}",
            network=extra.get("network", "globe"),
            body=extra.get("body", f"Text {i}"),
            sender_name=provider.sender_name if provider else "IPROGSMS",
            encoding="gsm7",
            segments=extra.get("segments", 1),
            price=extra.get("price", Decimal("1.0050")),
            status=status,
            channel=MessageChannel.API,
            provider=provider,
            created_at=start + timedelta(seconds=i),
            send_at=extra.get("send_at"),
            sent_at=extra.get("sent_at"),
            status_changed_at=extra.get("status_changed_at") or start + timedelta(seconds=i),
            error_code=extra.get("error_code", ""),
            error_message=extra.get("error_message", ""),
        )
        for i in range(count)
    )


def test_api_rows_answer_what_the_model_representation_gives(org_a, routes):
    iprog, semaphore = routes
    now = timezone.now()
    make(org_a, 2, provider=iprog, sent_at=now, status_changed_at=now)
    make(org_a, 1, provider=semaphore, status=MessageStatus.FAILED, error_code="absent", error_message="Off")
    make(org_a, 1, status=MessageStatus.QUEUED, send_at=now + timedelta(days=1), price=Decimal("2.0000"))
    make(org_a, 1, body="Maligayang kaarawan! 🎉", segments=2, price=Decimal("0.3350"))
    rows = selectors.message_row_page(organization=org_a).results
    instances = selectors.message_page(organization=org_a).results
    assert [message_row_to_dict(row) for row in rows] == [message_to_dict(m) for m in instances]
    assert [list(message_row_to_dict(row)) for row in rows] == [list(message_to_dict(m)) for m in instances]


def test_api_list_reads_one_statement_whatever_the_page_or_filter(
    org_a, org_b, routes, api_client_a, django_assert_num_queries
):
    iprog, semaphore = routes
    make(org_a, 3, provider=iprog)
    make(org_b, 3, provider=iprog)
    api_client_a.get("/api/v1/messages")  # the API key is read once, then cached
    with django_assert_num_queries(API_LIST_QUERIES):
        assert len(api_client_a.get("/api/v1/messages").json()["results"]) == 3
    make(org_a, 120, provider=semaphore, status=MessageStatus.DELIVERED, error_code="x", error_message="y")
    for params in ({"page_size": 200}, {"status": "delivered", "provider": "Semaphore"}, {"network": "globe"}):
        with django_assert_num_queries(API_LIST_QUERIES):
            response = api_client_a.get("/api/v1/messages", params)
        assert response.status_code == 200 and response.json()["results"]
    cursor = api_client_a.get("/api/v1/messages").json()["next_cursor"]
    with django_assert_num_queries(API_LIST_QUERIES):
        assert api_client_a.get("/api/v1/messages", {"cursor": cursor}).json()["results"]


def test_log_page_reads_a_fixed_number_of_statements(org_a, routes, client_owner_a, django_assert_num_queries):
    iprog, semaphore = routes
    make(org_a, 3, provider=iprog)
    client_owner_a.get(reverse("messaging:log"))  # fills the per-process notice and policy caches
    with django_assert_num_queries(LOG_PAGE_QUERIES):
        assert client_owner_a.get(reverse("messaging:log")).status_code == 200
    make(org_a, 80, provider=semaphore, status=MessageStatus.FAILED, error_code="absent", error_message="Off")
    make(org_a, 20, status=MessageStatus.QUEUED, send_at=timezone.now() + timedelta(hours=1))
    for params in ({}, {"status": "failed"}, {"status": "queued", "network": "globe"}, {"provider": "Semaphore"}):
        with django_assert_num_queries(LOG_PAGE_QUERIES):
            response = client_owner_a.get(reverse("messaging:log"), params)
        assert response.content.decode().count('class="message-row"') == 50 or params
    with django_assert_num_queries(LOG_PAGE_QUERIES):
        client_owner_a.get(reverse("messaging:log"), {"cursor": response.context["next_cursor"] or ""})


def test_log_rows_print_manila_times_the_detail_address_and_the_routes_badge(org_a, routes, client_owner_a):
    iprog, semaphore = routes
    created = timezone.now().replace(hour=23, minute=30, second=5, microsecond=0) - timedelta(days=1)  # 07:30 Manila
    [scheduled] = make(
        org_a,
        1,
        status=MessageStatus.QUEUED,
        start=created,
        send_at=created + timedelta(hours=2),
        body="A text longer than forty characters, shown shortened <b>",
    )
    [no_receipt] = make(org_a, 1, provider=semaphore, start=created + timedelta(minutes=1), status_changed_at=created)
    [failed] = make(
        org_a, 1, provider=iprog, status=MessageStatus.FAILED, start=created + timedelta(minutes=2), error_code="e1"
    )
    rows = {row.pk: row for row in log_rows(selectors.message_row_page(organization=org_a).results)}
    manila = timezone.localtime(created)
    assert rows[scheduled.pk].created == manila.strftime("%Y-%m-%d %H:%M:%S") and manila.hour == 7
    assert rows[scheduled.pk].scheduled == timezone.localtime(created + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    shortened = Template("{{ text|truncatechars:40 }}").render(Context({"text": scheduled.body}))
    assert rows[scheduled.pk].body_short == shortened.replace("&lt;", "<")  # the filter the row template used
    assert rows[scheduled.pk].detail_url == reverse("messaging:detail", args=[scheduled.pk])
    assert rows[scheduled.pk].on_its_way and not rows[no_receipt.pk].on_its_way
    assert rows[no_receipt.pk].status_time == manila.strftime("%H:%M:%S")
    assert (rows[failed.pk].provider, rows[scheduled.pk].provider, rows[failed.pk].price) == ("IPROGSMS", "—", "1.01")

    html = client_owner_a.get(reverse("messaging:log")).content.decode()
    assert "&lt;b&gt;" in html and "<b>" not in html  # the text is escaped
    assert f'<a href="{reverse("messaging:detail", args=[failed.pk])}">' in html
    assert '<span title="">e1</span>' in html


@pytest.mark.parametrize(
    "text",
    [
        "x" * 40,
        "x" * 41,
        "Your order 12345 has shipped and will arrive tomorrow",
        "Maligayang kaarawan! 🎉 " * 3,
        "e\u0301" * 30 + "abc",
        "ñ" * 41,
    ],
)
def test_log_shortens_text_as_truncatechars_did(text):
    shortened = Template("{% autoescape off %}{{ text|truncatechars:40 }}{% endautoescape %}").render(
        Context({"text": text})
    )
    assert _shortened(text) == ("" if shortened == text else shortened)


@pytest.mark.parametrize(
    ("status", "no_receipt"), [(status, False) for status in [*MessageStatus.values, "unknown"]] + [("sent", True)]
)
def test_log_badges_are_the_detail_pages(status, no_receipt):
    expected = render_to_string("messaging/_status_badge.html", {"status": status, "no_receipt": no_receipt})
    assert status_badge(status, no_receipt=no_receipt) == expected.strip()
