"""GET /api/v1/ledger: cursor pages, django-filter filters, decimal strings, ISO 8601 times with an offset, bounded
queries, and another organization's key sees none of this organization's entries."""

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from freezegun import freeze_time

from billing.models import LedgerEntry
from tests.api_native.conftest import fund

ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def test_pages_walk_every_entry_once_newest_first(org_a, scoped_client, django_assert_max_num_queries):
    for index in range(7):
        fund(org_a, f"{index + 1}.00", reason=f"grant {index}")
    client = scoped_client(org_a, "billing")
    seen, url = [], "/api/v1/ledger?page_size=3"
    while url:
        with django_assert_max_num_queries(8):  # key, touch, org, page, request log ... never per row
            body = client.get(url).json()
        assert len(body["results"]) <= 3
        seen += body["results"]
        url = body["next"]
        if url:
            assert body["next_cursor"] and f"cursor={body['next_cursor']}" in url and "page_size=3" in url
    assert [entry["reason"] for entry in seen] == [f"grant {index}" for index in reversed(range(7))]
    newest = seen[0]
    assert newest["amount"] == "7.00" and newest["balance_after"] == "28.00"
    assert newest["kind"] == "adjustment" and newest["message_id"] is None
    assert ISO_WITH_OFFSET.match(newest["created_at"]), newest["created_at"]


def test_the_query_count_does_not_grow_with_the_page(org_a, scoped_client, django_assert_max_num_queries):
    for _ in range(60):
        fund(org_a, "1.00")
    client = scoped_client(org_a, "billing")
    client.get("/api/v1/ledger")  # the key's last use is recorded once a minute
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/ledger?page_size=200").json()
    assert len(body["results"]) == 60 and body["next"] is None and body["next_cursor"] is None


def test_filters_kind_and_time(org_a, scoped_client):
    with freeze_time(datetime(2026, 10, 31, 15, 30, tzinfo=UTC)):  # 23:30 in Manila, 31 October
        fund(org_a, "5.00", reason="october")
    with freeze_time(datetime(2026, 10, 31, 16, 30, tzinfo=UTC)):  # 00:30 in Manila, 1 November
        fund(org_a, "6.00", reason="november")
    client = scoped_client(org_a, "billing")
    november = client.get("/api/v1/ledger?created_from=2026-11-01").json()["results"]  # Manila midnight
    assert [entry["reason"] for entry in november] == ["november"]
    october = client.get("/api/v1/ledger?created_to=2026-11-01T00:00:00%2B08:00").json()["results"]
    assert [entry["reason"] for entry in october] == ["october"]
    assert client.get("/api/v1/ledger?kind=adjustment,charge").json()["results"]
    assert client.get("/api/v1/ledger?kind=topup").json()["results"] == []


def test_bad_filters_and_cursors_answer_400(org_a, scoped_client):
    client = scoped_client(org_a, "billing")
    response = client.get("/api/v1/ledger?kind=charge,gift")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_filter"
    assert "kind" in response.json()["error"]["details"]
    assert client.get("/api/v1/ledger?created_from=yesterday").json()["error"]["code"] == "invalid_filter"
    assert client.get("/api/v1/ledger?cursor=nonsense").json()["error"]["code"] == "invalid_cursor"
    assert client.get("/api/v1/ledger?page_size=201").json()["error"]["code"] == "invalid_parameter"
    assert client.get("/api/v1/ledger?page_size=0").status_code == 400


def test_another_organizations_key_never_sees_these_entries(org_a, org_b, scoped_client):
    fund(org_a, "9.00")
    fund(org_b, "1.00")
    entry_a = LedgerEntry.objects.filter(organization=org_a).get()
    client_b = scoped_client(org_b, "billing", "read")
    results = client_b.get("/api/v1/ledger").json()["results"]
    assert [entry["amount"] for entry in results] == ["1.00"]
    # A cursor made from A's entry only bounds B's own list.
    cursor_page = client_b.get(f"/api/v1/ledger?created_from={(timezone.now() - timedelta(days=1)).isoformat()[:19]}")
    assert entry_a.id not in [entry["id"] for entry in cursor_page.json()["results"]]
    assert client_b.get(f"/api/v1/billing/ledger/{entry_a.id}").status_code == 404
