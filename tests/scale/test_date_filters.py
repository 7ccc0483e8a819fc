"""A date-only `created_to` (and `created_from`) means that whole calendar day in Asia/Manila, on every surface
that filters the log: the API, the log page and the CSV export. A bare date once parsed as midnight, so
`created_to=2026-10-30` left out everything sent that day."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from messaging.models import Message, MessageChannel, MessageStatus
from portal.timezone import operator_tz

MANILA = operator_tz()

# (label, moment in Manila): the first and last instants of 30 October count, the day around them does not.
MOMENTS = [
    ("before", datetime(2026, 10, 29, 23, 59, 59, 999999, tzinfo=MANILA)),
    ("first", datetime(2026, 10, 30, 0, 0, tzinfo=MANILA)),
    ("evening", datetime(2026, 10, 30, 20, 15, tzinfo=MANILA)),
    ("last", datetime(2026, 10, 30, 23, 59, 59, 999999, tzinfo=MANILA)),
    ("after", datetime(2026, 10, 31, 0, 0, tzinfo=MANILA)),
]


def _messages(organization) -> dict[str, int]:
    ids = {}
    for index, (label, moment) in enumerate(MOMENTS):
        message = Message.objects.create(
            organization=organization,
            recipient=f"+6391710000{index:02d}",
            network="globe",
            body=f"day filter {label}",
            sender_name="IPROGSMS",
            encoding="gsm7",
            segments=1,
            price=Decimal("1.0000"),
            status=MessageStatus.SENT,
            channel=MessageChannel.API,
            created_at=moment,
        )
        ids[label] = message.pk
    return ids


@pytest.fixture
def day_messages(org_a, org_b):
    _messages(org_b)  # the other organization's messages of the same day never show
    return _messages(org_a)


def _expected(ids, *labels):
    return sorted(ids[label] for label in labels)


@pytest.mark.parametrize(
    ("params", "labels"),
    [
        ({"created_to": "2026-10-30"}, ("before", "first", "evening", "last")),
        ({"created_from": "2026-10-30"}, ("first", "evening", "last", "after")),
        ({"created_from": "2026-10-30", "created_to": "2026-10-30"}, ("first", "evening", "last")),
        # A datetime keeps its exact meaning.
        ({"created_to": "2026-10-30T20:15:00+08:00"}, ("before", "first", "evening")),
    ],
)
def test_api_date_only_bounds_cover_the_whole_manila_day(api_client_a, day_messages, params, labels):
    response = api_client_a.get("/api/v1/messages", params)
    assert response.status_code == 200, response.content[:300]
    assert sorted(row["id"] for row in response.json()["results"]) == _expected(day_messages, *labels)


def test_log_page_date_only_upper_bound_includes_that_evening(client_owner_a, day_messages):
    response = client_owner_a.get(reverse("messaging:log"), {"created_from": "2026-10-30", "created_to": "2026-10-30"})
    assert response.status_code == 200
    shown = sorted(message.pk for message in response.context["rows"])
    assert shown == _expected(day_messages, "first", "evening", "last")


def test_csv_export_date_only_upper_bound_includes_that_evening(client_owner_a, day_messages):
    response = client_owner_a.get(reverse("messaging:export"), {"created_to": "2026-10-30"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(row["id"]) for row in rows) == _expected(day_messages, "before", "first", "evening", "last")


def test_other_organization_sees_none_of_them(api_client_b, day_messages):
    response = api_client_b.get("/api/v1/messages", {"created_to": "2026-10-30"})
    ids = {row["id"] for row in response.json()["results"]}
    assert not ids & set(day_messages.values())
